package gpuinfer.ops;

import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClQueue;
import gpuinfer.cl.ClRuntime;
import gpuinfer.cl.ProgramCache;
import gpuinfer.variants.KernelSettings;
import gpuinfer.variants.Variants;
import gpuinfer.weights.WeightTensor;
import gpuinfer.weights.WeightType;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Every variant of the linear layer in every weight format on the device {@code --device auto} picks, over shapes
 * around the kernels' tiles, against the CPU reference. Each pass forces its variants through the decision points
 * ({@link Variants}): linear_rows and linear_packed (the CPU shapes), linear_matvec and linear_tiled (the GPU shapes),
 * linear_nt from 4 rows, and a fourth pass below. Each case is (R, N, K for float formats, K for block formats), chosen
 * so that every boundary of the variants' default tiles (CPU defaults for the first and third pass on a CPU device,
 * the GPU ones on Oclgrind, which reports a GPU) is one short of and one past somewhere, without the cross product
 * (Oclgrind interprets every work-item):
 * <ul>
 * <li>decode (linear_rows, linear_matvec), R = 1 and 3, and decode steps of 7 and 16 sequences: N = 1, 9 (past linear_matvec's 4 outputs per group twice),
 * 15, 17, 63, 65 (around linear_rows's 16 x 4 outputs per group); float K = 33 (not a multiple of the vector width),
 * 255 and 257 (around linear_matvec's pass of 64 work-items over float4 pieces); block K = 32, 160 (five blocks:
 * linear_rows's four-block loop and its tail), 480 and 544 (around linear_matvec's pass over 8-value quarters);
 * <li>prefill (linear_packed, linear_nt, linear_tiled), R = 16, 17, 63, 65 (one past a work-item's 4 rows, around a
 * 64-row group or tile), N = 1, 9, 15, 17 (around linear_packed's 16-wide panels), 63, 65 (around linear_tiled's and
 * linear_nt's 64-output groups), float K = 15, 17, 33 (around linear_tiled's 16-value steps; not multiples of VEC),
 * block K = 32, 64, 160; linear_packed also K = 480 and 544 (around pack_rows's 16 chunks of 32), 511 and 513;
 * linear_nt also R = 4 and 15.
 * </ul>
 * Float32, F16 and BF16 weights, where the prefill variant is linear_packed, are packed once (pack_rows, or
 * pack_rows_stored keeping the 16-bit values) and multiplied from the panels at every row count
 * ({@link Linear.OnDevice#packsOnce}), as a model runs them: their decode cases run linear_packed at R = 1, 3, 7 and 16
 * (fewer rows than a work-item's 4 and a group's 64); the linear_nt pass, where nothing is packed once, runs their
 * decode cases through linear_rows.
 * Every activation, with bias and residual. A main, not a test: {@code tools/oclgrind_check.sh} runs it on Oclgrind,
 * which checks every memory access and looks for races (the JUnit fork cannot host Oclgrind); LinearVariantsTest
 * covers the same kernels on the test device more densely, with shapes from the tiles actually configured there.
 *
 * <p>A fourth pass runs linear_matvec's subgroup reduction (USE_SUBGROUPS = 1, enabled by the host only on devices
 * with subgroups) with subgroups of one work-item emulated by defines, so that Oclgrind checks that path's indexing
 * and barrier. The family ({@code -Dgpuinfer.kernels}, {@code GPU_INFER_KERNELS}) selects the passes: {@code cpu} the
 * first and third, {@code gpu} the second and fourth, {@code auto} all four. With {@code -Dgpuinfer.linear.prefill=nt|packed} the property
 * forces prefill in every pass, so only that variant's prefill cases run. Prints one line per case (with its time) and the programs built (their tuning values);
 * exits 1 on any mismatch or when a pass does not run the variant it forced.
 */
public final class LinearShapeSweep {
    private LinearShapeSweep() {
    }

    /** A pass: the decode and prefill variants it forces (kernel names) and its cases {R, N, float K, block K}. */
    private record Pass(String decode, String prefill, int[][] cases, String decodeOptions) {
        Pass(String decode, String prefill, int[][] cases) {
            this(decode, prefill, cases, "");
        }

        KernelSettings settings() {
            KernelSettings settings = KernelSettings.defaults();
            for (String format : Variants.LINEAR_FORMATS) {
                if (decode != null) {
                    settings = Variants.linearDecode(format).forcing(settings, decode + "/" + format);
                    if (!decodeOptions.isEmpty()) {
                        settings = settings.withBuildOptions(decode + "/" + format, decodeOptions);
                    }
                }
                if (prefill != null) {
                    settings = Variants.linearPrefill(format).forcing(settings, prefill + "/" + format);
                }
            }
            return settings;
        }
    }

    /**
     * Decode cases {R, N, float K, block K}: decode steps, whose rows are one token of each of R sequences; up to 16
     * run the decode kernels (7: linear_matvec's groups of three rows with a tail).
     */
    private static final int[][] DECODE = {
            {1, 63, 33, 32}, {1, 65, 257, 544}, {1, 1, 255, 480}, {1, 9, 33, 160}, {1, 17, 5, 64},
            {3, 15, 255, 160}, {3, 9, 257, 544}, {3, 65, 33, 32}, {3, 1, 7, 480}, {7, 17, 255, 160},
            {16, 9, 33, 64}};
    /** Prefill cases {R, N, float K, block K}. */
    private static final int[][] PREFILL = {
            {16, 63, 15, 160}, {17, 65, 33, 64}, {63, 1, 17, 32}, {65, 65, 17, 32}, {65, 15, 33, 64}, {16, 9, 15, 32},
            {17, 17, 17, 160}, {63, 9, 33, 64}};
    /** linear_packed's extra cases: K around pack_rows's group of 16 chunks of 32. */
    private static final int[][] PACKED = {{17, 17, 513, 544}, {16, 15, 511, 480}};
    /** linear_nt's own rows (4 to 15). */
    private static final int[][] MID = {{4, 63, 33, 64}, {4, 1, 17, 32}, {15, 65, 15, 160}, {15, 9, 33, 64}};

    private static int[][] concat(int[][]... parts) {
        return java.util.Arrays.stream(parts).flatMap(java.util.Arrays::stream).toArray(int[][]::new);
    }

    public static void main(String[] args) {
        ClRuntime runtime = ClRuntime.get(ClRuntime.DEFAULT_BINDING);
        SplittableRandom random = new SplittableRandom(1);
        Tolerance tolerance = new Tolerance(1e-4, 1e-4);
        String property = System.getProperty(Linear.OnDevice.PREFILL_PROPERTY, "auto");
        Pass cpuShaped = new Pass("linear_rows", "linear_packed", concat(DECODE, PREFILL, PACKED));
        Pass gpuShaped = new Pass("linear_matvec", "linear_tiled", concat(DECODE, PREFILL));
        // with linear_nt for prefill nothing is packed once: float formats decode through linear_rows here
        Pass nt = new Pass("linear_rows", "linear_nt", concat(DECODE, MID, PREFILL));
        // linear_matvec's subgroup reduction, with subgroups of one work-item emulated (no device here has subgroups)
        Pass subgroups = new Pass("linear_matvec", null, DECODE, "-DUSE_SUBGROUPS=1 -Dsub_group_reduce_add(v)=(v)"
                + " -Dget_sub_group_local_id()=0u -Dget_sub_group_id()=((uint)get_local_id(0))"
                + " -Dget_num_sub_groups()=((uint)get_local_size(0))");
        KernelSettings.Family family = KernelSettings.defaults().family();
        List<Pass> passes = !property.equals("auto")
                ? List.of(new Pass(null, "linear_" + property, property.equals("packed") ? concat(PREFILL, PACKED) : PREFILL))
                : switch (family) {
                    case CPU -> List.of(cpuShaped, nt);
                    case GPU -> List.of(gpuShaped, subgroups);
                    case AUTO -> List.of(cpuShaped, gpuShaped, nt, subgroups);
                };
        int cases = 0;
        int failures = 0;
        long start = System.nanoTime();
        try (ClContext context = runtime.createContext(runtime.select("auto"), ProgramCache.defaultCache())) {
            System.out.println("device " + context.device().name() + (property.equals("auto")
                    ? "; family " + family.label() + ": " + passes.size() + " passes"
                    : "; -D" + Linear.OnDevice.PREFILL_PROPERTY + "=" + property + " forces prefill"));
            ClQueue queue = context.queue();
            for (Pass pass : passes) {
                try (Linear.OnDevice op = new Linear.OnDevice(context, pass.settings(), Map.of())) {
                    for (WeightType type : WeightType.targets()) {
                        for (int[] shape : pass.cases()) {
                            int R = shape[0];
                            int N = shape[1];
                            int K = type.isBlockQuantized() ? shape[3] : shape[2];
                            boolean decodeStep = java.util.Arrays.asList(DECODE).contains(shape);
                            op.setPrefillStep(!decodeStep);
                            // float32, F16, BF16 packed once (the CPU shapes): linear_packed at every row count, as a model runs it
                            boolean fromPanels = op.packsOnce(type);
                            String variant = fromPanels ? "linear_packed/" + type.label : op.variant(R, type);
                            String expected = (fromPanels ? "linear_packed"
                                    : decodeStep || R < 4 ? pass.decode() : R < 16 ? "linear_nt" : pass.prefill())
                                    + "/" + type.label;
                            if (!variant.equals(expected)) {
                                failures++;
                                System.out.println("FAIL  " + type + " R=" + R + " runs " + variant + ", not " + expected);
                                continue;
                            }
                            Activation act = Activation.values()[cases % Activation.values().length];
                            float[] x = gaussian(random, R * K, 1);
                            float[] bias = gaussian(random, N, 1);
                            float[] residual = gaussian(random, R * N, 1);
                            WeightTensor w = WeightTensor.quantized("w", type, gaussian(random, N * K, 0.2f), N, K);
                            float[] want = new float[R * N];
                            Linear.reference(want, x, w.toFloats(), bias, residual, R, N, K, act);
                            float[] got = new float[R * N];
                            long caseStart = System.nanoTime();
                            ByteBuffer stored = w.buffer().orElseThrow();
                            try (ClBuffer xb = context.createBuffer(x, "x");
                                 ClBuffer wb = context.createBuffer(stored.remaining(), "w");
                                 ClBuffer bb = context.createBuffer(bias, "bias");
                                 ClBuffer rb = context.createBuffer(residual, "residual");
                                 ClBuffer y = context.createBuffer(4L * R * N, "y")) {
                                queue.write(wb, 0, stored);
                                if (fromPanels) {
                                    try (Linear.OnDevice.Panels panels = op.pack(queue, wb, type, N, K)) {
                                        op.enqueue(queue, y, xb, panels, bb, rb, R, act);
                                        queue.read(y, got);
                                    }
                                } else {
                                    op.enqueue(queue, y, xb, wb, type, bb, rb, R, N, K, act);
                                    queue.read(y, got);
                                }
                            }
                            Comparison c = Validate.compare(variant + " R=" + R + " N=" + N + " K=" + K + " " + act,
                                    got, want, tolerance);
                            cases++;
                            if (c.passed()) {
                                System.out.printf("ok    %s, max abs error %.3g (%.0f ms)%n", c.name(), c.maxAbsError(),
                                        (System.nanoTime() - caseStart) / 1e6);
                            } else {
                                failures++;
                                System.out.println("FAIL  " + c);
                            }
                        }
                    }
                }
            }
            List<String> built = new ArrayList<>();
            context.builds().stream().filter(b -> !b.origin().equals("memory"))
                    .forEach(b -> built.add("built " + b.source() + " " + b.options()));
            built.forEach(System.out::println);
        }
        System.out.printf("%d cases, %d mismatches (%.0f s)%n", cases, failures, (System.nanoTime() - start) / 1e9);
        System.exit(failures == 0 ? 0 : 1);
    }

    private static float[] gaussian(SplittableRandom random, int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian() * scale;
        }
        return v;
    }
}
