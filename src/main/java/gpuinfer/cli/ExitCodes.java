package gpuinfer.cli;

/** Exit statuses of every gpu-infer command. */
public final class ExitCodes {
    private ExitCodes() {
    }

    /** Success; with --check, every tensor within tolerance. */
    public static final int OK = 0;
    /** --check (or compare) found a tensor outside its tolerance, or --check-finite a NaN or infinity. */
    public static final int MISMATCH = 1;
    /** Bad usage or bad input: an unknown option or device, a malformed file, a shape that does not fit. */
    public static final int USAGE = 2;
    /** The OpenCL runtime or device failed: no platform, a failed build, out of device memory. */
    public static final int DEVICE_FAILURE = 3;
    /** A bug in gpu-infer: the stack trace is printed; please report it. */
    public static final int INTERNAL_ERROR = 70;
    /** Ctrl-C or kill: the command stopped, released its OpenCL objects and removed partial output files. */
    public static final int INTERRUPTED = 130;
}
