package gpuinfer.util;

/** Undoing a constructor that failed after it had already made some of its resources. */
public final class Closing {
    private Closing() {
    }

    /**
     * Closes every resource that was made (nulls are the ones that were not), last made first, and returns
     * {@code failure} for the caller to rethrow. A failure while closing is added to it as suppressed, so the first
     * cause is never lost. Use: {@code catch (RuntimeException e) { throw Closing.afterFailure(e, a, b); }}.
     */
    public static RuntimeException afterFailure(RuntimeException failure, AutoCloseable... made) {
        for (int i = made.length - 1; i >= 0; i--) {
            if (made[i] != null) {
                try {
                    made[i].close();
                } catch (Exception e) {
                    failure.addSuppressed(e);
                }
            }
        }
        return failure;
    }
}
