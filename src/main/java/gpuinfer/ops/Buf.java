package gpuinfer.ops;

/** A float32 tensor owned by a {@link Backend}: host memory for the CPU reference, a device buffer for OpenCL. */
public interface Buf {
    /** What it holds, with its shape, e.g. "h.3.qkv [T, 3C]". */
    String name();

    /** Number of float32 values. */
    long size();
}
