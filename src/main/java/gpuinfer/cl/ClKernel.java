package gpuinfer.cl;

/**
 * A kernel with its arguments. Setters return the kernel so that a launch reads as one statement. Not thread-safe
 * (arguments are state): give each thread its own kernel.
 */
public final class ClKernel extends ClObject {
    private final ClProgram program;
    private final String name;
    private final java.util.Map<Integer, Long> localArgs = new java.util.HashMap<>();
    private final long staticLocalBytes;

    ClKernel(ClProgram program, Object handle, String name) {
        super(program.cl, handle, Kind.KERNEL, name);
        this.program = program;
        this.name = name;
        // Queried before any __local argument is set: the spec counts arguments already set in this figure.
        long declared;
        try {
            declared = cl.kernelLocalMemSize(handle, program.context().device().handle);
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        this.staticLocalBytes = declared;
    }

    public String name() {
        return name;
    }

    public ClProgram program() {
        return program;
    }

    /**
     * A buffer argument; null binds no buffer (a NULL pointer), for an argument the kernel (or this variant of it)
     * never reads.
     */
    public ClKernel arg(int index, ClBuffer buffer) {
        cl.setArgBuffer(handle, index, buffer == null ? null : buffer.handle);
        localArgs.remove(index);
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
        localArgs.put(index, bytes);
        return this;
    }

    /**
     * Local memory a launch needs: the kernel's own declarations plus its {@code __local} arguments. Checked before
     * every launch, because some drivers abort the process (PoCL 3.1 fails an assertion) instead of returning
     * CL_OUT_OF_RESOURCES when it exceeds the device's local memory.
     */
    public long localMemoryBytes() {
        return staticLocalBytes + localArgs.values().stream().mapToLong(Long::longValue).sum();
    }

    /** The largest work-group this kernel can run with on its device (CL_KERNEL_WORK_GROUP_SIZE). */
    public long maxWorkGroupSize() {
        return cl.kernelWorkGroupSize(handle, program.context().device().handle);
    }
}
