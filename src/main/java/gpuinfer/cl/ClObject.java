package gpuinfer.cl;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An OpenCL object owned by gpu-infer: registered in {@link LiveObjects} when created, released exactly once by
 * {@link #close()} (further calls do nothing). Errors while releasing are reported on stderr and not thrown, so that
 * cleanup never hides the error that caused it.
 */
public abstract class ClObject implements AutoCloseable {
    /** The kinds of OpenCL object gpu-infer creates. */
    public enum Kind { CONTEXT, QUEUE, BUFFER, PROGRAM, KERNEL, EVENT, SUB_DEVICE }

    final ClNative cl;
    final Object handle;
    private final Kind kind;
    private final String label;
    private final AtomicBoolean closed = new AtomicBoolean();

    ClObject(ClNative cl, Object handle, Kind kind, String label) {
        this.cl = cl;
        this.handle = handle;
        this.kind = kind;
        this.label = label;
        LiveObjects.add(this);
    }

    public final Kind kind() {
        return kind;
    }

    /** What the object is for, e.g. a buffer's tensor name and shape. */
    public final String label() {
        return label;
    }

    public final boolean isClosed() {
        return closed.get();
    }

    final void checkOpen() {
        if (closed.get()) {
            throw new IllegalStateException(kind + " '" + label + "' was used after it was closed");
        }
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            beforeRelease();
            cl.release(kind, handle);
        } catch (RuntimeException e) {
            System.err.println("warning: releasing OpenCL " + kind + " '" + label + "' failed: " + e.getMessage());
        } finally {
            LiveObjects.remove(this);
        }
    }

    /** Hook for owners that must release what they own first. */
    void beforeRelease() {
    }

    @Override
    public String toString() {
        return kind + " " + label;
    }
}
