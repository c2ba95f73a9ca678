package gpuinfer.cl;

/**
 * A kernel with its arguments. Setters return the kernel so that a launch reads as one statement. Not thread-safe
 * (arguments are state): give each thread its own kernel.
 */
public final class ClKernel extends ClObject {
    private final ClProgram program;
    private final String name;
    private final java.util.Map<Integer, Long> localArgs = new java.util.HashMap<>();
    private final Limits limits;

    /**
     * What the compiled kernel allows on its device, read once when the kernel is created (clGetKernelWorkGroupInfo).
     *
     * @param maxWorkGroupSize               CL_KERNEL_WORK_GROUP_SIZE: the most work-items in one group; below the
     *                                       device's maximum when the kernel needs many registers or much private
     *                                       memory
     * @param preferredWorkGroupSizeMultiple CL_KERNEL_PREFERRED_WORK_GROUP_SIZE_MULTIPLE: work-group sizes run best as
     *                                       multiples of this (the warp or SIMD width)
     * @param privateMemBytes                CL_KERNEL_PRIVATE_MEM_SIZE: private memory per work-item
     * @param localMemBytes                  CL_KERNEL_LOCAL_MEM_SIZE before any argument is set: the kernel's own
     *                                       {@code __local} declarations
     * @param requiredWorkGroupSize          CL_KERNEL_COMPILE_WORK_GROUP_SIZE: the {@code reqd_work_group_size}
     *                                       attribute's three sizes, or three zeros when the kernel has none
     */
    public record Limits(long maxWorkGroupSize, long preferredWorkGroupSizeMultiple, long privateMemBytes,
                         long localMemBytes, long[] requiredWorkGroupSize) {
        public Limits {
            requiredWorkGroupSize = requiredWorkGroupSize.clone();
        }

        @Override
        public long[] requiredWorkGroupSize() {
            return requiredWorkGroupSize.clone();
        }

        /** Whether the kernel was compiled with {@code reqd_work_group_size}. */
        public boolean hasRequiredWorkGroupSize() {
            return requiredWorkGroupSize[0] != 0;
        }

        @Override
        public String toString() {
            return "work-group at most " + maxWorkGroupSize + " (preferred multiple " + preferredWorkGroupSizeMultiple
                    + ")" + (hasRequiredWorkGroupSize() ? ", required " + java.util.Arrays.toString(requiredWorkGroupSize) : "")
                    + ", private " + privateMemBytes + " B/item, local " + localMemBytes + " B";
        }
    }

    ClKernel(ClProgram program, Object handle, String name) {
        super(program.cl, handle, Kind.KERNEL, name);
        this.program = program;
        this.name = name;
        // Queried before any __local argument is set: the spec counts arguments already set in the local figure.
        Object device = program.context().device().handle;
        Limits read;
        try {
            read = new Limits(cl.kernelWorkGroupSize(handle, device), cl.kernelPreferredWorkGroupSizeMultiple(handle, device),
                    cl.kernelPrivateMemSize(handle, device), cl.kernelLocalMemSize(handle, device),
                    cl.kernelCompileWorkGroupSize(handle, device));
        } catch (RuntimeException e) {
            close();
            throw e;
        }
        this.limits = read;
    }

    /** What this kernel allows on its device (read when it was created). */
    public Limits limits() {
        return limits;
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
        return limits.localMemBytes() + localArgs.values().stream().mapToLong(Long::longValue).sum();
    }

    /** The largest work-group this kernel can run with on its device (CL_KERNEL_WORK_GROUP_SIZE). */
    public long maxWorkGroupSize() {
        return limits.maxWorkGroupSize();
    }

    /**
     * Whether a launch with work-groups of {@code localSize} (one size per dimension) is within this kernel's limits
     * on its device (work-items per group and per dimension, a required group size, local memory), so that a caller
     * can pick a smaller variant instead of failing. Null (the driver chooses) always
     * fits.
     */
    public boolean fits(long... localSize) {
        return whyNot(localSize) == null;
    }

    /**
     * Why a launch with work-groups of {@code localSize} would be refused on this device (see {@link #fits}), or
     * null when it fits: the message names the limit and its value, for a warning when a caller falls back to
     * another variant.
     */
    public String whyNot(long... localSize) {
        if (localSize == null) {
            return null;
        }
        long items = 1;
        for (long l : localSize) {
            if (l <= 0) {
                return "a work-group size must be positive";
            }
            items = Math.multiplyExact(items, l);
        }
        if (items > limits.maxWorkGroupSize()) {
            return "the kernel allows at most " + limits.maxWorkGroupSize() + " work-items per group on this device "
                    + "(CL_KERNEL_WORK_GROUP_SIZE; the device's own maximum is "
                    + program.context().device().info().maxWorkGroupSize() + ")";
        }
        long deviceLocal = program.context().device().info().localMemBytes();
        if (deviceLocal > 0 && localMemoryBytes() > deviceLocal) {
            return "the kernel needs " + localMemoryBytes() + " bytes of local memory (CL_KERNEL_LOCAL_MEM_SIZE and "
                    + "__local arguments); the device has " + deviceLocal;
        }
        long[] perDimension = program.context().device().info().maxWorkItemSizes();
        for (int i = 0; i < localSize.length && i < perDimension.length; i++) {
            if (localSize[i] > perDimension[i]) {
                return "the device allows at most " + java.util.Arrays.toString(perDimension)
                        + " work-items per dimension (CL_DEVICE_MAX_WORK_ITEM_SIZES)";
            }
        }
        if (limits.hasRequiredWorkGroupSize()) {
            long[] required = limits.requiredWorkGroupSize();
            for (int i = 0; i < 3; i++) {
                long asked = i < localSize.length ? localSize[i] : 1;
                if (asked != required[i]) {
                    return "the kernel was compiled with reqd_work_group_size" + java.util.Arrays.toString(required)
                            + " and runs only with that work-group";
                }
            }
        }
        return null;
    }
}
