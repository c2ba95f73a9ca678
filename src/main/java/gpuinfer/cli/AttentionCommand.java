package gpuinfer.cli;

import gpuinfer.InputException;
import gpuinfer.attention.AttentionImpls;
import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionResult;
import gpuinfer.attention.AttentionShape;
import gpuinfer.attention.ClAttention;
import gpuinfer.attention.CpuAttention;
import gpuinfer.attention.FlashAttention;
import gpuinfer.attention.ring.BlockTransfer;
import gpuinfer.attention.ring.RankStats;
import gpuinfer.attention.ring.RingAttention;
import gpuinfer.attention.ring.RingMemory;
import gpuinfer.attention.ring.RingResult;
import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClDevice;
import gpuinfer.cl.KernelTiming;
import gpuinfer.cl.OpenClUnavailableException;
import gpuinfer.tensor.Npy;
import gpuinfer.tensor.RandomTensors;
import gpuinfer.tensor.Tensor;
import gpuinfer.util.Sizes;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code gpu-infer attention}: one attention computation, optionally checked against the CPU reference. */
@Command(name = "attention", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run attention softmax(scale * Q K^T, mask) V on an OpenCL device or the CPU reference.",
                "Q is [B,H,Sq,D]; K and V are [B,Hkv,Sk,D]; the output is [B,H,Sq,D] (float32, row-major).",
                "Query head h reads kv head h / (H/Hkv). Causal masking is bottom-right aligned: query i sees keys",
                "j <= i + (Sk - Sq). --kv-lens masks key padding per batch entry. Rows that see no key output zeros.",
                "", "Examples:",
                "  gpu-infer attention --shape 2,8,2,77,300,64 --causal --check",
                "  gpu-infer attention --shape 1,12,12,65536,65536,64 --causal",
                "  gpu-infer attention --shape 3,8,2,1,5000,128 --causal --kv-lens 5000,17,1 --check",
                "  gpu-infer attention --shape 1,8,8,4096,4096,64 --causal --ring 2 --check",
                "  gpu-infer attention --q q.npy --k k.npy --v v.npy --causal --out o.npy --lse-out lse.npy --json", ""})
final class AttentionCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "1", heading = "%nInputs (one of):%n")
    InputChoice input;

    static final class InputChoice {
        @ArgGroup(exclusive = false, heading = "")
        RandomInputs random;
        @ArgGroup(exclusive = false, heading = "")
        FileInputs files;
    }

    static final class RandomInputs {
        @Option(names = "--shape", required = true, paramLabel = "B,H,Hkv,Sq,Sk,D",
                description = "Random N(0,1) inputs of this shape.")
        String shape;
        @Option(names = "--seed", defaultValue = "0", description = "Seed of the random inputs (default: ${DEFAULT-VALUE}).")
        long seed;
    }

    static final class FileInputs {
        @Option(names = "--q", required = true, paramLabel = "Q.npy", description = "Queries [B,H,Sq,D], float32 .npy.")
        Path q;
        @Option(names = "--k", required = true, paramLabel = "K.npy", description = "Keys [B,Hkv,Sk,D], float32 .npy.")
        Path k;
        @Option(names = "--v", required = true, paramLabel = "V.npy", description = "Values [B,Hkv,Sk,D], float32 .npy.")
        Path v;
    }

    @Mixin
    AttentionMaskOptions mask;

    @Option(names = "--impl", defaultValue = "auto", paramLabel = "NAME",
            description = "auto, cpu, naive or flash (default: ${DEFAULT-VALUE}: flash where OpenCL runs, else the "
                    + "CPU reference, with a warning).")
    String impl;

    @Mixin
    FlashDefinesOption flashDefines;

    @Option(names = "--out", paramLabel = "O.npy", description = "Write the output [B,H,Sq,D] as float32 .npy.")
    Path out;

    @Option(names = "--lse-out", paramLabel = "LSE.npy",
            description = "Write each row's log-sum-exp [B,H,Sq] as float32 .npy (natural log; -inf where a row sees no key).")
    Path lseOut;

    @Option(names = "--check", description = "Also run the CPU reference and compare: exit status 1 on a mismatch.")
    boolean check;

    @Mixin
    ToleranceOptions tolerances;

    @Mixin
    RepeatOptions.Single repeats;

    @Mixin
    RingOptions ring;

    @Mixin
    JsonOutputOptions json;

    @Mixin
    CheckFiniteOption finite;

    @Mixin
    OpenClOptions opencl;

    /** Attention inputs: random of a shape, or three .npy files checked against each other. */
    record Inputs(AttentionShape shape, Tensor q, Tensor k, Tensor v, String origin) {
        static Inputs random(String shapeText, long seed) {
            AttentionShape shape = AttentionShape.parse(shapeText);
            return new Inputs(shape, RandomTensors.gaussian(seed, 0, shape.queryShape()),
                    RandomTensors.gaussian(seed, 1, shape.keyValueShape()),
                    RandomTensors.gaussian(seed, 2, shape.keyValueShape()), "random N(0,1), seed " + seed);
        }

        static Inputs files(Path qFile, Path kFile, Path vFile) {
            Tensor q = Npy.read(qFile);
            Tensor k = Npy.read(kFile);
            Tensor v = Npy.read(vFile);
            requireRank(qFile, "q", q, "[B,H,Sq,D]");
            requireRank(kFile, "k", k, "[B,Hkv,Sk,D]");
            requireRank(vFile, "v", v, "[B,Hkv,Sk,D]");
            if (!Arrays.equals(k.shape(), v.shape())) {
                throw new InputException(kFile + " and " + vFile + ": k has shape " + k.shapeString() + " but v has "
                        + v.shapeString() + "; they must be equal ([B,Hkv,Sk,D]).");
            }
            if (q.dim(0) != k.dim(0) || q.dim(3) != k.dim(3)) {
                throw new InputException(qFile + " and " + kFile + ": q " + q.shapeString() + " and k " + k.shapeString()
                        + " must agree on B (first dimension) and D (last dimension).");
            }
            AttentionShape shape = new AttentionShape(q.dim(0), q.dim(1), k.dim(1), q.dim(2), k.dim(2), q.dim(3));
            return new Inputs(shape, q, k, v, "files " + qFile + ", " + kFile + ", " + vFile);
        }

        private static void requireRank(Path file, String role, Tensor t, String expected) {
            if (t.rank() != 4) {
                throw new InputException(file + ": " + role + " has shape " + t.shapeString() + " (" + t.rank()
                        + " dimensions) but must be 4-dimensional " + expected + ".");
            }
        }
    }

    @Override
    public Integer call() throws IOException {
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter stderr = spec.commandLine().getErr();
        AttentionImpls.checkName(impl);
        repeats.checked();
        int warmup = repeats.warmup();
        int repeat = repeats.repeat();
        ring.check(impl);
        Tolerance tolerance = tolerance();
        Inputs inputs = loadInputs();
        AttentionProblem problem = mask.problem(inputs.shape());

        Map<String, Object> report = new LinkedHashMap<>();
        report.put("shape", shapeJson(inputs.shape()));
        report.put("causal", mask.causal);
        report.put("scale", problem.scale());
        if (mask.kvLens != null) {
            report.put("kvLens", mask.kvLens);
        }
        report.put("inputs", inputs.origin());

        String chosen = impl;
        ClDevice device = null;
        if (!chosen.equals("cpu")) {
            try {
                device = opencl.selectDevice();
                if (chosen.equals("auto")) {
                    chosen = AttentionImpls.DEFAULT_OPENCL;
                }
            } catch (OpenClUnavailableException e) {
                if (!chosen.equals("auto")) {
                    throw new OpenClUnavailableException("--impl " + chosen + " needs OpenCL, which is not available: "
                            + e.getMessage().lines().findFirst().orElse(""));
                }
                stderr.println("WARNING: " + e.getMessage().replace("\n", "\nWARNING: "));
                stderr.println("WARNING: running on the Java CPU reference (--impl cpu) instead of an OpenCL device.");
                stderr.flush();
                chosen = "cpu";
                report.put("warning", "no OpenCL: ran on the Java CPU reference");
            }
        }
        report.put("impl", chosen);

        List<AttentionResult> runs = new ArrayList<>();
        if (chosen.equals("cpu")) {
            CpuAttention cpu = new CpuAttention();
            for (int r = 0; r < warmup + repeat; r++) {
                AttentionResult result = cpu.run(problem, inputs.q(), inputs.k(), inputs.v());
                if (r >= warmup) {
                    runs.add(result);
                }
            }
        } else {
            report.put("binding", opencl.runtime().binding());
            report.put("device", deviceJson(device));
            if (ring.on()) {
                runRing(device, problem, inputs, report, runs);
            } else
            try (ClContext context = opencl.openContext(device);
                 ClAttention op = AttentionImpls.create(chosen, context, opencl.settings(context), flashDefines.defines)) {
                op.checkFits(problem);
                if (op instanceof FlashAttention flash) {
                    report.put("variant", flash.variant(problem));
                }
                for (int r = 0; r < warmup + repeat; r++) {
                    AttentionResult result = op.run(problem, inputs.q(), inputs.k(), inputs.v());
                    if (r >= warmup) {
                        runs.add(result);
                    }
                }
                report.put("programs", context.builds().stream().filter(b -> !b.origin().equals("memory"))
                        .map(b -> Map.of("source", b.source(), "options", b.options(), "origin", b.origin(),
                                "ms", round(b.millis()))).toList());
            }
        }
        AttentionResult last = runs.get(runs.size() - 1);
        if (finite.checkFinite) {
            gpuinfer.check.Finite.require("out", last.out().shape(), last.out().data(), "impl " + chosen);
            float[] lse = last.lse().data().clone();
            AttentionShape s = problem.shape();
            for (int row = 0; row < lse.length; row++) {
                int i = row % s.queryLen();
                int b = row / (s.queryLen() * s.heads());
                if (problem.visibleKeys(b, i) == 0) {
                    lse[row] = 0; // -inf is the right answer for a row that sees no key
                }
            }
            gpuinfer.check.Finite.require("lse", last.lse().shape(), lse, "impl " + chosen);
            report.put("finite", true);
        }
        report.put("timing", timingJson(runs));
        report.put("deviceBytes", last.deviceBytes());
        report.put("rowsWithoutKeys", problem.rowsWithoutKeys());

        Comparison comparison = null;
        Comparison lseComparison = null;
        if (check && chosen.equals("cpu")) {
            report.put("check", "skipped: --impl cpu is the reference itself");
        } else if (check) {
            long start = System.nanoTime();
            AttentionResult reference = new CpuAttention().run(problem, inputs.q(), inputs.k(), inputs.v());
            double referenceMs = (System.nanoTime() - start) / 1e6;
            comparison = Validate.compare("out", last.out().data(), reference.out().data(), tolerance);
            lseComparison = Validate.compare("lse", last.lse().data(), reference.lse().data(), tolerance);
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("reference", "cpu");
            c.put("referenceMs", round(referenceMs));
            c.put("atol", tolerance.atol());
            c.put("rtol", tolerance.rtol());
            c.put("maxAbsError", comparison.maxAbsError());
            c.put("maxRelError", comparison.maxRelError());
            c.put("mismatches", comparison.mismatches());
            c.put("passed", comparison.passed() && lseComparison.passed());
            c.put("firstMismatches", comparison.firstMismatches().stream().map(Object::toString).toList());
            c.put("lseMaxAbsError", lseComparison.maxAbsError());
            c.put("lsePassed", lseComparison.passed());
            c.put("lseFirstMismatches", lseComparison.firstMismatches().stream().map(Object::toString).toList());
            report.put("check", c);
        }
        if (out != null) {
            Npy.write(out, last.out());
            report.put("out", out.toString());
        }
        if (lseOut != null) {
            Npy.write(lseOut, last.lse());
            report.put("lseOut", lseOut.toString());
        }

        if (!json.replacesText()) {
            printText(stdout, problem, inputs, report, runs, comparison, lseComparison);
        }
        json.emit(stdout, report);
        boolean failed = comparison != null && !(comparison.passed() && lseComparison.passed());
        return failed ? ExitCodes.MISMATCH : ExitCodes.OK;
    }

    /** --ring N: the ring on N ranks (queue pairs on one context, a context each, or a sub-device each: --ring-ranks). */
    private void runRing(ClDevice device, AttentionProblem problem, Inputs inputs, Map<String, Object> report,
                         List<AttentionResult> runs) {
        try (RingRanks ranks = ring.open(opencl, device);
             RingAttention op = new RingAttention(ranks.ranks(), ring.layout(), ring.memory(),
                     BlockTransfer.forRanks(ranks.ranks()),
                     opencl::settings, flashDefines.defines)) {
            op.checkFits(problem);
            RingResult last = null;
            for (int r = 0; r < repeats.warmup() + repeats.repeat(); r++) {
                RingResult result = op.run(problem, inputs.q(), inputs.k(), inputs.v());
                if (r >= repeats.warmup()) {
                    runs.add(result.result());
                    last = result;
                }
            }
            Map<String, Object> m = ringJson(last, ranks.contexts());
            m.put("singleDeviceBytes", op.singleDeviceBytes(problem));
            report.put("ring", m);
            report.put("programs", ranks.first().builds().stream().filter(b -> !b.origin().equals("memory"))
                    .map(b -> Map.of("source", b.source(), "options", b.options(), "origin", b.origin(),
                            "ms", round(b.millis()))).toList());
        }
    }

    /** The "ring" object of --json: the run's settings and totals, and per rank its work, times and memory. */
    static Map<String, Object> ringJson(RingResult last, int contexts) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ranks", last.ranks().size());
        m.put("layout", last.layout().label());
        m.put("memory", last.memory().label());
        m.put("contexts", contexts);
        m.put("transfer", last.transfer());
        m.put("overlap", last.memory() == RingMemory.OVERLAP);
        m.put("workImbalance", round(last.workImbalance()));
        m.put("computeMs", round(last.computeMillis()));
        m.put("transferMs", round(last.transferMillis()));
        m.put("wallMs", round(last.wallMillis()));
        m.put("maxRankBytes", last.maxRankBytes());
        List<Object> perRankJson = new ArrayList<>();
        for (RankStats st : last.ranks()) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("rank", st.rank());
            r.put("work", st.work());
            r.put("blocks", st.blocks());
            r.put("skipped", st.skipped());
            r.put("computeMs", round(st.computeMillis()));
            r.put("transferMs", round(st.transferMillis()));
            r.put("deviceBytes", st.deviceBytes());
            perRankJson.add(r);
        }
        m.put("perRank", perRankJson);
        return m;
    }

    private Tolerance tolerance() {
        return tolerances.over(Tolerance.FP32_ATTENTION);
    }

    private Inputs loadInputs() {
        return input.random != null ? Inputs.random(input.random.shape, input.random.seed)
                : Inputs.files(input.files.q, input.files.k, input.files.v);
    }

    private void printText(PrintWriter o, AttentionProblem problem, Inputs inputs, Map<String, Object> report,
                           List<AttentionResult> runs, Comparison comparison, Comparison lseComparison) {
        AttentionResult last = runs.get(runs.size() - 1);
        o.printf("attention  %s, %s, scale %s%s%n", problem.shape(), problem.causal() ? "causal" : "no mask",
                trim(problem.scale()), mask.kvLens == null ? "" : ", kv-lens " + Arrays.toString(mask.kvLens));
        o.printf("inputs     %s%n", inputs.origin());
        Object impl = report.get("impl");
        if (report.containsKey("device")) {
            @SuppressWarnings("unchecked")
            Map<String, Object> d = (Map<String, Object>) report.get("device");
            o.printf("device     %s %s (%s) through %s%n", d.get("id"), d.get("name"), d.get("platform"), report.get("binding"));
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> programs = (List<Map<String, Object>>) report.get("programs");
            StringBuilder built = new StringBuilder();
            for (Map<String, Object> p : programs) {
                built.append(", ").append(p.get("source")).append(' ').append(p.get("options")).append(" (")
                        .append(p.get("origin")).append(", ").append(Sizes.millis(((Number) p.get("ms")).doubleValue())).append(')');
            }
            o.printf("impl       %s%s%s%n", impl, report.containsKey("variant") ? " (" + report.get("variant") + ")" : "", built);
        } else {
            o.printf("impl       %s (Java CPU reference, double accumulation)%n", impl);
        }
        String runsNote = runs.size() > 1 ? " (median of " + runs.size() + " runs)" : "";
        if (last.kernels().isEmpty()) {
            o.printf("time       %s%s%n", Sizes.millis(median(runs, AttentionResult::computeMillis)), runsNote);
        } else {
            o.printf("time       upload %s, compute %s, download %s%s%n",
                    Sizes.millis(median(runs, AttentionResult::uploadMillis)),
                    Sizes.millis(median(runs, AttentionResult::computeMillis)),
                    Sizes.millis(median(runs, AttentionResult::downloadMillis)), runsNote);
            List<String> kernels = new ArrayList<>();
            if (report.containsKey("ring")) {
                kernels.add(last.kernels().size() + " launches on all ranks, " + Sizes.millis(last.kernelMillis()) + " in all");
            }
            for (int i = 0; !report.containsKey("ring") && i < last.kernels().size(); i++) {
                final int index = i;
                kernels.add(last.kernels().get(i).kernel() + " "
                        + Sizes.millis(median(runs, r -> r.kernels().get(index).millis())));
            }
            o.printf("kernels    %s%n", String.join(", ", kernels));
            if (report.get("ring") instanceof Map<?, ?> ringReport) {
                long most = ((Number) ringReport.get("maxRankBytes")).longValue();
                long single = ((Number) ringReport.get("singleDeviceBytes")).longValue();
                o.printf("memory     %s on all ranks, at most %s per rank (%s memory): %s of the %s that flash needs "
                                + "on one device%n", Sizes.bytes(last.deviceBytes()), Sizes.bytes(most),
                        ringReport.get("memory"), String.format(java.util.Locale.ROOT, "%.2f", (double) most / single),
                        Sizes.bytes(single));
            } else {
                o.printf("memory     %s on the device%n", Sizes.bytes(last.deviceBytes()));
            }
        }
        if (report.get("ring") instanceof Map<?, ?> ringReport) {
            o.printf("ring       %s ranks, %s layout, blocks passed by %s; work imbalance (max/min) %s; compute %s, "
                            + "transfer %s (%s)%n", ringReport.get("ranks"), ringReport.get("layout"),
                    ringReport.get("transfer"), ringReport.get("workImbalance"),
                    Sizes.millis(((Number) ringReport.get("computeMs")).doubleValue()),
                    Sizes.millis(((Number) ringReport.get("transferMs")).doubleValue()),
                    Boolean.TRUE.equals(ringReport.get("overlap")) ? "overlaps compute" : "between steps, after compute");
            o.printf("           %4s  %14s  %6s  %7s  %10s  %10s  %10s%n", "rank", "work (pairs)", "blocks", "skipped",
                    "compute", "transfer", "memory");
            for (Object row : (List<?>) ringReport.get("perRank")) {
                Map<?, ?> r = (Map<?, ?>) row;
                o.printf("           %4s  %14s  %6s  %7s  %10s  %10s  %10s%n", r.get("rank"), r.get("work"), r.get("blocks"),
                        r.get("skipped"), Sizes.millis(((Number) r.get("computeMs")).doubleValue()),
                        Sizes.millis(((Number) r.get("transferMs")).doubleValue()),
                        Sizes.bytes(((Number) r.get("deviceBytes")).longValue()));
            }
        }
        if (problem.rowsWithoutKeys() > 0) {
            o.printf("masked     %d query rows see no key (their output is zero)%n", problem.rowsWithoutKeys());
        }
        if (comparison != null) {
            @SuppressWarnings("unchecked")
            Map<String, Object> c = (Map<String, Object>) report.get("check");
            o.printf("check      against the CPU reference (%s): %s%n",
                    Sizes.millis(((Number) c.get("referenceMs")).doubleValue()), comparison.report().replace("\n", "\n           "));
            o.printf("           %s%n", lseComparison.report().replace("\n", "\n           "));
        } else if (report.get("check") instanceof String skipped) {
            o.printf("check      %s%n", skipped);
        }
        if (out != null) {
            o.printf("output     %s %s%n", out, Tensor.describe(problem.shape().outputShape()));
        }
        if (lseOut != null) {
            AttentionShape s = problem.shape();
            o.printf("lse        %s %s%n", lseOut, Tensor.describe(new int[] {s.batch(), s.heads(), s.queryLen()}));
        }
    }

    private static Map<String, Object> shapeJson(AttentionShape s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("B", s.batch());
        m.put("H", s.heads());
        m.put("Hkv", s.kvHeads());
        m.put("Sq", s.queryLen());
        m.put("Sk", s.keyLen());
        m.put("D", s.headDim());
        return m;
    }

    private static Map<String, Object> deviceJson(ClDevice device) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", device.id());
        m.put("name", device.name());
        m.put("platform", device.platform().name());
        m.put("driverVersion", device.info().driverVersion());
        return m;
    }

    private static Map<String, Object> timingJson(List<AttentionResult> runs) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("runs", runs.size());
        m.put("uploadMs", round(median(runs, AttentionResult::uploadMillis)));
        m.put("computeMs", round(median(runs, AttentionResult::computeMillis)));
        m.put("downloadMs", round(median(runs, AttentionResult::downloadMillis)));
        AttentionResult last = runs.get(runs.size() - 1);
        List<Object> kernels = new ArrayList<>();
        for (int i = 0; i < last.kernels().size(); i++) {
            KernelTiming k = last.kernels().get(i);
            final int index = i;
            Map<String, Object> km = new LinkedHashMap<>();
            km.put("kernel", k.kernel());
            km.put("options", k.options());
            km.put("global", k.global());
            km.put("local", k.local());
            km.put("ms", round(median(runs, r -> r.kernels().get(index).millis())));
            kernels.add(km);
        }
        m.put("kernels", kernels);
        return m;
    }

    private static double median(List<AttentionResult> runs, java.util.function.ToDoubleFunction<AttentionResult> f) {
        double[] values = runs.stream().mapToDouble(f).sorted().toArray();
        int n = values.length;
        return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
    }

    private static double round(double ms) {
        return Math.round(ms * 1000) / 1000.0;
    }

    private static String trim(float value) {
        return String.format(Locale.ROOT, "%.6g", value).replaceAll("\\.?0+$", "");
    }
}
