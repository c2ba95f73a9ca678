package gpuinfer.cli;

import gpuinfer.InputException;
import gpuinfer.attention.AttentionBuffers;
import gpuinfer.attention.AttentionImpls;
import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionShape;
import gpuinfer.attention.ClAttention;
import gpuinfer.attention.DeviceInputs;
import gpuinfer.attention.ring.BlockTransfer;
import gpuinfer.attention.ring.RankStats;
import gpuinfer.attention.ring.RingAttention;
import gpuinfer.attention.ring.RingResult;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClDevice;
import gpuinfer.cl.ClQueue;
import gpuinfer.cl.KernelTiming;
import gpuinfer.profile.DevicePeaks;
import gpuinfer.profile.KernelProfile;
import gpuinfer.profile.ProfileOutput;
import gpuinfer.profile.RingTrace;
import gpuinfer.util.Progress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
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

    @Mixin
    AttentionMaskOptions mask;

    @Option(names = "--impl", defaultValue = "flash", description = "flash or naive (default: ${DEFAULT-VALUE}).")
    String impl;

    @Mixin
    FlashDefinesOption flashDefines;

    @Option(names = "--sweep", paramLabel = "KEY=V1,V2", description = "Profile each value of a shape parameter (repeatable).")
    List<String> sweeps = new ArrayList<>();

    @Mixin
    RepeatOptions.Measured repeats;

    @Mixin
    RingOptions ring;

    @Mixin
    ProfileOutputOptions output;

    @Mixin
    OpenClOptions opencl;

    @Override
    public Integer call() throws IOException {
        repeats.checked();
        if (!AttentionImpls.needsOpenCl(impl)) {
            throw new InputException("--impl must be an OpenCL implementation (" + String.join(", ", AttentionImpls.OPENCL) + ").");
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ring.check(impl);
        if (ring.on()) {
            return profileRing(out);
        }
        List<AttentionShape> shapes = sweep(AttentionShape.parse(shape), sweeps);
        ClDevice device = opencl.selectDevice();
        List<KernelProfile.Row> rows = new ArrayList<>();
        List<KernelTiming> all = new ArrayList<>();
        List<List<KernelTiming>> runs = new ArrayList<>();
        List<Double> walls = new ArrayList<>();
        DevicePeaks peaks;
        try (ClContext context = opencl.openContext(device);
             ClAttention op = AttentionImpls.create(impl, context, opencl.settings(context), flashDefines.defines)) {
            peaks = DevicePeaks.of(context, output.measurePeaks);
            try (Progress progress = new Progress(err, "profiling " + shapes.size() + " shape(s)", shapes.size())) {
                for (AttentionShape s : shapes) {
                    AttentionProblem problem = mask.problem(s);
                    List<KernelTiming> shapeTimings = new ArrayList<>();
                    profile(context, op, problem, shapeTimings, runs, walls);
                    all.addAll(shapeTimings);
                    rows.addAll(KernelProfile.rows(shapes.size() > 1 ? label(s, sweeps) : "", shapeTimings, peaks));
                    progress.step(1);
                }
            }
        }
        out.printf("profile of %s attention on %s %s through %s, %d recorded run(s) per shape after %d warm-up%n%n", impl,
                device.id(), device.name(), opencl.runtime().binding(), repeats.repeat(), repeats.warmup());
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
        try (DeviceInputs inputs = new DeviceInputs(context, problem, 1)) {
            AttentionBuffers buffers = inputs.buffers();
            for (int i = 0; i < repeats.warmup(); i++) {
                op.enqueue(queue, problem, buffers);
                queue.finish();
            }
            for (int i = 0; i < repeats.repeat(); i++) {
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

    /**
     * --ring N: warm-up and recorded ring runs on random inputs; the kernel table over every rank, a row per rank
     * (median compute and transfer time, transfers per run, peak device memory), and the files asked for: the trace
     * with every rank's compute and transfer queues on one timeline (host clock).
     */
    private int profileRing(PrintWriter out) throws IOException {
        if (!sweeps.isEmpty()) {
            throw new InputException("--ring profiles one shape; leave out --sweep.");
        }
        AttentionShape s = AttentionShape.parse(shape);
        AttentionProblem problem = mask.problem(s);
        AttentionCommand.Inputs inputs = AttentionCommand.Inputs.random(shape, 0);
        ClDevice device = opencl.selectDevice();
        List<RingResult> recorded = new ArrayList<>();
        DevicePeaks peaks;
        long single;
        int n = ring.ring;
        try (RingRanks ranks = ring.open(opencl, device);
             RingAttention op = new RingAttention(ranks.ranks(), ring.layout(), ring.memory(),
                     BlockTransfer.forRanks(ranks.ranks()),
                     opencl::settings, flashDefines.defines)) {
            op.checkFits(problem);
            single = op.singleDeviceBytes(problem);
            peaks = DevicePeaks.of(ranks.first(), output.measurePeaks);
            for (int i = 0; i < repeats.warmup() + repeats.repeat(); i++) {
                RingResult result = op.run(problem, inputs.q(), inputs.k(), inputs.v());
                if (i >= repeats.warmup()) {
                    recorded.add(result);
                }
            }
        }
        RingResult last = recorded.get(recorded.size() - 1);
        List<KernelTiming> all = new ArrayList<>();
        recorded.forEach(r -> all.addAll(r.result().kernels()));
        List<KernelProfile.Row> rows = KernelProfile.rows("", all, peaks);
        out.printf("profile of ring attention, %s, %d ranks (%s), %s layout, %s memory, on %s %s through %s; %d recorded "
                        + "run(s) after %d warm-up%n%n", s, n, ring.kind(), last.layout().label(), last.memory().label(),
                device.id(), device.name(), opencl.runtime().binding(), repeats.repeat(), repeats.warmup());
        ProfileOutput.printTable(out, rows, peaks);
        out.println();
        out.printf("%4s  %-36s %14s %7s %11s %13s %10s %12s%n", "rank", "device", "work (pairs)", "blocks", "compute ms",
                "transfer ms", "transfers", "peak memory");
        for (int r = 0; r < n; r++) {
            int rank = r;
            RankStats st = last.ranks().get(r);
            out.printf(Locale.ROOT, "%4d  %-36s %14d %7d %11.2f %13.2f %10d %12s%n", r, abbreviate(st.device(), 36),
                    st.work(), st.blocks(), median(recorded, x -> x.ranks().get(rank).computeMillis()),
                    median(recorded, x -> x.ranks().get(rank).transferMillis()),
                    last.timelines().get(r).transfers().size(), gpuinfer.util.Sizes.bytes(st.deviceBytes()));
        }
        out.printf(Locale.ROOT, "wall %.2f ms per run (median, upload to download); blocks passed by %s; work imbalance "
                        + "(max/min) %.2f; peak device memory per rank at most %s, %.2f of the %s flash needs on one "
                        + "device%n", median(recorded, RingResult::wallMillis), last.transfer(), last.workImbalance(),
                gpuinfer.util.Sizes.bytes(last.maxRankBytes()), (double) last.maxRankBytes() / single,
                gpuinfer.util.Sizes.bytes(single));
        if (output.trace != null) {
            RingTrace.write(output.trace, recorded);
            long transfers = recorded.stream().flatMap(r -> r.timelines().stream()).mapToLong(t -> t.transfers().size()).sum();
            out.println("trace: " + output.trace + " (" + all.size() + " kernel launches and " + transfers + " transfers on "
                    + n + " ranks, a process per rank with a compute and a transfer track, host clock; open it in "
                    + "https://ui.perfetto.dev or chrome://tracing)");
        }
        ProfileOutput.writeFiles(out, device.name(), "ring attention on " + device.name(), all, rows, peaks, null,
                output.csv, output.roofline);
        return ExitCodes.OK;
    }

    private static double median(List<RingResult> runs, java.util.function.ToDoubleFunction<RingResult> f) {
        return gpuinfer.bench.Stats.median(runs.stream().mapToDouble(f).toArray());
    }

    private static String abbreviate(String text, int width) {
        return text.length() <= width ? text : text.substring(0, width - 1) + "…";
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
