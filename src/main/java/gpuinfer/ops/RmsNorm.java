package gpuinfer.ops;

import java.util.stream.IntStream;

/** RMSNorm over the last dimension: {@code y[r] = x[r] / sqrt(mean(x[r]²) + eps) * weight}; x, y [R, C]. */
public final class RmsNorm {
    private RmsNorm() {
    }

    /** The CPU reference: the mean square in double. */
    public static void reference(float[] y, float[] x, float[] weight, int R, int C, float eps) {
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
}
