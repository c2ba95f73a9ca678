package gpuinfer.ops;

import gpuinfer.weights.WeightType;

/**
 * A tensor owned by a {@link Backend}: host memory for the CPU reference, a device buffer for OpenCL. Activations
 * and caches are float32; weights keep the format they were uploaded in ({@link #type()}).
 */
public interface Buf {
    /** What it holds, with its shape, e.g. "h.3.qkv [T, 3C]". */
    String name();

    /** Number of values. */
    long size();

    /** The stored format of the values: F32 for activations, the weight's own format for uploaded weights. */
    default WeightType type() {
        return WeightType.F32;
    }
}
