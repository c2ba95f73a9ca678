package gpuinfer.cl;

import gpuinfer.GpuInferException;

/** An OpenCL call that failed: carries the status code and says which call, on what, returned it. */
public class ClException extends GpuInferException {
    private final int status;

    public ClException(int status, String message) {
        super(message);
        this.status = status;
    }

    /** The OpenCL status code, e.g. -5 for CL_OUT_OF_RESOURCES. */
    public int status() {
        return status;
    }

    /** Throws when {@code status} is not CL_SUCCESS; {@code what} names the call and its object. */
    public static void check(int status, String what) {
        if (status != 0) {
            throw forStatus(status, what);
        }
    }

    public static ClException forStatus(int status, String what) {
        return new ClException(status, what + " failed: " + ClErrors.name(status) + hint(status));
    }

    private static String hint(int status) {
        return switch (status) {
            case -4, -61 -> ". The device could not allocate the memory: use a smaller shape, a memory-lean --impl "
                    + "(flash), or another --device";
            case -5 -> ". The device ran out of resources (often registers or local memory for this work-group "
                    + "size, or a kernel that faulted)";
            case -6 -> ". The host ran out of memory";
            default -> "";
        };
    }
}
