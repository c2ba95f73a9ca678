package gpuinfer.compare;

import gpuinfer.check.Comparison;

/**
 * One tensor compared between two executions.
 *
 * @param logits    for logits: agreement of the argmax per row and overlap of the top-k sets; else null
 * @param nmseLimit when the executions run different weight formats, the NMSE the tensor may have (the element
 *                  tolerance and the argmax agreement are then reported, not judged); null otherwise
 */
public record TensorReport(String name, int[] shape, Comparison comparison, LogitStats logits, Double nmseLimit) {
    public TensorReport(String name, int[] shape, Comparison comparison, LogitStats logits) {
        this(name, shape, comparison, logits, null);
    }

    /**
     * @param argmaxAgreement fraction of rows whose argmax is the same on both sides
     * @param topK            k of the overlap
     * @param topKOverlap     mean over rows of |top-k(a) ∩ top-k(b)| / k
     */
    public record LogitStats(int rows, double argmaxAgreement, int topK, double topKOverlap) {
    }

    public boolean passed() {
        if (nmseLimit != null) {
            return comparison.nmse() <= nmseLimit;
        }
        return comparison.passed() && (logits == null || logits.argmaxAgreement() == 1.0);
    }

    static LogitStats logitStats(float[] a, float[] b, int rows, int vocab, int k) {
        int agree = 0;
        double overlap = 0;
        for (int r = 0; r < rows; r++) {
            int[] ta = topK(a, r * vocab, vocab, k);
            int[] tb = topK(b, r * vocab, vocab, k);
            if (ta[0] == tb[0]) {
                agree++;
            }
            int common = 0;
            for (int x : ta) {
                for (int y : tb) {
                    if (x == y) {
                        common++;
                        break;
                    }
                }
            }
            overlap += (double) common / k;
        }
        return new LogitStats(rows, rows == 0 ? 1 : (double) agree / rows, k, rows == 0 ? 1 : overlap / rows);
    }

    /** Indices of the k largest values of {@code v[offset .. offset + n)}, largest first (first index on ties). */
    static int[] topK(float[] v, int offset, int n, int k) {
        int[] best = new int[Math.min(k, n)];
        java.util.Arrays.fill(best, -1);
        for (int i = 0; i < n; i++) {
            float x = v[offset + i];
            int pos = best.length;
            while (pos > 0 && (best[pos - 1] < 0 || v[offset + best[pos - 1]] < x)) {
                pos--;
            }
            if (pos < best.length) {
                System.arraycopy(best, pos, best, pos + 1, best.length - pos - 1);
                best[pos] = i;
            }
        }
        return best;
    }
}
