package gpuinfer.selftest;

import java.util.Locale;

/**
 * What the device self-test found for one kernel variant: its results on small awkward shapes against the CPU
 * reference.
 *
 * @param variant     the variant's name as {@link gpuinfer.variants.Variants} gives it ("linear_rows/q8_0",
 *                    "flash_tiled"), or the op's kernel for an op with a single kernel ("rmsnorm")
 * @param point       the decision point that chooses between this variant and others ("flash prefill"), or
 *                    {@link DeviceSelfTest#NO_ALTERNATIVE}
 * @param status      passed, failed (wrong on this driver, or it failed to build or run), or not run (the op ran
 *                    another variant: the forced one does not fit this device or is not in this build)
 * @param shapes      the shapes it ran, e.g. "R=1 N=65 K=33; R=3 N=63 K=257"
 * @param maxAbsError the largest |device − reference| over every output of every shape (NaN when nothing ran)
 * @param nmse        Σ(device − reference)² / Σ reference² over every output (NaN when nothing ran)
 * @param tolerance   the tolerance every output was held to (one per variant and format)
 * @param millis      wall time of the whole check: kernel builds, uploads, runs and the reference
 * @param detail      why it failed or did not run (the first mismatching values, or the error), else ""
 */
public record VariantResult(String variant, String point, Status status, String shapes, double maxAbsError,
                            double nmse, String tolerance, double millis, String detail) {
    /** The outcome of one variant's check. */
    public enum Status {
        PASSED, FAILED, NOT_RUN;

        /** "passed", "FAILED", "not run": failures stand out in a table. */
        public String label() {
            return switch (this) {
                case PASSED -> "passed";
                case FAILED -> "FAILED";
                case NOT_RUN -> "not run";
            };
        }

        /** Parses {@link #name()} (as the cache stores it). */
        static Status parse(String text) {
            return valueOf(text.trim().toUpperCase(Locale.ROOT).replace(' ', '_'));
        }
    }

    public boolean passed() {
        return status == Status.PASSED;
    }

    public boolean failed() {
        return status == Status.FAILED;
    }

    /** Whether another variant could run in this one's place (false for the ops with a single kernel). */
    public boolean hasAlternative() {
        return !point.equals(DeviceSelfTest.NO_ALTERNATIVE);
    }

    /** "max abs error 1.2e+00, NMSE 3.4e-01": the measured error, for warnings. */
    public String errorSummary() {
        return String.format(Locale.ROOT, "max abs error %.2e, NMSE %.2e", maxAbsError, nmse);
    }
}
