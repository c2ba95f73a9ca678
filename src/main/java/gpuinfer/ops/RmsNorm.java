package gpuinfer.ops;

import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClQueue;

import java.util.stream.IntStream;

/** RMSNorm over the last dimension: {@code y[r] = x[r] / sqrt(mean(x[r]²) + eps) * weight}; x, y [R, C]. */
public final class RmsNorm {
    private RmsNorm() {
    }

    /** The CPU reference: the mean square in double. */
    public static void reference(float[] y, float[] x, float[] weight, int R, int C, float eps) {
        check(R, C, eps);
        IntStream.range(0, R).parallel().forEach(r -> {
            int o = r * C;
            double squares = 0;
            for (int c = 0; c < C; c++) {
                squares += (double) x[o + c] * x[o + c];
            }
            double rms = 1 / Math.sqrt(squares / C + eps);
            for (int c = 0; c < C; c++) {
                y[o + c] = (float) (x[o + c] * rms * weight[c]);
            }
        });
    }

    /** Enqueues the kernel {@code rmsnorm} of {@code kernels/transformer.cl}, one work-group per row. */
    public static void enqueue(TransformerKernels kernels, ClQueue queue, ClBuffer y, ClBuffer x, ClBuffer weight,
                               int R, int C, float eps) {
        check(R, C, eps);
        BufferChecks.holdsFloats("rmsnorm", "x [R, C]", x, (long) R * C);
        BufferChecks.holdsFloats("rmsnorm", "y [R, C]", y, (long) R * C);
        BufferChecks.holdsFloats("rmsnorm", "weight [C]", weight, C);
        kernels.rmsnorm.arg(0, x).arg(1, weight).arg(2, y).arg(3, C).arg(4, eps);
        queue.launch(kernels.rmsnorm, new long[] {(long) R * kernels.lnGroup}, new long[] {kernels.lnGroup},
                new gpuinfer.cl.Cost(4.0 * R * C, 4.0 * (2.0 * R * C + C)));
    }

    private static void check(int R, int C, float eps) {
        BufferChecks.positive("rmsnorm", "R, C", R, C);
        if (!(eps >= 0) || Float.isInfinite(eps)) {
            throw new IllegalArgumentException("rmsnorm: eps must be finite and >= 0 (rms_norm_eps, e.g. 1e-5), not " + eps);
        }
    }
}
