package gpuinfer.ops;

import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClKernel;
import gpuinfer.cl.Cost;
import gpuinfer.cl.ClQueue;
import gpuinfer.cl.DeviceInfo;
import gpuinfer.cl.KernelSource;
import gpuinfer.variants.KernelSettings;
import gpuinfer.variants.Variants;
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
     * The tuning values of {@code kernels/linear.cl}: each kernel reads the ones its section of the file names.
     *
     * @param vec floats per vector along k
     * @param mb  rows of x per work-item
     * @param nb  outputs per work-item (linear_matvec: outputs per work-group)
     * @param wg  work-items per group along the outputs
     * @param wgr work-items per group along the rows
     * @param tk  values of k per local-memory step (linear_tiled)
     */
    public record Config(int vec, int mb, int nb, int wg, int wgr, int tk) {
        /** Names a tuning override may set. */
        public static final java.util.List<String> NAMES = java.util.List.of("VEC", "MB", "NB", "WG", "WGR", "TK");
        /** TK where nothing sets it (the kernel's own default). */
        public static final int DEFAULT_TK = 16;

        public Config {
            if (vec != 1 && vec != 2 && vec != 4 && vec != 8 && vec != 16) {
                throw new gpuinfer.InputException("linear VEC must be 1, 2, 4, 8 or 16, not " + vec);
            }
            if (mb < 1 || mb > 8 || nb < 1 || nb > 8 || wg < 1 || wgr < 1) {
                throw new gpuinfer.InputException("linear MB and NB must be 1..8 and WG, WGR positive: MB=" + mb + " NB=" + nb
                        + " WG=" + wg + " WGR=" + wgr);
            }
            if (tk < 1 || tk > 1024) {
                throw new gpuinfer.InputException("linear TK must be 1..1024, not " + tk);
            }
        }

        /** With linear_tiled's default TK. */
        public Config(int vec, int mb, int nb, int wg, int wgr) {
            this(vec, mb, nb, wg, wgr, DEFAULT_TK);
        }

        public String options() {
            return "-DVEC=" + vec + " -DMB=" + mb + " -DNB=" + nb + " -DWG=" + wg + " -DWGR=" + wgr;
        }

        /** These values with some replaced, e.g. {"NB": "2"}. */
        public Config with(java.util.Map<String, String> overrides) {
            java.util.Map<String, Integer> v = new java.util.LinkedHashMap<>(java.util.Map.of("VEC", vec, "MB", mb, "NB", nb,
                    "WG", wg, "WGR", wgr, "TK", tk));
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
            return new Config(v.get("VEC"), v.get("MB"), v.get("NB"), v.get("WG"), v.get("WGR"), v.get("TK"));
        }

        /** The tuning key of a launch with this many rows of float32 weights. */
        public static String tuningKey(int rows) {
            return isDecode(rows) ? "linear/decode" : "linear/prefill";
        }

        /**
         * The most rows of x a decode product has: up to this many rows run linear_rows or linear_matvec, which stream
         * each weight once and compute every row's sums in the same order whatever R is (each row's dot products
         * alone), so that a sequence's results do not depend on how many others share its step. Continuous batching
         * ({@code gpuinfer.batch.BatchEngine}) decodes up to this many sequences together and relies on it for
         * results identical to running each request alone: each kernel sums in its own order (linear_rows alternates
         * two vector accumulators, linear_nt has one per row and output, linear_packed one scalar sum per output), so
         * a row must not change kernels with the row count (R = 4..15 ran linear_nt before, and a row's logits then
         * differed from its R = 1 logits in the last bits; gpuinfer.batch.BatchInvarianceTest). F32, F16 and BF16
         * weights packed once ({@link OnDevice#packsOnce}) run linear_packed at every row count instead, which is
         * invariant the same way.
         */
        public static final int DECODE_MAX_ROWS = 16;

        /** Few rows of x (decode, at most {@link #DECODE_MAX_ROWS}): linear_rows or linear_matvec; else the others. */
        public static boolean isDecode(int rows) {
            return rows <= DECODE_MAX_ROWS;
        }

        /**
         * In a prefill step (several tokens per sequence) products of this many rows or more leave the decode kernels:
         * 4 to 15 rows run linear_nt, 16 and more the prefill variant. A prompt's rows need not match another run's
         * rows bit for bit, only be fast: a 12-token prompt runs 1.5x faster through linear_nt than through
         * linear_rows on PoCL.
         */
        public static final int PREFILL_MIN_ROWS = 4;

        /** Whether a kernel is one of the decode shapes, which sum each row alone (linear_rows, linear_matvec). */
        static boolean isDecodeKernel(String kernel) {
            return kernel.equals("linear_rows") || kernel.equals("linear_matvec");
        }

        /** The tuning key of a launch with this many rows of weights in {@code type}: "linear/decode/q8_0". */
        public static String tuningKey(int rows, WeightType type) {
            return type == WeightType.F32 ? tuningKey(rows) : tuningKey(rows) + "/" + type.label;
        }

        /**
         * Defaults of the CPU-shaped kernels (linear_rows, linear_nt, linear_packed): on CPUs the preferred vector
         * width (8 with AVX2, 16 with AVX-512) and register blocks that fit the vector register file; a single row
         * (decode) gets MB = 1 so that no work is repeated.
         */
        public static Config defaults(DeviceInfo device, int rows) {
            return defaults(device, rows, isDecode(rows));
        }

        /** As above, for a decode kernel (linear_rows) or a prefill kernel (linear_nt, linear_packed). */
        static Config defaults(DeviceInfo device, int rows, boolean decodeKernel) {
            if (device.isGpu()) {
                return new Config(4, rows >= 2 ? 2 : 1, 2, (int) Math.min(64, device.maxWorkGroupSize()), 1);
            }
            int vec = Math.max(4, Math.min(16, device.preferredFloatVectorWidth()));
            if (decodeKernel) {
                return new Config(vec, 1, vec >= 16 ? 8 : 4, (int) Math.min(16, device.maxWorkGroupSize()), 1);
            }
            // a group of 8 x 16 work-items covers 8*NB outputs of 64 rows (MB = 4)
            int wgr = (int) Math.max(1, Math.min(16, device.maxWorkGroupSize() / 8));
            return new Config(vec, 4, vec >= 16 ? 4 : 2, 8, wgr);
        }

        /**
         * Defaults of one kernel of linear.cl, whatever the device: the GPU-shaped kernels have their own (also when
         * forced onto a CPU with --kernels gpu), the others {@link #defaults(DeviceInfo, int)}.
         * linear_matvec: float4 pieces, 4 outputs per group of 64 work-items. linear_tiled: 64 x 64 tiles of y from
         * groups of 16 x 16 work-items with 4 x 4 register blocks, K 16 at a time (8.3 KiB of local memory).
         */
        public static Config defaults(String kernel, DeviceInfo device, int rows) {
            return switch (kernel) {
                case "linear_matvec" -> new Config(4, 1, 4, (int) Math.min(64, device.maxWorkGroupSize()), 1);
                case "linear_tiled" -> new Config(4, 4, 4, 16, (int) Math.max(1, Math.min(16, device.maxWorkGroupSize() / 16)),
                        DEFAULT_TK);
                default -> defaults(device, rows, isDecodeKernel(kernel));
            };
        }

        /**
         * Defaults of the kernel a device runs for this many float32 rows without settings (the family "auto"): what
         * the tuner starts from.
         */
        public static Config preferredDefaults(DeviceInfo device, int rows) {
            if (!device.isGpu()) {
                return defaults(device, rows);
            }
            if (isDecode(rows)) {
                return defaults("linear_matvec", device, rows);
            }
            return rows >= OnDevice.WIDEN_FIRST_ROWS ? defaults("linear_tiled", device, rows) : defaults(device, rows);
        }
    }

    /**
     * The OpenCL path. Which kernel runs depends on the rows of x: decode (R &le; {@link Config#DECODE_MAX_ROWS}) runs
     * the variant {@link Variants#linearDecode} chooses (linear_rows on CPUs, linear_matvec on GPUs), whose rows are
     * independent of R, prefill (more rows) the variant {@link Variants#linearPrefill} chooses (linear_packed on CPUs, linear_tiled on
     * GPUs, linear_nt the fallback), each chosen once per weight format for this op's life, skipping variants the
     * self-test disabled and those whose kernel does not fit the device (work-group size, local memory). The
     * system property {@code gpuinfer.linear.prefill} ({@code GPU_INFER_JAVA_OPTS="-Dgpuinfer.linear.prefill=nt"})
     * forces prefill to {@code nt} (dequantize_rows for narrow formats, then linear_nt) or {@code packed} (pack_rows,
     * then linear_packed) on any device and with either family, ahead of the self-test's choices (a forced variant the
     * self-test disabled is used with a warning); {@code auto}, the default, lets the decision point choose.
     * Kernels are built per variant, format and tuning values on first use and released by {@link #close()}.
     *
     * <p>Where the prefill variant is linear_packed (CPUs), a caller that keeps its weights (a model's backend) packs
     * each F32, F16 or BF16 matrix once into {@link Panels} ({@link #pack}) and multiplies from them at every row
     * count ({@link #packsOnce}): decode runs linear_packed too, from the prefill's tuning values.
     */
    public static final class OnDevice implements AutoCloseable {
        /**
         * Rows of x from which a product is prefill: the prefill variant runs, and weights in a narrow format are
         * widened once into a float32 scratch matrix first (dequantize_rows, or pack_rows's panels) instead of once per
         * group of rows inside the product: prefill is compute-bound and the widening is then paid once per step, not
         * R / (WGR·MB) times.
         */
        static final int WIDEN_FIRST_ROWS = 16;
        /**
         * The scratch matrix is at most this large: a bigger narrow weight (e.g. a vocabulary projection of every row)
         * is multiplied by linear_nt reading its stored format, whichever prefill variant was chosen.
         */
        static final long WIDEN_SCRATCH_BYTES = 256L << 20;
        /** The system property that forces a prefill variant: auto, nt or packed. */
        public static final String PREFILL_PROPERTY = "gpuinfer.linear.prefill";

        private final ClContext context;
        private final DeviceInfo device;
        private final KernelSettings settings;
        private final java.util.Map<String, java.util.Map<String, String>> overrides;
        /** Kernels by name and build options (one per variant, format and tuning values). */
        private final Map<String, ClKernel> kernels = new HashMap<>();
        /** kernels by launch identity (the same objects as in {@link #kernels}, which owns them). */
        private final Map<KernelKey, ClKernel> launchKernels = new HashMap<>();
        /** The variant chosen at each decision point ("linear decode/q8_0"). */
        private final Map<String, String> chosen = new HashMap<>();
        /** Tuning values by variant and tuning key: defaults, stored tuning and overrides are fixed for this op's life. */
        private final Map<String, Config> configs = new HashMap<>();
        private ClBuffer scratch;
        /** Whether linear_matvec's subgroup reduction failed to build here (then it is not asked for again). */
        private boolean subgroupsFailed;
        /** Whether the products that follow belong to a prefill step (see {@link #setPrefillStep}). */
        private boolean prefillStep;

        /** With default settings: nothing tuned or disabled (tests). */
        public OnDevice(ClContext context) {
            this(context, KernelSettings.defaults(), java.util.Map.of());
        }

        /**
         * With the device's settings (tuned values, variants the self-test disabled, the family of variants preferred,
         * per-variant build options) and tuning values replaced per tuning key ("linear/prefill", "linear/decode"), as
         * the tuner tries them, or per variant name ("linear_matvec/q8_0"; applied after the tuning key's).
         */
        public OnDevice(ClContext context, KernelSettings settings,
                        java.util.Map<String, java.util.Map<String, String>> overrides) {
            this.context = context;
            this.device = context.device().info();
            this.settings = settings;
            this.overrides = java.util.Map.copyOf(overrides);
        }

        /**
         * The variant a product with this many rows of x and weights in {@code type} runs: "linear_matvec/q8_0",
         * "linear_nt/f32", ... (see the class comment). Chosen on the first call for a decision point and format
         * (building the candidates' kernels to check their limits), fixed afterwards.
         */
        public String variant(int rows, WeightType type) {
            if (!type.runsNatively()) {
                throw new IllegalArgumentException(type + " weights are converted at load; no kernel reads them");
            }
            if (Config.isDecode(rows) && !(prefillStep && rows >= Config.PREFILL_MIN_ROWS)) {
                Variants.Point point = Variants.linearDecode(type.label);
                return chosen.computeIfAbsent(point.name(), p -> point.choose(settings, device, v -> fits(v, rows)));
            }
            if (rows < WIDEN_FIRST_ROWS) {
                return "linear_nt/" + type.label;
            }
            return prefillVariant(type, rows);
        }

        /** The prefill variant of weights in {@code type}: chosen on the first call (see {@link #variant}), fixed after. */
        private String prefillVariant(WeightType type, int rows) {
            Variants.Point point = Variants.linearPrefill(type.label);
            return chosen.computeIfAbsent(point.name(), p -> choosePrefill(point, type, rows));
        }

        private String choosePrefill(Variants.Point point, WeightType type, int rows) {
            String forced = System.getProperty(PREFILL_PROPERTY, "auto").trim();
            switch (forced) {
                case "auto":
                    return point.choose(settings, device, v -> fits(v, rows));
                case "nt":
                case "packed":
                    String variant = "linear_" + forced + "/" + type.label;
                    if (settings.disabled(variant)) {
                        settings.warn(point.name() + ": using " + variant + " as -D" + PREFILL_PROPERTY + "=" + forced
                                + " asks, although the device self-test disabled it on this driver");
                    }
                    return variant;
                default:
                    throw new gpuinfer.InputException("-D" + PREFILL_PROPERTY + "=" + forced + ": use auto, nt or packed");
            }
        }

        /**
         * Whether the products that follow belong to a prefill step (several tokens of each sequence: then 4 to 16
         * rows run linear_nt or the prefill variant) or to a decode step (one token of each of up to
         * {@link Config#DECODE_MAX_ROWS} sequences: the decode kernels, whose rows do not depend on how many share
         * the step). Decode is the default.
         */
        public void setPrefillStep(boolean prefill) {
            this.prefillStep = prefill;
        }

        /** The tuning values of the chosen variant for this many rows of float32 weights. */
        public Config config(int rows) {
            return config(rows, WeightType.F32);
        }

        /** The tuning values of the variant chosen for this row count and weight format. */
        public Config config(int rows, WeightType type) {
            return config(variant(rows, type), rows);
        }

        /**
         * The tuning values a variant ("linear_tiled/q8_0") runs with for this many rows: its kernel's defaults, then
         * the values stored for its tuning key, then this op's overrides for that key and for the variant's name. The
         * key is that of the weights as the product kernel reads them: float32 once widened (linear_tiled,
         * linear_packed, and linear_nt from 16 rows), else the stored format.
         */
        public Config config(String variant, int rows) {
            String kernel = kernelOf(variant);
            WeightType product = productType(kernel, formatOf(variant), rows);
            String key = (Config.isDecodeKernel(kernel) ? "linear/decode" : "linear/prefill")
                    + (product == WeightType.F32 ? "" : "/" + product.label);
            return configs.computeIfAbsent(variant + " " + key, k -> configFor(kernel, variant, rows, key));
        }

        private Config configFor(String kernel, String variant, int rows, String key) {
            Config tuned = Config.defaults(kernel, device, rows);
            java.util.Map<String, String> stored = settings.tuned(key);
            try {
                tuned = tuned.with(stored);
            } catch (gpuinfer.InputException stale) {
                settings.warn("stored tuning of " + key + " " + stored + " is not valid in this version (" + stale.getMessage()
                        + "); using the defaults: run gpu-infer tune again");
            }
            return tuned.with(overrides.getOrDefault(key, java.util.Map.of()))
                    .with(overrides.getOrDefault(variant, java.util.Map.of()));
        }

        /** The build options of the product kernel for this row count and weight format. */
        public String options(int rows, WeightType type) {
            String variant = variant(rows, type);
            String kernel = kernelOf(variant);
            return options(variant, kernel, productType(kernel, type, rows), config(variant, rows));
        }

        /**
         * The build options of kernel {@code name} run by {@code variant}: format, tuning values (TK only for
         * linear_tiled), linear_matvec's section left out of the other variants' programs (PoCL spends seconds
         * compiling it), subgroups, and the variant's extra options from the settings.
         */
        private String options(String variant, String kernel, WeightType buildType, Config config) {
            String extra = settings.buildOptions(variant);
            return "-DWTYPE=" + buildType.kernelCode + " " + config.options()
                    + (kernel.equals("linear_tiled") ? " -DTK=" + config.tk() : "")
                    + (kernel.equals("linear_matvec") ? subgroupOptions() : " -DLINEAR_MATVEC=0")
                    + (extra.isBlank() ? "" : " " + extra.trim());
        }

        /**
         * linear_matvec's subgroup reduction where the device has subgroups: cl_intel_subgroups (OpenCL C 1.2
         * built-ins) or cl_khr_subgroups (OpenCL C 2.0 or later).
         */
        private String subgroupOptions() {
            if (subgroupsFailed) {
                return "";
            }
            if (device.extensions().contains("cl_intel_subgroups")) {
                return " -DUSE_SUBGROUPS=1";
            }
            String c = device.openclCVersion();
            if (device.extensions().contains("cl_khr_subgroups") && (c.contains("C 2.") || c.contains("C 3."))) {
                return " -DUSE_SUBGROUPS=1 -cl-std=CL" + (c.contains("C 3.") ? "3.0" : "2.0");
            }
            return "";
        }

        /**
         * The kernel {@code name} of a variant's program, built with its tuning values and build options. Should
         * linear_matvec's subgroup reduction not build on this driver (a path no test device here has), it is built
         * with the local-memory reduction instead, with a warning.
         */
        private ClKernel kernel(String variant, String name, WeightType buildType, Config config) {
            // every launch asks: a map lookup on the launch's identity, not an option string built each time
            KernelKey key = new KernelKey(variant, name, buildType, config);
            ClKernel known = launchKernels.get(key);
            if (known == null) {
                known = buildKernel(variant, name, buildType, config);
                launchKernels.put(key, known);
            }
            return known;
        }

        /** What picks a launch's kernel: the variant, the kernel's name, the format it is built for, its values. */
        private record KernelKey(String variant, String name, WeightType buildType, Config config) {
        }

        /** The kernel for a launch, built (or found among the programs built) by its options. */
        private ClKernel buildKernel(String variant, String name, WeightType buildType, Config config) {
            String options = options(variant, name, buildType, config);
            try {
                return kernels.computeIfAbsent(name + "\n" + options,
                        k -> context.program(KernelSource.load("linear.cl"), options).kernel(name));
            } catch (gpuinfer.cl.KernelBuildException e) {
                if (!name.equals("linear_matvec") || subgroupOptions().isEmpty()) {
                    throw e;
                }
                subgroupsFailed = true;
                settings.warn("linear_matvec's subgroup reduction does not build on " + device.name() + " ("
                        + e.getMessage().lines().filter(l -> l.contains("first error")).findFirst().orElse("").trim()
                        + "); it reduces in local memory instead");
                return buildKernel(variant, name, buildType, config);
            }
        }

        /** The format a variant's product kernel reads: float32 for the ones that run on widened weights. */
        private static WeightType productType(String kernel, WeightType type, int rows) {
            boolean widened = kernel.equals("linear_tiled") || kernel.equals("linear_packed")
                    || (kernel.equals("linear_nt") && rows >= WIDEN_FIRST_ROWS);
            return widened ? WeightType.F32 : type;
        }

        /** The kernel of a variant: "linear_packed" of "linear_packed/f16". */
        public static String kernelOf(String variant) {
            int slash = variant.indexOf('/');
            return slash < 0 ? variant : variant.substring(0, slash);
        }

        static WeightType formatOf(String variant) {
            String label = variant.substring(variant.indexOf('/') + 1);
            for (WeightType t : WeightType.values()) {
                if (t.runsNatively() && t.label.equals(label)) {
                    return t;
                }
            }
            throw new IllegalArgumentException("no weight format in variant name '" + variant + "'");
        }

        /** The work-group a kernel of linear.cl is launched with. */
        private static long[] localSize(String kernel, Config c) {
            return switch (kernel) {
                case "linear_rows", "linear_matvec" -> new long[] {c.wg()};
                case "linear_packed" -> new long[] {1, c.wgr()};
                default -> new long[] {c.wg(), c.wgr()};
            };
        }

        /**
         * Whether a variant's product kernel builds and fits this device: its work-group within the kernel's
         * CL_KERNEL_WORK_GROUP_SIZE (which the driver lowers for kernels that need many registers or much private
         * memory) and the device's per-dimension sizes, its local memory within the device's. A variant that does
         * not is reported (once) and skipped by the decision point.
         */
        private boolean fits(String variant, int rows) {
            String kernel = kernelOf(variant);
            Config config = config(variant, rows);
            ClKernel built;
            try {
                built = kernel(variant, kernel, productType(kernel, formatOf(variant), rows), config);
            } catch (gpuinfer.cl.KernelBuildException e) {
                settings.warn(variant + " does not build on " + device.name() + ": " + e.getMessage().lines().findFirst().orElse(""));
                return false;
            }
            String why = whyNot(built, localSize(kernel, config), device);
            if (why != null) {
                settings.warn(variant + " (" + built.program().options() + ") does not fit " + device.name() + ": " + why);
                return false;
            }
            return true;
        }

        /** Why a launch of {@code kernel} with work-groups of {@code local} would be refused, or null. */
        static String whyNot(ClKernel kernel, long[] local, DeviceInfo device) {
            String why = kernel.whyNot(local);
            return why == null ? null : "work-groups of " + java.util.Arrays.toString(local) + ": " + why + " ("
                    + kernel.limits() + ")";
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
            Product p = new Product(y, x, w, type, bias, residual, R, N, K, act);
            String variant = variant(R, type);
            switch (kernelOf(variant)) {
                case "linear_rows", "linear_matvec" -> launchDecode(queue, variant, p);
                case "linear_packed" -> enqueuePacked(queue, variant, p);
                case "linear_tiled" -> enqueueTiled(queue, variant, p);
                default -> enqueueNt(queue, variant, p);
            }
        }

        /** One product's operands: x [R, K], w [N, K] in {@code type}, bias [N] or null, residual [R, N] or null, y [R, N]. */
        private record Product(ClBuffer y, ClBuffer x, ClBuffer w, WeightType type, ClBuffer bias, ClBuffer residual,
                               int R, int N, int K, Activation act) {
            /** The same product reading {@code wide} [N, K] float32 weights instead. */
            Product widened(ClBuffer wide) {
                return new Product(y, x, wide, WeightType.F32, bias, residual, R, N, K, act);
            }

            /** Sets the 11 arguments every product kernel of linear.cl takes, with {@code weights} as argument 1. */
            void bind(ClKernel kernel, ClBuffer weights) {
                kernel.arg(0, x).arg(1, weights).arg(2, bias != null ? bias : x).arg(3, residual != null ? residual : y)
                        .arg(4, y).arg(5, R).arg(6, N).arg(7, K).arg(8, bias != null ? 1 : 0)
                        .arg(9, residual != null ? 1 : 0).arg(10, act.code);
            }

            /** The launch's work: 2RNK flops; x, y, bias, residual and {@code weightBytes} of weights moved. */
            Cost cost(double weightBytes) {
                return new Cost(2.0 * R * N * K, 4.0 * ((double) R * K + (double) R * N * (residual != null ? 2 : 1)
                        + (bias != null ? N : 0)) + weightBytes);
            }
        }

        /** linear_rows (NB outputs per work-item, WG per group) or linear_matvec (NB outputs per group of WG). */
        private void launchDecode(ClQueue queue, String variant, Product p) {
            String name = kernelOf(variant);
            Config config = config(variant, p.R);
            ClKernel kernel = kernel(variant, name, p.type, config);
            p.bind(kernel, p.w);
            long blocks = (p.N + config.nb() - 1) / config.nb();
            long global = name.equals("linear_matvec") ? blocks * config.wg() : roundUp(blocks, config.wg());
            queue.launch(kernel, new long[] {global}, new long[] {config.wg()}, p.cost((double) p.N * p.type.rowBytes(p.K)));
        }

        /** linear_nt; from 16 rows a narrow weight is widened to float32 first when the scratch allows. */
        private void enqueueNt(ClQueue queue, String variant, Product p) {
            Config config = config(variant, p.R);
            Product run = p;
            if (p.R >= WIDEN_FIRST_ROWS && p.type != WeightType.F32 && 4L * p.N * p.K <= WIDEN_SCRATCH_BYTES) {
                run = p.widened(widen(queue, variant, p, config));
            }
            ClKernel kernel = kernel(variant, "linear_nt", run.type, config);
            run.bind(kernel, run.w);
            long items = (p.N + config.nb() - 1) / config.nb();
            long rowItems = (p.R + config.mb() - 1) / config.mb();
            queue.launch(kernel, new long[] {roundUp(items, config.wg()), roundUp(rowItems, config.wgr())},
                    new long[] {config.wg(), config.wgr()}, run.cost((double) p.N * run.type.rowBytes(p.K)));
        }

        /** pack_rows into panels, then linear_packed; linear_nt when the panels would exceed the scratch limit. */
        private void enqueuePacked(ClQueue queue, String variant, Product p) {
            Config config = config(variant, p.R);
            int pn = config.nb() * config.vec();
            long panels = (p.N + pn - 1) / pn;
            if (4L * panels * pn * p.K > WIDEN_SCRATCH_BYTES) {
                enqueueNt(queue, "linear_nt/" + p.type.label, p);
                return;
            }
            ClBuffer packed = scratch(4L * panels * pn * p.K);
            enqueuePack(queue, variant, config, p.w, p.type, packed, p.N, p.K, false);
            launchPacked(queue, variant, config, p, packed, WeightType.F32);
        }

        /**
         * W [N, K] in {@code type} packed into panels [ceil(N / PN)][K][PN] in {@code packed}: widened to float32
         * (pack_rows), or, with {@code stored}, F16 / BF16 values kept as they are (pack_rows_stored).
         */
        private void enqueuePack(ClQueue queue, String variant, Config config, ClBuffer w, WeightType type,
                                 ClBuffer packed, int N, int K, boolean stored) {
            int pn = config.nb() * config.vec();
            long panels = (N + pn - 1) / pn;
            ClKernel packer = kernel(variant, stored ? "pack_rows_stored" : "pack_rows", type, config);
            packer.arg(0, w).arg(1, packed).arg(2, N).arg(3, K);
            long chunks = (K + 31) / 32;
            queue.launch(packer, new long[] {panels, roundUp(chunks, PACK_GROUP)}, new long[] {1, PACK_GROUP},
                    new Cost(0, (double) N * type.rowBytes(K) + (stored ? type.rowBytes(K) : 4.0 * K) * panels * pn));
        }

        /**
         * linear_packed over panels of PN = NB * VEC outputs in {@code panelType} (float32, or F16 / BF16 as stored);
         * p.w is unused: the panels hold the weights.
         */
        private void launchPacked(ClQueue queue, String variant, Config config, Product p, ClBuffer packed,
                                  WeightType panelType) {
            int pn = config.nb() * config.vec();
            long panels = (p.N + pn - 1) / pn;
            ClKernel kernel = kernel(variant, "linear_packed", panelType, config);
            p.bind(kernel, packed);
            long rowItems = (p.R + config.mb() - 1) / config.mb();
            queue.launch(kernel, new long[] {panels, roundUp(rowItems, config.wgr())}, new long[] {1, config.wgr()},
                    p.cost((double) panelType.rowBytes(p.K) * panels * pn));
        }

        /**
         * Whether weights in {@code type} are best multiplied from {@link Panels} packed once ({@link #pack}) at every
         * row count, decode and prefill alike: float32, F16 and BF16 weights where their prefill variant is
         * linear_packed (CPUs). The panels keep the stored values (16-bit ones are widened in registers, as
         * linear_rows widens them), so packing is a one-time layout change of the same size instead of a widening
         * read and write of every weight in every prefill step, and every row of every step sums its products in
         * linear_packed's order (each output over k = 0, 1, ..., K - 1 in one accumulator), whatever the number of
         * rows: the batch-invariance that {@link Config#DECODE_MAX_ROWS} gives the decode kernels, for prefill steps
         * too. Q8_0 and Q4_0 are not packed once (their blocks run along k; float panels would quadruple them).
         */
        public boolean packsOnce(WeightType type) {
            if (!keptInPanels(type)) {
                return false;
            }
            return kernelOf(prefillVariant(type, WIDEN_FIRST_ROWS)).equals("linear_packed");
        }

        /** The formats whose values panels keep as stored: F32, F16, BF16 (block formats run along k). */
        private static boolean keptInPanels(WeightType type) {
            return type == WeightType.F32 || type == WeightType.F16 || type == WeightType.BF16;
        }

        /**
         * Weights [N, K] packed once into linear_packed's panels [ceil(N / PN)][K][PN] (outputs past N zero), in
         * {@code type} as stored (float32, F16 or BF16): a buffer the caller owns and closes.
         */
        public record Panels(ClBuffer buffer, WeightType type, int N, int K, int pn) implements AutoCloseable {
            @Override
            public void close() {
                buffer.close();
            }
        }

        /**
         * Enqueues packing W [N, K] stored in {@code type} into new {@link Panels} for this op's linear_packed (its
         * tuning values fix PN); the caller owns the result.
         */
        public Panels pack(ClQueue queue, ClBuffer w, WeightType type, int N, int K) {
            if (!keptInPanels(type)) {
                throw new IllegalArgumentException(type + " weights are not packed once (their blocks run along k)");
            }
            type.checkRow("linear weight", K);
            String variant = "linear_packed/" + type.label;
            Config config = config(variant, WIDEN_FIRST_ROWS);
            int pn = config.nb() * config.vec();
            long panels = (N + pn - 1) / pn;
            ClBuffer packed = context.createBuffer(type.rowBytes(K) * panels * pn, "'" + w.label() + "' packed into "
                    + type.label + " panels of " + pn + " outputs [" + panels + "][" + K + "][" + pn + "]");
            try {
                enqueuePack(queue, variant, config, w, type, packed, N, K, type != WeightType.F32);
            } catch (RuntimeException e) {
                packed.close();
                throw e;
            }
            return new Panels(packed, type, N, K, pn);
        }

        /**
         * Enqueues y = act(x·Wᵀ + bias) + residual with W as {@link Panels} (linear_packed, any number of rows);
         * bias and residual may be null.
         */
        public void enqueue(ClQueue queue, ClBuffer y, ClBuffer x, Panels w, ClBuffer bias, ClBuffer residual, int R,
                            Activation act) {
            String variant = "linear_packed/" + w.type().label;
            Config config = config(variant, WIDEN_FIRST_ROWS);
            if (config.nb() * config.vec() != w.pn()) {
                throw new IllegalStateException("panels of " + w.pn() + " outputs do not match linear_packed's PN = "
                        + config.nb() * config.vec() + " (" + config.options() + ")");
            }
            launchPacked(queue, variant, config, new Product(y, x, w.buffer(), w.type(), bias, residual, R, w.N(),
                    w.K(), act), w.buffer(), w.type());
        }

        /** linear_tiled on float32 weights, narrow ones widened first; linear_nt when the scratch would be too large. */
        private void enqueueTiled(ClQueue queue, String variant, Product p) {
            Config config = config(variant, p.R);
            Product run = p;
            if (p.type != WeightType.F32) {
                if (4L * p.N * p.K > WIDEN_SCRATCH_BYTES) {
                    enqueueNt(queue, "linear_nt/" + p.type.label, p);
                    return;
                }
                run = p.widened(widen(queue, variant, p, config));
            }
            ClKernel kernel = kernel(variant, "linear_tiled", WeightType.F32, config);
            run.bind(kernel, run.w);
            long tn = (long) config.wg() * config.nb();
            long tm = (long) config.wgr() * config.mb();
            queue.launch(kernel, new long[] {(p.N + tn - 1) / tn * config.wg(), (p.R + tm - 1) / tm * config.wgr()},
                    new long[] {config.wg(), config.wgr()}, run.cost(4.0 * p.N * p.K));
        }

        /** The scratch buffer, grown to at least {@code bytes}. */
        private ClBuffer scratch(long bytes) {
            if (scratch == null || scratch.bytes() < bytes) {
                if (scratch != null) {
                    scratch.close();
                    scratch = null;
                }
                scratch = context.createBuffer(bytes, "linear: weights widened to float32");
            }
            return scratch;
        }

        /** pack_rows's work-group size along the 32-value chunks (its reqd_work_group_size). */
        private static final int PACK_GROUP = 16;

        /** Enqueues widening W [N, K] from its format to float32 in the scratch matrix (dequantize_rows); returns the scratch. */
        private ClBuffer widen(ClQueue queue, String variant, Product p, Config config) {
            ClBuffer wide = scratch(4L * p.N * p.K);
            ClKernel kernel = kernel(variant, "dequantize_rows", p.type, config);
            kernel.arg(0, p.w).arg(1, wide).arg(2, p.N).arg(3, p.K);
            long chunks = (p.K + 31) / 32;
            queue.launch(kernel, new long[] {roundUp(chunks, WIDEN_GROUP), p.N}, new long[] {WIDEN_GROUP, 1},
                    new Cost(0, (double) p.N * p.type.rowBytes(p.K) + 4.0 * p.N * p.K));
            return wide;
        }

        private static final int WIDEN_GROUP = 8;

        private static long roundUp(long n, long multiple) {
            return (n + multiple - 1) / multiple * multiple;
        }

        @Override
        public void close() {
            kernels.values().forEach(ClKernel::close);
            kernels.clear();
            launchKernels.clear();
            chosen.clear();
            if (scratch != null) {
                scratch.close();
                scratch = null;
            }
        }
    }
}
