package gpuinfer.tune;

import gpuinfer.bench.Stats;
import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClQueue;
import gpuinfer.cl.DeviceInfo;
import gpuinfer.ops.Activation;
import gpuinfer.ops.Linear;
import gpuinfer.variants.KernelSettings;
import gpuinfer.tensor.RandomTensors;
import gpuinfer.weights.WeightType;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Tunes the linear variant the device runs (see Linear.OnDevice: linear_packed or linear_tiled for prefill,
 * linear_rows or linear_matvec for decode) for prefill (many rows: GPT-2 124M's QKV projection, 512 x 2304 x 768) or
 * decode (one row against 128 MiB of weights, so the timing reads memory, not cache). Float32 weights; the values
 * are stored under the float32 tuning key, which the other formats' widened prefill products read too. Where float32
 * weights are packed once into panels (CPUs: {@link Linear.OnDevice#packsOnce}) products are timed from the panels, as
 * a model runs them, and decode is not tuned: it runs linear_packed with the prefill values.
 */
public final class LinearTarget implements Tuner.Target {
    /** float32 dot products of up to a few hundred terms against double: see ClOpsTest. */
    static final Tolerance FP32_LINEAR = new Tolerance(1e-5, 1e-4);

    private final boolean decode;
    private final int rows;
    private final int outputs;
    private final int inputs;

    private LinearTarget(boolean decode, int rows, int outputs, int inputs) {
        this.decode = decode;
        this.rows = rows;
        this.outputs = outputs;
        this.inputs = inputs;
    }

    public static LinearTarget prefill() {
        return new LinearTarget(false, 512, 2304, 768);
    }

    public static LinearTarget decode() {
        return new LinearTarget(true, 1, 8192, 4096);
    }

    @Override
    public String key() {
        return Linear.Config.tuningKey(rows);
    }

    @Override
    public String timedShape() {
        return "R=" + rows + " N=" + outputs + " K=" + inputs;
    }

    @Override
    public Map<String, String> defaults(DeviceInfo device) {
        Linear.Config c = Linear.Config.preferredDefaults(device, rows);
        Map<String, String> m = new LinkedHashMap<>();
        m.put("VEC", "" + c.vec());
        m.put("MB", "" + c.mb());
        m.put("NB", "" + c.nb());
        m.put("WG", "" + c.wg());
        m.put("WGR", "" + c.wgr());
        m.put("TK", "" + c.tk());
        return m;
    }

    @Override
    public List<Map<String, String>> space(DeviceInfo device) {
        boolean gpu = device.isGpu();
        int registers = !gpu && device.preferredFloatVectorWidth() >= 16 ? 32 : 16;
        Map<String, List<Integer>> values = new LinkedHashMap<>();
        values.put("VEC", gpu ? List.of(1, 2, 4) : List.of(4, 8, 16));
        values.put("MB", decode ? List.of(1) : List.of(2, 3, 4, 6, 8));
        values.put("NB", decode ? List.of(2, 4, 6, 8) : List.of(1, 2, 3, 4));
        values.put("WG", gpu ? List.of(32, 64, 128) : List.of(4, 8, 16, 32));
        values.put("WGR", decode ? List.of(1) : List.of(1, 4, 8, 16));
        // linear_tiled's k step on GPUs (prefill); the other variants ignore it, so it stays at its default there
        values.put("TK", gpu && !decode ? List.of(8, 16, 32) : List.of(Linear.Config.preferredDefaults(device, rows).tk()));
        List<Map<String, String>> valid = new ArrayList<>();
        for (Map<String, String> p : Tuner.grid(values)) {
            int mb = Integer.parseInt(p.get("MB"));
            int nb = Integer.parseInt(p.get("NB"));
            long group = (long) Integer.parseInt(p.get("WG")) * Integer.parseInt(p.get("WGR"));
            if (group <= device.maxWorkGroupSize() && (gpu || mb * nb + mb + nb <= registers)) {
                valid.add(p);
            }
        }
        return valid;
    }

    @Override
    public Tuner.Trial open(ClContext context, Map<String, String> params, String extraOptions) {
        if (!extraOptions.isEmpty()) {
            throw new IllegalArgumentException("extra build options are for tests only");
        }
        Linear.OnDevice op = new Linear.OnDevice(context, KernelSettings.defaults(), Map.of(key(), params));
        op.config(rows); // rejects invalid values now
        return new Tuner.Trial() {
            @Override
            public Comparison validate() {
                return validateOn(context, op, decode);
            }

            @Override
            public double millis(int warmup, int repeats) {
                return time(context, op, timedInputs, rows, outputs, inputs, warmup, repeats);
            }

            @Override
            public void close() {
                op.close();
            }
        };
    }

    @Override
    public String notApplicable(ClContext context) {
        return decode ? decodeFromPanels(context, KernelSettings.defaults()) : null;
    }

    /**
     * Why float32 decode values are not used on this device with these settings: where float32 weights are packed
     * once into panels ({@link Linear.OnDevice#packsOnce}), decode runs linear_packed with linear/prefill's values.
     */
    static String decodeFromPanels(ClContext context, KernelSettings settings) {
        try (Linear.OnDevice op = new Linear.OnDevice(context, settings.withWarnings(message -> { }), Map.of())) {
            return op.packsOnce(WeightType.F32)
                    ? "float32 weights are packed once into panels on this device and every float32 product, decode "
                    + "too, runs linear_packed with linear/prefill's values: tune linear-prefill" : null;
        }
    }

    /** x and w of the timed shape, made once per target (decode's weights are 128 MiB). */
    private final TimedInputs timedInputs = new TimedInputs();

    /** The timed product's x and w, generated on first use. */
    static final class TimedInputs {
        private float[] x;
        private float[] w;

        synchronized float[][] get(int rows, int outputs, int inputs) {
            if (x == null) {
                x = RandomTensors.gaussian(1, 0, rows * inputs).data();
                w = RandomTensors.gaussian(1, 1, outputs * inputs).data();
            }
            return new float[][] {x, w};
        }
    }

    /**
     * Median wall time of {@code op} on the timed shape, float32 weights, as a model runs them: a prefill shape from
     * panels packed once (outside the timing) where {@link Linear.OnDevice#packsOnce}, else as stored (a decode shape
     * times the decode variant the op was given, which the float32 decode of such a device does not run).
     */
    static double time(ClContext context, Linear.OnDevice op, TimedInputs timed, int rows, int outputs, int inputs,
                       int warmup, int repeats) {
        float[][] xw = timed.get(rows, outputs, inputs);
        ClQueue queue = context.queue();
        try (ClBuffer x = context.createBuffer(xw[0], "x");
             ClBuffer w = context.createBuffer(xw[1], "w");
             ClBuffer y = context.createBuffer(4L * rows * outputs, "y");
             Linear.OnDevice.Panels panels = !Linear.Config.isDecode(rows) && op.packsOnce(WeightType.F32)
                     ? op.pack(queue, w, WeightType.F32, outputs, inputs) : null) {
            queue.finish();
            double[] times = new double[repeats];
            for (int i = -warmup; i < repeats; i++) {
                long start = System.nanoTime();
                if (panels != null) {
                    op.enqueue(queue, y, x, panels, null, null, rows, Activation.NONE);
                } else {
                    op.enqueue(queue, y, x, w, null, null, rows, outputs, inputs, Activation.NONE);
                }
                queue.finish();
                if (i >= 0) {
                    times[i] = (System.nanoTime() - start) / 1e6;
                }
            }
            return Stats.median(times);
        }
    }

    /** The op against the CPU reference on awkward decode (R = 1) or prefill shapes; the first failure, or the last. */
    static Comparison validateOn(ClContext context, Linear.OnDevice op, boolean decode) {
        int[][] shapes = decode ? new int[][] {{1, 301, 77}, {1, 64, 129}} : new int[][] {{67, 130, 97}, {5, 33, 64}, {129, 65, 31}};
        Comparison last = null;
        for (int[] s : shapes) {
            last = check(context, op, s[0], s[1], s[2], !decode && op.packsOnce(WeightType.F32));
            if (!last.passed()) {
                return last;
            }
        }
        return last;
    }

    /** One product against the reference; {@code fromPanels}: W packed once, as a model multiplies prefill rows. */
    private static Comparison check(ClContext context, Linear.OnDevice op, int R, int N, int K, boolean fromPanels) {
        float[] x = RandomTensors.gaussian(5, 0, R * K).data();
        float[] w = RandomTensors.gaussian(5, 1, N * K).data();
        float[] b = RandomTensors.gaussian(5, 2, N).data();
        float[] r = RandomTensors.gaussian(5, 3, R * N).data();
        float[] want = new float[R * N];
        Linear.reference(want, x, w, b, r, R, N, K, Activation.GELU_TANH);
        try (ClBuffer xb = context.createBuffer(x, "x");
             ClBuffer wb = context.createBuffer(w, "w");
             ClBuffer bb = context.createBuffer(b, "b");
             ClBuffer rb = context.createBuffer(r, "residual");
             ClBuffer y = context.createBuffer(4L * R * N, "y")) {
            float[] got = new float[R * N];
            if (fromPanels) {
                try (Linear.OnDevice.Panels panels = op.pack(context.queue(), wb, WeightType.F32, N, K)) {
                    op.enqueue(context.queue(), y, xb, panels, bb, rb, R, Activation.GELU_TANH);
                    context.queue().read(y, got);
                }
            } else {
                op.enqueue(context.queue(), y, xb, wb, bb, rb, R, N, K, Activation.GELU_TANH);
                context.queue().read(y, got);
            }
            return Validate.compare("linear R=" + R + " N=" + N + " K=" + K, got, want, FP32_LINEAR);
        }
    }
}
