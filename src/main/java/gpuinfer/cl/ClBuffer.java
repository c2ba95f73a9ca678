package gpuinfer.cl;

import gpuinfer.util.Sizes;

/** A device buffer (cl_mem, read-write). Its label names the tensor it holds and its shape. */
public final class ClBuffer extends ClObject {
    private final ClContext context;
    private final long bytes;

    ClBuffer(ClContext context, Object handle, String label, long bytes) {
        super(context.cl, handle, Kind.BUFFER, label);
        this.context = context;
        this.bytes = bytes;
    }

    public long bytes() {
        return bytes;
    }

    public ClContext context() {
        return context;
    }

    @Override
    void beforeRelease() {
        context.bufferReleased(bytes);
    }

    @Override
    public String toString() {
        return super.toString() + " " + Sizes.bytes(bytes);
    }
}
