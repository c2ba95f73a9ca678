package gpuinfer.cli;

import gpuinfer.InputException;
import gpuinfer.attention.AttentionBuffers;
import gpuinfer.attention.AttentionImpls;
import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionShape;
import gpuinfer.attention.ClAttention;
import gpuinfer.attention.DeviceInputs;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClDevice;
import gpuinfer.cl.ClQueue;
import gpuinfer.cl.KernelTiming;
import gpuinfer.profile.DevicePeaks;
import gpuinfer.profile.KernelProfile;
import gpuinfer.profile.ProfileOutput;
import gpuinfer.util.Progress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code gpu-infer profile attention}: one attention shape, or a sweep of shapes, kernel by kernel. */
@Command(name = "attention", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Profile attention on random inputs: --warmup untimed runs, then --repeat recorded runs per shape.",
                "--sweep KEY=V1,V2,... (repeatable; keys B, H, Hkv, Sq, Sk, S for Sq=Sk, D) profiles every combination",
                "from the --shape base and prints one table.", ""})
final class ProfileAttentionCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--shape", required = true, paramLabel = "B,H,Hkv,Sq,Sk,D", description = "The shape (the sweep's base).")
    String shape;

    @Option(names = "--causal", description = "Causal masking (bottom-right aligned).")
    boolean causal;

    @Option(names = "--impl", defaultValue = "flash", description = "flash or naive (default: ${DEFAULT-VALUE}).")
    String impl;

    @Option(names = "--kernel-define", paramLabel = "NAME=VALUE", description = "Replace a flash tuning value (repeatable).")
    Map<String, String> defines = new LinkedHashMap<>();

    @Option(names = "--sweep", paramLabel = "KEY=V1,V2", description = "Profile each value of a shape parameter (repeatable).")
    List<String> sweeps = new ArrayList<>();

    @Option(names = "--repeat", defaultValue = "5", description = "Recorded runs per shape (default: ${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--warmup", defaultValue = "1", description = "Untimed runs per shape first (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Mixin
    ProfileOutputOptions output;

    @Mixin
    OpenClOptions opencl;

    @Override
    public Integer call() throws IOException {
        if (repeat < 1 || warmup < 0) {
            throw new InputException("--repeat must be at least 1 and --warmup at least 0.");
        }
        if (!AttentionImpls.needsOpenCl(impl)) {
            throw new InputException("--impl must be an OpenCL implementation (" + String.join(", ", AttentionImpls.OPENCL) + ").");
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<AttentionShape> shapes = sweep(AttentionShape.parse(shape), sweeps);
        ClDevice device = opencl.selectDevice();
        List<KernelProfile.Row> rows = new ArrayList<>();
        List<KernelTiming> all = new ArrayList<>();
        List<List<KernelTiming>> runs = new ArrayList<>();
        List<Double> walls = new ArrayList<>();
        DevicePeaks peaks;
        try (ClContext context = opencl.openContext(device);
             ClAttention op = AttentionImpls.create(impl, context, opencl.settings(context), defines)) {
            peaks = DevicePeaks.of(context, output.measurePeaks);
            try (Progress progress = new Progress(err, "profiling " + shapes.size() + " shape(s)", shapes.size())) {
                for (AttentionShape s : shapes) {
                    AttentionProblem problem = AttentionProblem.of(s, causal);
                    List<KernelTiming> shapeTimings = new ArrayList<>();
                    profile(context, op, problem, shapeTimings, runs, walls);
                    all.addAll(shapeTimings);
                    rows.addAll(KernelProfile.rows(shapes.size() > 1 ? label(s, sweeps) : "", shapeTimings, peaks));
                    progress.step(1);
                }
            }
        }
        out.printf("profile of %s attention on %s %s through %s, %d recorded run(s) per shape after %d warm-up%n%n", impl,
                device.id(), device.name(), opencl.runtime().binding(), repeat, warmup);
        ProfileOutput.printTable(out, rows, peaks);
        ProfileOutput.printOverhead(out, KernelProfile.overhead(runs, walls.stream().mapToDouble(Double::doubleValue).toArray()));
        ProfileOutput.writeFiles(out, device.name(), impl + " attention on " + device.name(), all, rows, peaks, output.trace,
                output.csv, output.roofline);
        return ExitCodes.OK;
    }

    private void profile(ClContext context, ClAttention op, AttentionProblem problem, List<KernelTiming> timings,
                         List<List<KernelTiming>> runs, List<Double> walls) {
        op.checkFits(problem);
        AttentionShape s = problem.shape();
        ClQueue queue = context.queue();
        try (DeviceInputs inputs = new DeviceInputs(context, s, 1)) {
            AttentionBuffers buffers = inputs.buffers();
            for (int i = 0; i < warmup; i++) {
                op.enqueue(queue, problem, buffers);
                queue.finish();
            }
            for (int i = 0; i < repeat; i++) {
                queue.startRecording();
                long start = System.nanoTime();
                List<KernelTiming> run;
                try {
                    op.enqueue(queue, problem, buffers);
                    queue.finish();
                } finally {
                    run = queue.stopRecording();
                }
                walls.add((System.nanoTime() - start) / 1e6);
                runs.add(run);
                timings.addAll(run);
            }
        }
    }

    /** Every combination of the swept values, from a base shape. */
    static List<AttentionShape> sweep(AttentionShape base, List<String> sweeps) {
        List<AttentionShape> shapes = new ArrayList<>(List.of(base));
        for (String sweep : sweeps) {
            String[] kv = sweep.split("=", 2);
            if (kv.length != 2) {
                throw new InputException("--sweep '" + sweep + "' must look like S=512,1024 (keys B, H, Hkv, Sq, Sk, S, D).");
            }
            String key = kv[0].trim();
            List<AttentionShape> next = new ArrayList<>();
            for (AttentionShape s : shapes) {
                for (String valueText : kv[1].split(",")) {
                    int x;
                    try {
                        x = Integer.parseInt(valueText.trim());
                    } catch (NumberFormatException e) {
                        throw new InputException("--sweep '" + sweep + "': '" + valueText + "' is not an integer.");
                    }
                    next.add(switch (key.toUpperCase(Locale.ROOT)) {
                        case "B" -> new AttentionShape(x, s.heads(), s.kvHeads(), s.queryLen(), s.keyLen(), s.headDim());
                        case "H" -> new AttentionShape(s.batch(), x, s.kvHeads() == s.heads() ? x : s.kvHeads(), s.queryLen(), s.keyLen(), s.headDim());
                        case "HKV" -> new AttentionShape(s.batch(), s.heads(), x, s.queryLen(), s.keyLen(), s.headDim());
                        case "SQ" -> new AttentionShape(s.batch(), s.heads(), s.kvHeads(), x, s.keyLen(), s.headDim());
                        case "SK" -> new AttentionShape(s.batch(), s.heads(), s.kvHeads(), s.queryLen(), x, s.headDim());
                        case "S" -> new AttentionShape(s.batch(), s.heads(), s.kvHeads(), x, x, s.headDim());
                        case "D" -> new AttentionShape(s.batch(), s.heads(), s.kvHeads(), s.queryLen(), s.keyLen(), x);
                        default -> throw new InputException("--sweep key '" + key + "' is not one of B, H, Hkv, Sq, Sk, S, D.");
                    });
                }
            }
            shapes = next;
        }
        return shapes;
    }

    private static String label(AttentionShape s, List<String> sweeps) {
        StringBuilder label = new StringBuilder();
        for (String sweep : sweeps) {
            String key = sweep.split("=", 2)[0].trim();
            int value = switch (key.toUpperCase(Locale.ROOT)) {
                case "B" -> s.batch();
                case "H" -> s.heads();
                case "HKV" -> s.kvHeads();
                case "SQ", "S" -> s.queryLen();
                case "SK" -> s.keyLen();
                default -> s.headDim();
            };
            label.append(label.length() == 0 ? "" : " ").append(key).append('=').append(value);
        }
        return label.toString();
    }
}
