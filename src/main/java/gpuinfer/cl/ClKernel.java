package gpuinfer.cl;

/**
 * A kernel with its arguments. Setters return the kernel so that a launch reads as one statement. Not thread-safe
 * (arguments are state): give each thread its own kernel.
 */
public final class ClKernel extends ClObject {
    private final ClProgram program;
    private final String name;

    ClKernel(ClProgram program, Object handle, String name) {
        super(program.cl, handle, Kind.KERNEL, name);
        this.program = program;
        this.name = name;
    }

    public String name() {
        return name;
    }

    public ClProgram program() {
        return program;
    }

    public ClKernel arg(int index, ClBuffer buffer) {
        cl.setArgBuffer(handle, index, buffer.handle);
        return this;
    }

    public ClKernel arg(int index, int value) {
        cl.setArgInt(handle, index, value);
        return this;
    }

    public ClKernel arg(int index, long value) {
        cl.setArgLong(handle, index, value);
        return this;
    }

    public ClKernel arg(int index, float value) {
        cl.setArgFloat(handle, index, value);
        return this;
    }

    /** A {@code __local} scratch argument of {@code bytes} bytes. */
    public ClKernel argLocal(int index, long bytes) {
        cl.setArgLocal(handle, index, bytes);
        return this;
    }

    /** The largest work-group this kernel can run with on its device (CL_KERNEL_WORK_GROUP_SIZE). */
    public long maxWorkGroupSize() {
        return cl.kernelWorkGroupSize(handle, program.context().device().handle);
    }
}
