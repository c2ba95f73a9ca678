package gpuinfer.attention.ring;

import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClKernel;
import gpuinfer.cl.ClQueue;
import gpuinfer.cl.Cost;
import gpuinfer.cl.KernelSource;

/**
 * Merges a partial attention result (over one key range) into a running one (over others) by their log-sum-exp
 * ({@code kernels/attention_merge.cl}, kernel {@code lse_merge}): with m = logsumexp(lse, partLse),
 * out = exp(lse - m)·out + exp(partLse - m)·partOut and lse = m. A part whose lse is negative infinity saw no key and
 * contributes nothing; a row whose every part saw no key stays out 0, lse negative infinity. Close to release the
 * kernel (the program belongs to the context).
 */
public final class LseMerge implements AutoCloseable {
    private static final int WG = 64;
    private final ClKernel kernel;

    public LseMerge(ClContext context) {
        kernel = context.program(KernelSource.load("attention_merge.cl"), "-DWG=" + WG).kernel("lse_merge");
    }

    /**
     * Enqueues the merge of rows × d values in place.
     *
     * @param out     [rows, d] running output
     * @param lse     [rows] running log-sum-exp
     * @param partOut [rows, d]
     * @param partLse [rows]
     */
    public void enqueue(ClQueue queue, ClBuffer out, ClBuffer lse, ClBuffer partOut, ClBuffer partLse, int rows, int d) {
        kernel.arg(0, out).arg(1, lse).arg(2, partOut).arg(3, partLse).arg(4, rows).arg(5, d);
        long global = (rows + WG - 1L) / WG * WG;
        queue.launch(kernel, new long[] {global}, new long[] {WG},
                new Cost(3.0 * rows * d, 4.0 * rows * (3.0 * d + 3)));
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

    @Override
    public void close() {
        kernel.close();
    }
}
