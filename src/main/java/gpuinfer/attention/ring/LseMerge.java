package gpuinfer.attention.ring;

/**
 * Merges a partial attention result (over one key range) into a running one (over others) by their log-sum-exp:
 * with m = logsumexp(lse, partLse), out = exp(lse - m)·out + exp(partLse - m)·partOut and lse = m. A part whose lse
 * is negative infinity saw no key and contributes nothing; a row whose every part saw no key stays out 0, lse
 * negative infinity. The device never runs it as a kernel of its own: the flash kernels continue their online
 * softmax from a running result ({@code FlashAttention.enqueueAccumulate}), and this is the reference they are
 * checked against, and the CPU backend's way to accumulate.
 */
public final class LseMerge {
    private LseMerge() {
    }

    /**
     * The CPU reference, in double: merges {@code partOut}/{@code partLse} into {@code out}/{@code lse} in place.
     *
     * @param out     [rows, d]
     * @param lse     [rows]
     * @param partOut [rows, d]
     * @param partLse [rows]
     */
    public static void reference(float[] out, float[] lse, float[] partOut, float[] partLse, int d) {
        reference(out, lse, partOut, partLse, lse.length, d);
    }

    /** As above, for the first {@code rows} rows of each array. */
    public static void reference(float[] out, float[] lse, float[] partOut, float[] partLse, int rows, int d) {
        for (int r = 0; r < rows; r++) {
            double a = lse[r];
            double b = partLse[r];
            if (b == Double.NEGATIVE_INFINITY) {
                continue;
            }
            if (a == Double.NEGATIVE_INFINITY) {
                System.arraycopy(partOut, r * d, out, r * d, d);
                lse[r] = partLse[r];
                continue;
            }
            double m = Math.max(a, b);
            double wa = Math.exp(a - m);
            double wb = Math.exp(b - m);
            double sum = wa + wb;
            for (int i = 0; i < d; i++) {
                out[r * d + i] = (float) ((wa * out[r * d + i] + wb * partOut[r * d + i]) / sum);
            }
            lse[r] = (float) (m + Math.log(sum));
        }
    }
}
