package gpuinfer.check;

import java.util.Arrays;

/** Finds the first NaN or infinity of a tensor and says where it is, for --check-finite. */
public final class Finite {
    private Finite() {
    }

    /**
     * Throws {@link NonFiniteException} naming {@code tensor}, the element's index in {@code shape} and its value,
     * and {@code context} (e.g. "decode step 3"), at the first non-finite value.
     */
    public static void require(String tensor, int[] shape, float[] values, String context) {
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                int[] index = new int[shape.length];
                int rest = i;
                for (int d = shape.length - 1; d >= 0; d--) {
                    index[d] = rest % shape[d];
                    rest /= shape[d];
                }
                throw new NonFiniteException("--check-finite: " + tensor + " " + Arrays.toString(index) + " is " + values[i]
                        + " (the first non-finite value" + (context.isEmpty() ? "" : ", " + context) + "; shape "
                        + Arrays.toString(shape) + ")");
            }
        }
    }
}
