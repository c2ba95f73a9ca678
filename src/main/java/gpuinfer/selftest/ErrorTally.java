package gpuinfer.selftest;

import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;

import java.util.ArrayList;
import java.util.List;

/**
 * The errors of one variant over all its shapes: every output compared with {@link Validate} against its reference
 * and tolerance; the largest absolute error, the NMSE over all outputs together, and the first failing comparison.
 */
final class ErrorTally {
    private final String variant;
    private final String point;
    private final Tolerance tolerance;
    private final long start = System.nanoTime();
    private final List<String> shapes = new ArrayList<>();
    private double maxAbsError;
    private double squaredError;
    private double squaredReference;
    private long compared;
    private Comparison firstFailure;
    private String notRun;

    ErrorTally(String variant, String point, Tolerance tolerance) {
        this.variant = variant;
        this.point = point;
        this.tolerance = tolerance;
    }

    /** Records a shape this variant runs ("R=1 N=65 K=33"). */
    void shape(String label) {
        shapes.add(label);
    }

    /** Compares one output of the current shape with its reference, under this variant's tolerance. */
    void compare(String output, float[] got, float[] want) {
        compare(output, got, want, tolerance);
    }

    /** As {@link #compare(String, float[], float[])} with another tolerance (e.g. exact for a copy). */
    void compare(String output, float[] got, float[] want, Tolerance held) {
        Comparison c = Validate.compare(variant + " " + shapes.get(shapes.size() - 1) + " " + output, got, want, held);
        for (int i = 0; i < got.length; i++) {
            if (Double.isFinite(want[i])) {
                double diff = (double) got[i] - want[i];
                // a NaN or infinity where the reference is finite: counted as an infinite error
                squaredError += Double.isFinite(diff) ? diff * diff : Double.POSITIVE_INFINITY;
                squaredReference += (double) want[i] * want[i];
                maxAbsError = Math.max(maxAbsError, Double.isFinite(diff) ? Math.abs(diff) : Double.POSITIVE_INFINITY);
            }
        }
        compared += got.length;
        if (!c.passed() && firstFailure == null) {
            firstFailure = c;
        }
    }

    /** The op ran another variant than the forced one: nothing this variant computed is compared. */
    void notRun(String why) {
        if (notRun == null) {
            notRun = why;
        }
    }

    boolean stopped() {
        return notRun != null;
    }

    /** The outcome; {@code failure} (a build or launch error) when the check could not finish, else null. */
    VariantResult result(RuntimeException failure) {
        double millis = (System.nanoTime() - start) / 1e6;
        String shapeList = String.join("; ", shapes);
        double nmse = compared == 0 ? Double.NaN : squaredReference > 0 ? squaredError / squaredReference
                : squaredError == 0 ? 0 : Double.POSITIVE_INFINITY;
        double maxAbs = compared == 0 ? Double.NaN : maxAbsError;
        if (failure != null) {
            return new VariantResult(variant, point, VariantResult.Status.FAILED, shapeList, maxAbs, nmse,
                    tolerance.toString(), millis, "could not run: " + oneLine(failure));
        }
        if (notRun != null) {
            return new VariantResult(variant, point, VariantResult.Status.NOT_RUN, shapeList, Double.NaN, Double.NaN,
                    tolerance.toString(), millis, notRun);
        }
        if (firstFailure != null) {
            return new VariantResult(variant, point, VariantResult.Status.FAILED, shapeList, maxAbs, nmse,
                    tolerance.toString(), millis, describe(firstFailure));
        }
        return new VariantResult(variant, point, VariantResult.Status.PASSED, shapeList, maxAbs, nmse,
                tolerance.toString(), millis, "");
    }

    /** The failing comparison's summary and its first three mismatching values, on one line. */
    private static String describe(Comparison failure) {
        StringBuilder text = new StringBuilder(failure.summary());
        failure.firstMismatches().stream().limit(3).forEach(m -> text.append("; ").append(m));
        return text.toString();
    }

    private static String oneLine(RuntimeException e) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        String first = message.lines().findFirst().orElse("").trim();
        return first.length() > 300 ? first.substring(0, 300) + " ..." : first;
    }
}
