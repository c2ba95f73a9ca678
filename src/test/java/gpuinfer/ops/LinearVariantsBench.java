package gpuinfer.ops;

import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClQueue;
import gpuinfer.cl.ClRuntime;
import gpuinfer.cl.ProgramCache;
import gpuinfer.variants.KernelSettings;
import gpuinfer.weights.WeightTensor;
import gpuinfer.weights.WeightType;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Times every variant of the linear layer through {@link Linear.OnDevice}, each forced at its decision point, on
 * TinyLlama 1.1B's projection shapes: decode (R = 1; linear_rows, linear_matvec) in GB/s of weights, prefill
 * (R = 512; linear_packed, linear_nt, linear_tiled, narrow formats' widening or packing included: what a prefill step
 * pays) in GFLOP/s; and checks that the variants of a shape agree (max |difference| from the first, relative to the
 * largest output). A main, not a test:
 * {@code java -cp target/classes:target/test-classes:target/lib/* gpuinfer.ops.LinearVariantsBench [decode|prefill|all]
 * [formats, e.g. f32,q8_0]}; medians of 3 runs after a warm-up; prints each variant's build options.
 */
public final class LinearVariantsBench {
    private LinearVariantsBench() {
    }

    public static void main(String[] args) {
        String which = args.length > 0 ? args[0] : "all";
        List<WeightType> formats = Arrays.stream((args.length > 1 ? args[1] : "f32,f16,q8_0,q4_0").split(","))
                .map(label -> WeightType.parseTarget("format", label)).toList();
        int[][] shapes = {{2048, 2048}, {5632, 2048}, {2048, 5632}}; // N x K: attention, MLP up, MLP down
        ClRuntime runtime = ClRuntime.get(ClRuntime.DEFAULT_BINDING);
        try (ClContext context = runtime.createContext(runtime.select("auto"), ProgramCache.defaultCache())) {
            System.out.println("device " + context.device().name());
            if (!which.equals("prefill")) {
                for (WeightType type : formats) {
                    for (int[] nk : shapes) {
                        compare(context, type, 1, nk[0], nk[1], List.of("linear_rows", "linear_matvec"));
                    }
                }
            }
            if (!which.equals("decode")) {
                for (WeightType type : formats) {
                    for (int[] nk : shapes) {
                        compare(context, type, 512, nk[0], nk[1], List.of("linear_packed", "linear_nt", "linear_tiled"));
                    }
                }
            }
        }
    }

    private static void compare(ClContext context, WeightType type, int R, int N, int K, List<String> kernels) {
        SplittableRandom random = new SplittableRandom(N * 31L + K);
        float[] x = new float[R * K];
        float[] values = new float[N * K];
        for (int i = 0; i < x.length; i++) x[i] = (float) random.nextGaussian();
        for (int i = 0; i < values.length; i++) values[i] = (float) random.nextGaussian() * 0.05f;
        ByteBuffer stored = WeightTensor.quantized("w", type, values, N, K).buffer().orElseThrow();
        ClQueue queue = context.queue();
        float[] first = null;
        try (ClBuffer xb = context.createBuffer(x, "x"); ClBuffer wb = context.createBuffer(stored.remaining(), "w");
             ClBuffer y = context.createBuffer(4L * R * N, "y")) {
            queue.write(wb, 0, stored);
            for (String kernel : kernels) {
                String variant = kernel + "/" + type.label;
                KernelSettings settings = LinearVariantsTest.forcing(KernelSettings.defaults().withWarnings(m -> { }), variant);
                try (Linear.OnDevice op = new Linear.OnDevice(context, settings, Map.of())) {
                    double[] ms = new double[3];
                    for (int i = -1; i < ms.length; i++) {
                        long start = System.nanoTime();
                        op.enqueue(queue, y, xb, wb, type, null, null, R, N, K, Activation.NONE);
                        queue.finish();
                        if (i >= 0) {
                            ms[i] = (System.nanoTime() - start) / 1e6;
                        }
                    }
                    Arrays.sort(ms);
                    double median = ms[1];
                    float[] got = new float[R * N];
                    queue.read(y, got);
                    String agreement = "";
                    if (first == null) {
                        first = got;
                    } else {
                        double diff = 0;
                        double scale = 0;
                        for (int i = 0; i < got.length; i++) {
                            diff = Math.max(diff, Math.abs(got[i] - first[i]));
                            scale = Math.max(scale, Math.abs(first[i]));
                        }
                        agreement = String.format("  max|diff|/max|y| %.1e", diff / scale);
                    }
                    String speed = R < 4
                            ? String.format("%6.1f GB/s", (double) N * type.rowBytes(K) / median / 1e6)
                            : String.format("%6.1f GFLOP/s", 2.0 * R * N * K / median / 1e6);
                    System.out.printf("%-20s R=%3d N=%5d K=%5d %8.2f ms %s%s   (%s)%n", op.variant(R, type), R, N, K, median,
                            speed, agreement, op.options(R, type));
                }
            }
        }
    }
}
