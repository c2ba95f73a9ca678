package gpuinfer.ops;

import gpuinfer.weights.WeightTensor;

/**
 * Rows of a weight matrix as float32, whatever format they are stored in: the CPU references read weights through
 * this, so that a quantised weight is dequantised one row at a time (exactly, as the kernels do) and never as a
 * whole.
 */
@FunctionalInterface
public interface WeightRows {
    /** Row {@code index} into {@code dst[0 .. cols)}. */
    void row(long index, float[] dst);

    /** Rows of a float32 array [rows, cols]. */
    static WeightRows of(float[] values, int cols) {
        return (index, dst) -> System.arraycopy(values, Math.toIntExact(index * cols), dst, 0, cols);
    }

    /** Rows of a stored tensor, dequantised. */
    static WeightRows of(WeightTensor tensor) {
        return (index, dst) -> tensor.floatRows(index, 1, dst, 0);
    }
}
