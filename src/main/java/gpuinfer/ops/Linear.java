package gpuinfer.ops;

import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClKernel;
import gpuinfer.cl.Cost;
import gpuinfer.cl.ClQueue;
import gpuinfer.cl.DeviceInfo;
import gpuinfer.cl.KernelSource;
import gpuinfer.variants.KernelSettings;
import gpuinfer.weights.WeightType;

import java.util.HashMap;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * A linear layer, {@code y = act(x·Wᵀ + bias) + residual} with x [R, K], W [N, K] (one row per output), bias [N],
 * residual [R, N] and y [R, N]. The residual may be y itself (an in-place residual add).
 */
public final class Linear {
    private Linear() {
    }

    /**
     * The CPU reference: one double-precision dot product per output. {@code bias} and {@code residual} may be null;
     * {@code residual} may be {@code y}.
     */
    public static void reference(float[] y, float[] x, float[] w, float[] bias, float[] residual, int R, int N, int K,
                                 Activation act) {
        reference(y, x, WeightRows.of(w, K), bias, residual, R, N, K, act);
    }

    /**
     * The CPU reference for weights in any stored format: each weight row is dequantised (exactly: every stored
     * value is a float32 value), then multiplied in double precision with every row of x.
     */
    public static void reference(float[] y, float[] x, WeightRows w, float[] bias, float[] residual, int R, int N,
                                 int K, Activation act) {
        IntStream.range(0, (N + REFERENCE_BLOCK - 1) / REFERENCE_BLOCK).parallel().forEach(block -> {
            float[] row = new float[K];
            for (int n = block * REFERENCE_BLOCK; n < Math.min(N, (block + 1) * REFERENCE_BLOCK); n++) {
                w.row(n, row);
                for (int r = 0; r < R; r++) {
                    double sum = 0;
                    int xo = r * K;
                    for (int k = 0; k < K; k++) {
                        sum += (double) x[xo + k] * row[k];
                    }
                    if (bias != null) {
                        sum += bias[n];
                    }
                    double v = act.apply(sum);
                    if (residual != null) {
                        v += residual[r * N + n];
                    }
                    y[r * N + n] = (float) v;
                }
            }
        });
    }

    /** Outputs per parallel task of the reference. */
    private static final int REFERENCE_BLOCK = 16;

    /**
     * The tuning values of {@code kernels/linear.cl}.
     *
     * @param vec floats per vector along k
     * @param mb  rows of x per work-item
     * @param nb  outputs per work-item
     * @param wg  work-items per group along the outputs
     * @param wgr work-items per group along the rows
     */
    public record Config(int vec, int mb, int nb, int wg, int wgr) {
        /** Names a tuning override may set. */
        public static final java.util.List<String> NAMES = java.util.List.of("VEC", "MB", "NB", "WG", "WGR");

        public Config {
            if (vec != 1 && vec != 2 && vec != 4 && vec != 8 && vec != 16) {
                throw new gpuinfer.InputException("linear VEC must be 1, 2, 4, 8 or 16, not " + vec);
            }
            if (mb < 1 || mb > 8 || nb < 1 || nb > 8 || wg < 1 || wgr < 1) {
                throw new gpuinfer.InputException("linear MB and NB must be 1..8 and WG, WGR positive: MB=" + mb + " NB=" + nb
                        + " WG=" + wg + " WGR=" + wgr);
            }
        }

        public String options() {
            return "-DVEC=" + vec + " -DMB=" + mb + " -DNB=" + nb + " -DWG=" + wg + " -DWGR=" + wgr;
        }

        /** These values with some replaced, e.g. {"NB": "2"}. */
        public Config with(java.util.Map<String, String> overrides) {
            java.util.Map<String, Integer> v = new java.util.LinkedHashMap<>(java.util.Map.of("VEC", vec, "MB", mb, "NB", nb,
                    "WG", wg, "WGR", wgr));
            for (java.util.Map.Entry<String, String> e : overrides.entrySet()) {
                String name = e.getKey().toUpperCase(java.util.Locale.ROOT);
                if (!v.containsKey(name)) {
                    throw new gpuinfer.InputException("Unknown linear kernel define '" + e.getKey() + "': use one of " + NAMES);
                }
                try {
                    v.put(name, Integer.parseInt(e.getValue().trim()));
                } catch (NumberFormatException ex) {
                    throw new gpuinfer.InputException("linear " + e.getKey() + "=" + e.getValue() + ": not an integer");
                }
            }
            return new Config(v.get("VEC"), v.get("MB"), v.get("NB"), v.get("WG"), v.get("WGR"));
        }

        /** The tuning key of a launch with this many rows of float32 weights. */
        public static String tuningKey(int rows) {
            return isDecode(rows) ? "linear/decode" : "linear/prefill";
        }

        /** Few rows of x (decode): the linear_rows kernel, which streams each weight once; else linear_nt. */
        public static boolean isDecode(int rows) {
            return rows < 4;
        }

        /** The tuning key of a launch with this many rows of weights in {@code type}: "linear/decode/q8_0". */
        public static String tuningKey(int rows, WeightType type) {
            return type == WeightType.F32 ? tuningKey(rows) : tuningKey(rows) + "/" + type.label;
        }

        /**
         * Defaults: on CPUs the preferred vector width (8 with AVX2, 16 with AVX-512) and register blocks that fit
         * the vector register file; a single row (decode) gets MB = 1 so that no work is repeated.
         */
        public static Config defaults(DeviceInfo device, int rows) {
            if (device.isGpu()) {
                return new Config(4, rows >= 2 ? 2 : 1, 2, (int) Math.min(64, device.maxWorkGroupSize()), 1);
            }
            int vec = Math.max(4, Math.min(16, device.preferredFloatVectorWidth()));
            if (rows < 4) {
                return new Config(vec, 1, vec >= 16 ? 8 : 4, (int) Math.min(16, device.maxWorkGroupSize()), 1);
            }
            // a group of 8 x 16 work-items covers 8*NB outputs of 64 rows (MB = 4)
            int wgr = (int) Math.max(1, Math.min(16, device.maxWorkGroupSize() / 8));
            return new Config(vec, 4, vec >= 16 ? 4 : 2, 8, wgr);
        }
    }

    /** The OpenCL path; kernels are built per configuration and weight format on first use, released by {@link #close()}. */
    public static final class OnDevice implements AutoCloseable {
        /** One build of linear.cl: tuning values and weight format. */
        private record Variant(Config config, WeightType type) {
            String options() {
                return "-DWTYPE=" + type.kernelCode + " " + config.options();
            }

            ClKernel kernel(ClContext context, String name) {
                return context.program(KernelSource.load("linear.cl"), options()).kernel(name);
            }
        }

        /**
         * Rows of x from which a product with weights in a narrow format widens the weights once into a float32
         * scratch matrix first (dequantize_rows) instead of once per group of rows inside linear_nt: prefill is
         * compute-bound and the widening is then paid once per step, not R / (WGR·MB) times.
         */
        static final int WIDEN_FIRST_ROWS = 16;
        /** The scratch matrix is at most this large (a bigger weight, e.g. a vocabulary projection of every row, is multiplied directly). */
        static final long WIDEN_SCRATCH_BYTES = 256L << 20;

        private final ClContext context;
        private final Map<Variant, ClKernel> kernels = new HashMap<>();
        private final Map<Variant, ClKernel> wideners = new HashMap<>();
        private final Map<Variant, ClKernel> packers = new HashMap<>();
        private final Map<Variant, ClKernel> packedKernels = new HashMap<>();
        private ClBuffer scratch;
        /** config(rows, type) by tuning key: defaults, stored tuning and overrides are fixed for this op's life. */
        private final Map<String, Config> configs = new HashMap<>();

        private final java.util.Map<String, java.util.Map<String, String>> overrides;
        private final KernelSettings settings;

        /** With default settings: nothing tuned or disabled (tests). */
        public OnDevice(ClContext context) {
            this(context, KernelSettings.defaults(), java.util.Map.of());
        }

        /**
         * With the device's settings (tuned values, variants the self-test disabled) and tuning values replaced per
         * tuning key ("linear/prefill", "linear/decode"), as the tuner tries them.
         */
        public OnDevice(ClContext context, KernelSettings settings,
                        java.util.Map<String, java.util.Map<String, String>> overrides) {
            this.context = context;
            this.settings = settings;
            this.overrides = java.util.Map.copyOf(overrides);
        }

        /** Defaults for the device and row count, with stored tuning values and this op's overrides applied (float32 weights). */
        public Config config(int rows) {
            return config(rows, WeightType.F32);
        }

        /** As {@link #config(int)} for weights stored in {@code type}. */
        public Config config(int rows, WeightType type) {
            return configs.computeIfAbsent(Config.tuningKey(rows, type), key -> configFor(rows, key));
        }

        private Config configFor(int rows, String key) {
            DeviceInfo device = context.device().info();
            Config tuned = Config.defaults(device, rows);
            java.util.Map<String, String> stored = settings.tuned(key);
            try {
                tuned = tuned.with(stored);
            } catch (gpuinfer.InputException stale) {
                settings.warn("stored tuning of " + key + " " + stored + " is not valid in this version (" + stale.getMessage()
                        + "); using the defaults: run gpu-infer tune again");
            }
            return tuned.with(overrides.getOrDefault(key, java.util.Map.of()));
        }

        /** The build options of the kernel for this row count and weight format. */
        public String options(int rows, WeightType type) {
            return new Variant(config(rows, type), type).options();
        }

        /** Enqueues y = act(x·Wᵀ + bias) + residual with float32 weights; bias and residual may be null. */
        public void enqueue(ClQueue queue, ClBuffer y, ClBuffer x, ClBuffer w, ClBuffer bias, ClBuffer residual,
                            int R, int N, int K, Activation act) {
            enqueue(queue, y, x, w, WeightType.F32, bias, residual, R, N, K, act);
        }

        /**
         * Enqueues y = act(x·Wᵀ + bias) + residual with W [N, K] stored in {@code type} (N rows of
         * {@code type.rowBytes(K)} bytes); bias and residual may be null.
         */
        public void enqueue(ClQueue queue, ClBuffer y, ClBuffer x, ClBuffer w, WeightType type, ClBuffer bias,
                            ClBuffer residual, int R, int N, int K, Activation act) {
            if (!type.runsNatively()) {
                throw new IllegalArgumentException(type + " weights are converted at load; no kernel reads them");
            }
            type.checkRow("linear weight", K);
            if (w.bytes() < N * type.rowBytes(K)) {
                throw new IllegalArgumentException("weight buffer '" + w.label() + "' has " + w.bytes() + " bytes; " + N
                        + " rows of " + K + " " + type + " values need " + N * type.rowBytes(K));
            }
            if (R >= WIDEN_FIRST_ROWS && packedPrefill()) {
                Config config = config(R, type);
                int pn = config.nb() * config.vec();
                long panels = (N + pn - 1) / pn;
                if (4L * panels * pn * K <= WIDEN_SCRATCH_BYTES) {
                    ClBuffer packed = pack(queue, w, type, N, K, config);
                    ClKernel kernel = packedKernels.computeIfAbsent(new Variant(config, WeightType.F32),
                            v -> v.kernel(context, "linear_packed"));
                    kernel.arg(0, x).arg(1, packed).arg(2, bias != null ? bias : x).arg(3, residual != null ? residual : y)
                            .arg(4, y).arg(5, R).arg(6, N).arg(7, K).arg(8, bias != null ? 1 : 0)
                            .arg(9, residual != null ? 1 : 0).arg(10, act.code);
                    long rowItems = (R + config.mb() - 1) / config.mb();
                    double bytes = 4.0 * ((double) R * K + (double) R * N * (residual != null ? 2 : 1)
                            + (bias != null ? N : 0) + (double) panels * pn * K);
                    queue.launch(kernel, new long[] {panels, (rowItems + config.wgr() - 1) / config.wgr() * config.wgr()},
                            new long[] {1, config.wgr()}, new Cost(2.0 * R * N * K, bytes));
                    return;
                }
            }
            if (type != WeightType.F32 && R >= WIDEN_FIRST_ROWS && 4L * N * K <= WIDEN_SCRATCH_BYTES) {
                ClBuffer wide = widen(queue, w, type, N, K, R);
                enqueue(queue, y, x, wide, WeightType.F32, bias, residual, R, N, K, act);
                return;
            }
            Config config = config(R, type);
            boolean decode = Config.isDecode(R);
            ClKernel kernel = kernels.computeIfAbsent(new Variant(config, type), v -> v.kernel(context, decode ? "linear_rows" : "linear_nt"));
            kernel.arg(0, x).arg(1, w).arg(2, bias != null ? bias : x).arg(3, residual != null ? residual : y).arg(4, y)
                    .arg(5, R).arg(6, N).arg(7, K).arg(8, bias != null ? 1 : 0).arg(9, residual != null ? 1 : 0)
                    .arg(10, act.code);
            long items = (N + config.nb() - 1) / config.nb();
            long global0 = (items + config.wg() - 1) / config.wg() * config.wg();
            double bytes = 4.0 * ((double) R * K + (double) R * N * (residual != null ? 2 : 1) + (bias != null ? N : 0))
                    + (double) N * type.rowBytes(K);
            Cost cost = new Cost(2.0 * R * N * K, bytes);
            if (decode) {
                queue.launch(kernel, new long[] {global0}, new long[] {config.wg()}, cost);
                return;
            }
            long rowItems = (R + config.mb() - 1) / config.mb();
            long global1 = (rowItems + config.wgr() - 1) / config.wgr() * config.wgr();
            queue.launch(kernel, new long[] {global0, global1}, new long[] {config.wg(), config.wgr()}, cost);
        }

        /**
         * Whether prefill (R ≥ {@link #WIDEN_FIRST_ROWS}) packs the weights into panels and multiplies with
         * linear_packed: on CPUs unless {@code -Dgpuinfer.linear.prefill=nt} (GPU_INFER_JAVA_OPTS) selects the
         * earlier path (dequantize_rows for narrow formats, then linear_nt); {@code =packed} selects it on any device
         * (Oclgrind, which reports a GPU, checks it so).
         */
        private boolean packedPrefill() {
            return packedPrefill(context.device().info());
        }

        static boolean packedPrefill(DeviceInfo device) {
            String choice = System.getProperty("gpuinfer.linear.prefill", "auto");
            return choice.equals("packed") || (choice.equals("auto") && !device.isGpu());
        }

        /** Enqueues widening and packing W [N, K] from {@code type} into the scratch as linear_packed's panels; returns the scratch. */
        private ClBuffer pack(ClQueue queue, ClBuffer w, WeightType type, int N, int K, Config config) {
            int pn = config.nb() * config.vec();
            long panels = (N + pn - 1) / pn;
            long bytes = 4L * panels * pn * K;
            if (scratch == null || scratch.bytes() < bytes) {
                if (scratch != null) {
                    scratch.close();
                    scratch = null;
                }
                scratch = context.createBuffer(bytes, "linear: weights widened to float32");
            }
            ClKernel kernel = packers.computeIfAbsent(new Variant(config, type), v -> v.kernel(context, "pack_rows"));
            kernel.arg(0, w).arg(1, scratch).arg(2, N).arg(3, K);
            long chunks = (K + 31) / 32;
            queue.launch(kernel, new long[] {panels, (chunks + PACK_GROUP - 1) / PACK_GROUP * PACK_GROUP},
                    new long[] {1, PACK_GROUP}, new Cost(0, (double) N * type.rowBytes(K) + bytes));
            return scratch;
        }

        /** pack_rows's work-group size along the 32-value chunks (its reqd_work_group_size). */
        private static final int PACK_GROUP = 16;

        /** Enqueues widening W [N, K] from {@code type} to float32 in the scratch matrix, and returns the scratch. */
        private ClBuffer widen(ClQueue queue, ClBuffer w, WeightType type, int N, int K, int R) {
            long bytes = 4L * N * K;
            if (scratch == null || scratch.bytes() < bytes) {
                if (scratch != null) {
                    scratch.close();
                    scratch = null;
                }
                scratch = context.createBuffer(bytes, "linear: weights widened to float32");
            }
            Config config = config(R, type);
            ClKernel kernel = wideners.computeIfAbsent(new Variant(config, type), v -> v.kernel(context, "dequantize_rows"));
            kernel.arg(0, w).arg(1, scratch).arg(2, N).arg(3, K);
            long chunks = (K + 31) / 32;
            queue.launch(kernel, new long[] {(chunks + WIDEN_GROUP - 1) / WIDEN_GROUP * WIDEN_GROUP, N},
                    new long[] {WIDEN_GROUP, 1}, new Cost(0, (double) N * type.rowBytes(K) + 4.0 * N * K));
            return scratch;
        }

        private static final int WIDEN_GROUP = 8;

        @Override
        public void close() {
            kernels.values().forEach(ClKernel::close);
            kernels.clear();
            wideners.values().forEach(ClKernel::close);
            wideners.clear();
            packers.values().forEach(ClKernel::close);
            packers.clear();
            packedKernels.values().forEach(ClKernel::close);
            packedKernels.clear();
            if (scratch != null) {
                scratch.close();
                scratch = null;
            }
        }
    }
}
