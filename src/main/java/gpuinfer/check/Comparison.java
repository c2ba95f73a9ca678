package gpuinfer.check;

import java.util.List;
import java.util.Locale;

/**
 * The outcome of comparing one tensor against its reference.
 *
 * @param maxAbsError   largest |got - want| over finite reference entries
 * @param maxRelError   largest |got - want| / max(|want|, atol/rtol): entries smaller than atol/rtol, where the
 *                      absolute tolerance governs, are measured against that magnitude so that values near zero do
 *                      not swamp the figure
 * @param meanAbsError  mean of |got - want|
 * @param mismatches    entries outside the tolerance
 * @param worstIndex    flat index of the largest |got - want| relative to its allowance, or -1
 * @param firstMismatches up to ten (index, got, want) triples, in index order
 * @param rmsError      root mean square of got - want
 * @param cosine        cosine similarity of got and want (1 for identical directions; 1 when both are zero)
 * @param nmse          normalised mean squared error Σ(got − want)² / Σ want² (0 when both are zero): the measure of
 *                      a quantised tensor's error that llama.cpp's test-backend-ops uses
 */
public record Comparison(String name, long count, Tolerance tolerance, double maxAbsError, double maxRelError,
                         double meanAbsError, long mismatches, long worstIndex, List<Mismatch> firstMismatches,
                         double rmsError, double cosine, double nmse) {

    public record Mismatch(long index, float got, float want) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "[%d] got %.8g, want %.8g (diff %.3g)", index, got, want, (double) got - want);
        }
    }

    public boolean passed() {
        return mismatches == 0;
    }

    /** Flat index of the first element outside the tolerance, or -1. */
    public long firstMismatchIndex() {
        return firstMismatches.isEmpty() ? -1 : firstMismatches.get(0).index();
    }

    /** "out: max abs 2.4e-07, max rel 1.1e-05 (atol 2.0e-05, rtol 1.0e-04): PASS". */
    public String summary() {
        String verdict = passed() ? "PASS" : "FAIL, " + mismatches + " of " + count + " outside";
        return String.format(Locale.ROOT, "%s: max abs %.2e, max rel %.2e (%s): %s", name, maxAbsError, maxRelError,
                tolerance, verdict);
    }

    /** The summary plus the first mismatching entries, one per line. */
    public String report() {
        StringBuilder text = new StringBuilder(summary());
        for (Mismatch m : firstMismatches) {
            text.append("\n  ").append(m);
        }
        if (mismatches > firstMismatches.size()) {
            text.append("\n  ... and ").append(mismatches - firstMismatches.size()).append(" more");
        }
        return text.toString();
    }
}
