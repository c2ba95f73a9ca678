package gpuinfer.util;

import gpuinfer.GpuInferException;

/**
 * Ctrl-C and kill (SIGINT, SIGTERM) during a command: the JVM's shutdown hook {@link #request() requests} an
 * interruption, the running command notices it at its next kernel launch or generation step and unwinds through
 * its try-with-resources (releasing every OpenCL object), and the hook waits for that before the process ends.
 * Files being written are removed, never left looking complete ({@link AtomicFiles}).
 */
public final class Interruption {
    private static volatile boolean requested;

    private Interruption() {
    }

    /** Thrown at the next check after an interruption was requested. */
    public static final class Interrupted extends GpuInferException {
        public Interrupted() {
            super("interrupted");
        }
    }

    public static void request() {
        requested = true;
    }

    public static boolean requested() {
        return requested;
    }

    /** Throws {@link Interrupted} if an interruption was requested. Cheap: one volatile read. */
    public static void check() {
        if (requested) {
            throw new Interrupted();
        }
    }
}
