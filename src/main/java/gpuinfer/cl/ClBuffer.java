package gpuinfer.cl;

import gpuinfer.util.Sizes;

/** A device buffer (cl_mem, read-write). Its label names the tensor it holds and its shape. */
public final class ClBuffer extends ClObject {
    private final ClContext context;
    private final long bytes;
    /** Host memory the buffer uses (CL_MEM_USE_HOST_PTR), kept reachable while the buffer exists; else null. */
    private final java.nio.ByteBuffer host;

    ClBuffer(ClContext context, Object handle, String label, long bytes) {
        this(context, handle, label, bytes, null);
    }

    ClBuffer(ClContext context, Object handle, String label, long bytes, java.nio.ByteBuffer host) {
        super(context.cl, handle, Kind.BUFFER, label);
        this.context = context;
        this.bytes = bytes;
        this.host = host;
    }

    /** Whether the device reads this buffer from host memory the caller provided (no copy was made). */
    public boolean usesHostMemory() {
        return host != null;
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
