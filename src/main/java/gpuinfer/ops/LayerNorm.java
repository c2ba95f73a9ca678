package gpuinfer.ops;

import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClQueue;

import java.util.stream.IntStream;

/** LayerNorm over the last dimension: {@code y[r] = (x[r] - mean) / sqrt(var + eps) * weight + bias}; x, y [R, C]. */
public final class LayerNorm {
    private LayerNorm() {
    }

    /** The CPU reference: mean and variance in double, two passes. */
    public static void reference(float[] y, float[] x, float[] weight, float[] bias, int R, int C, float eps) {
        IntStream.range(0, R).parallel().forEach(r -> {
            int o = r * C;
            // pass 1: mean
            double mean = 0;
            for (int c = 0; c < C; c++) {
                mean += x[o + c];
            }
            mean /= C;
            // pass 2: variance of the deviations
            double var = 0;
            for (int c = 0; c < C; c++) {
                double d = x[o + c] - mean;
                var += d * d;
            }
            var /= C;
            double rstd = 1 / Math.sqrt(var + eps);
            // pass 3: normalise, scale, shift
            for (int c = 0; c < C; c++) {
                y[o + c] = (float) ((x[o + c] - mean) * rstd * weight[c] + bias[c]);
            }
        });
    }

    /** Enqueues the kernel {@code layernorm} of {@code kernels/transformer.cl}, one work-group per row. */
    public static void enqueue(TransformerKernels kernels, ClQueue queue, ClBuffer y, ClBuffer x, ClBuffer weight,
                               ClBuffer bias, int R, int C, float eps) {
        kernels.layernorm.arg(0, x).arg(1, weight).arg(2, bias).arg(3, y).arg(4, C).arg(5, eps);
        queue.launch(kernels.layernorm, new long[] {(long) R * kernels.lnGroup}, new long[] {kernels.lnGroup},
                new gpuinfer.cl.Cost(8.0 * R * C, 4.0 * (2.0 * R * C + 2 * C)));
    }
}
