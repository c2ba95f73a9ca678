package gpuinfer.tune;

import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionResult;
import gpuinfer.attention.AttentionShape;
import gpuinfer.attention.ClAttention;
import gpuinfer.attention.CpuAttention;
import gpuinfer.attention.FlashAttention;
import gpuinfer.variants.KernelSettings;
import gpuinfer.attention.FlashConfig;
import gpuinfer.bench.AttentionBenchmark;
import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.DeviceInfo;
import gpuinfer.tensor.RandomTensors;
import gpuinfer.tensor.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

/** Tunes {@code flash_attention_tiled} for one head size on a prefill shape. */
public final class FlashTarget implements Tuner.Target {
    private final AttentionShape timed;
    private final BiFunction<ClContext, Map.Entry<Map<String, String>, String>, ClAttention> factory;

    /**
     * @param factory builds the op from (overrides, extra build options); tests plant faulty variants through it
     */
    public FlashTarget(AttentionShape timed, BiFunction<ClContext, Map.Entry<Map<String, String>, String>, ClAttention> factory) {
        this.timed = timed;
        this.factory = factory;
    }

    /** The target for the application: FlashAttention with the candidate's overrides. */
    public static FlashTarget of(AttentionShape timed) {
        return new FlashTarget(timed, (context, params) -> {
            if (!params.getValue().isEmpty()) {
                throw new IllegalArgumentException("extra build options are for tests only");
            }
            // The values tuned here are flash_attention_tiled's: time that variant on every device (a GPU would
            // otherwise run flash_dsplit, which reads none of them).
            KernelSettings tiled = gpuinfer.variants.Variants.FLASH_PREFILL.forcing(
                    KernelSettings.defaults().withFamily(KernelSettings.Family.CPU), "flash_tiled");
            return new FlashAttention(context, tiled, params.getKey());
        });
    }

    @Override
    public String key() {
        return FlashAttention.tuningKey(timed.headDim());
    }

    @Override
    public String timedShape() {
        return timed + " causal";
    }

    @Override
    public Map<String, String> defaults(DeviceInfo device) {
        FlashConfig c = FlashConfig.defaults(device, timed.headDim());
        Map<String, String> m = new LinkedHashMap<>();
        m.put("VEC", "" + c.vec());
        m.put("WG", "" + c.wg());
        m.put("QB", "" + c.qb());
        m.put("NB", "" + c.nb());
        m.put("CB", "" + c.cb());
        m.put("KT", "" + c.kt());
        return m;
    }

    @Override
    public List<Map<String, String>> space(DeviceInfo device) {
        int d = timed.headDim();
        boolean gpu = device.isGpu();
        int registers = !gpu && device.preferredFloatVectorWidth() >= 16 ? 32 : 16;
        List<Map<String, String>> valid = new ArrayList<>();
        Map<String, List<Integer>> values = new LinkedHashMap<>();
        values.put("VEC", gpu ? List.of(1, 2, 4) : List.of(4, 8, 16));
        values.put("WG", gpu ? List.of(32, 64, 128) : List.of(4, 8, 16, 32));
        values.put("QB", gpu ? List.of(1, 2) : List.of(1, 2, 4, 6, 8));
        values.put("NB", List.of(1, 2, 4));
        values.put("CB", List.of(1, 2, 3, 4));
        values.put("KT", gpu ? List.of(16, 32, 64) : List.of(32, 64, 128));
        for (Map<String, String> p : Tuner.grid(values)) {
            int vec = i(p, "VEC");
            int qb = i(p, "QB");
            int nb = i(p, "NB");
            int cb = i(p, "CB");
            int kt = i(p, "KT");
            boolean fits = d % vec == 0 && kt % vec == 0 && (kt / vec) % nb == 0 && (d / vec) % cb == 0
                    && 2L * kt * d * 4 <= device.localMemBytes() / 2 && i(p, "WG") <= device.maxWorkGroupSize()
                    && (gpu || (qb * nb + nb + 1 <= registers && qb * cb + cb + 1 <= registers));
            if (fits) {
                valid.add(p);
            }
        }
        return valid;
    }

    @Override
    public Tuner.Trial open(ClContext context, Map<String, String> params, String extraOptions) {
        ClAttention op = factory.apply(context, Map.entry(params, extraOptions));
        return new Tuner.Trial() {
            @Override
            public Comparison validate() {
                return validateOn(op, prefillProblems(timed.headDim()));
            }

            @Override
            public double millis(int warmup, int repeats) {
                return AttentionBenchmark.measure(context, op, AttentionProblem.of(timed, true), warmup, repeats).medianMillis();
            }

            @Override
            public void close() {
                op.close();
            }
        };
    }

    /** Awkward prefill shapes (Sq above DECODE_MAX_SQ): GQA, a non-causal rectangle, per-sequence key lengths. */
    static List<AttentionProblem> prefillProblems(int d) {
        return List.of(
                AttentionProblem.of(new AttentionShape(1, 3, 1, 70, 70, d), true),
                AttentionProblem.of(new AttentionShape(2, 2, 2, 33, 100, d), false),
                AttentionProblem.of(new AttentionShape(2, 2, 1, 41, 41, d), true).withKvLens(new int[] {41, 9}));
    }

    /** The op's out and lse against the CPU reference on each problem; the first failure, or the last comparison. */
    static Comparison validateOn(ClAttention op, List<AttentionProblem> problems) {
        Comparison last = null;
        for (AttentionProblem problem : problems) {
            AttentionShape s = problem.shape();
            Tensor q = RandomTensors.gaussian(3, 0, s.queryShape());
            Tensor k = RandomTensors.gaussian(3, 1, s.keyValueShape());
            Tensor v = RandomTensors.gaussian(3, 2, s.keyValueShape());
            AttentionResult got = op.run(problem, q, k, v);
            AttentionResult want = new CpuAttention().run(problem, q, k, v);
            last = Validate.compare("out of " + problem.shape(), got.out().data(), want.out().data(), Tolerance.FP32_ATTENTION);
            if (!last.passed()) {
                return last;
            }
            last = Validate.compare("lse of " + problem.shape(), got.lse().data(), want.lse().data(), Tolerance.FP32_ATTENTION);
            if (!last.passed()) {
                return last;
            }
        }
        return last;
    }

    private static int i(Map<String, String> p, String key) {
        return Integer.parseInt(p.get(key));
    }
}
