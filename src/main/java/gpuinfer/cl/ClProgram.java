package gpuinfer.cl;

/**
 * A built program, owned by the {@link ClContext} that built it (the context releases it). Kernels made from it
 * belong to the caller.
 */
public final class ClProgram extends ClObject {
    private final ClContext context;
    private final KernelSource source;
    private final String options;

    ClProgram(ClContext context, Object handle, KernelSource source, String options) {
        super(context.cl, handle, Kind.PROGRAM, source.name() + (options.isEmpty() ? "" : " " + options));
        this.context = context;
        this.source = source;
        this.options = options;
    }

    public KernelSource source() {
        return source;
    }

    /** The build options, e.g. "-DTILE=16": recorded with every measurement of its kernels. */
    public String options() {
        return options;
    }

    /** A kernel of this program; the caller closes it. */
    public ClKernel kernel(String name) {
        checkOpen();
        Object kernelHandle;
        try {
            kernelHandle = cl.createKernel(handle, name);
        } catch (ClException e) {
            throw new ClException(e.status(), "Kernel '" + name + "' not found in program " + source.name() + ": "
                    + e.getMessage());
        }
        return new ClKernel(this, kernelHandle, name);
    }

    ClContext context() {
        return context;
    }
}
