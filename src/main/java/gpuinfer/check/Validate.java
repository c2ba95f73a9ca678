package gpuinfer.check;

import java.util.ArrayList;
import java.util.List;

/** The one place where tensors are compared against references. */
public final class Validate {
    private static final int MISMATCHES_KEPT = 10;

    private Validate() {
    }

    /**
     * Compares {@code got} with {@code want} elementwise: an entry passes when {@code |got - want| <= atol +
     * rtol*|want|}. Non-finite reference entries must be matched exactly (a NaN by a NaN, an infinity by the same
     * infinity); they are left out of the error statistics.
     */
    public static Comparison compare(String name, float[] got, float[] want, Tolerance tolerance) {
        if (got.length != want.length) {
            throw new IllegalArgumentException(name + ": " + got.length + " values compared with " + want.length);
        }
        double maxAbs = 0;
        double maxRel = 0;
        double sumAbs = 0;
        double sumSquares = 0;
        double dot = 0;
        double normGot = 0;
        double normWant = 0;
        long mismatches = 0;
        long worstIndex = -1;
        double worstRatio = -1;
        List<Comparison.Mismatch> first = new ArrayList<>();
        // Below |want| = atol/rtol the absolute tolerance governs; relative errors of such entries are measured
        // against that magnitude, so that values near zero do not swamp the figure.
        double relativeFloor = tolerance.rtol() > 0 ? tolerance.atol() / tolerance.rtol() : Double.MIN_NORMAL;
        relativeFloor = Math.max(relativeFloor, Double.MIN_NORMAL);
        for (int i = 0; i < got.length; i++) {
            float g = got[i];
            float w = want[i];
            boolean ok;
            if (!Float.isFinite(w)) {
                ok = Float.compare(g, w) == 0 || (Float.isNaN(g) && Float.isNaN(w));
            } else if (!Float.isFinite(g)) {
                ok = false;
                maxAbs = Double.POSITIVE_INFINITY;
            } else {
                double diff = Math.abs((double) g - w);
                double allowance = tolerance.atol() + tolerance.rtol() * Math.abs(w);
                ok = diff <= allowance;
                maxAbs = Math.max(maxAbs, diff);
                sumAbs += diff;
                sumSquares += diff * diff;
                dot += (double) g * w;
                normGot += (double) g * g;
                normWant += (double) w * w;
                maxRel = Math.max(maxRel, diff / Math.max(Math.abs(w), relativeFloor));
                double ratio = allowance > 0 ? diff / allowance : (diff > 0 ? Double.POSITIVE_INFINITY : 0);
                if (ratio > worstRatio) {
                    worstRatio = ratio;
                    worstIndex = i;
                }
            }
            if (!ok) {
                mismatches++;
                if (first.size() < MISMATCHES_KEPT) {
                    first.add(new Comparison.Mismatch(i, g, w));
                }
            }
        }
        double cosine = normGot == 0 && normWant == 0 ? 1 : dot / Math.sqrt(normGot * normWant);
        double nmse = normWant > 0 ? sumSquares / normWant : (sumSquares == 0 ? 0 : Double.POSITIVE_INFINITY);
        return new Comparison(name, got.length, tolerance, maxAbs, maxRel, got.length == 0 ? 0 : sumAbs / got.length,
                mismatches, worstIndex, first, got.length == 0 ? 0 : Math.sqrt(sumSquares / got.length), cosine, nmse);
    }
}
