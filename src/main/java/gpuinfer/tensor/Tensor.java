package gpuinfer.tensor;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * A host tensor: float32 values in row-major (C) order and a shape. The data array is shared, not copied.
 */
public final class Tensor {
    private final float[] data;
    private final int[] shape;

    public Tensor(float[] data, int... shape) {
        long n = elementCount(shape);
        if (n != data.length) {
            throw new IllegalArgumentException("shape " + describe(shape) + " holds " + n + " values, data has " + data.length);
        }
        this.data = data;
        this.shape = shape.clone();
    }

    public static Tensor zeros(int... shape) {
        long n = elementCount(shape);
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("shape " + describe(shape) + " has " + n + " values, more than a Java array holds");
        }
        return new Tensor(new float[(int) n], shape);
    }

    public float[] data() {
        return data;
    }

    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public int dim(int axis) {
        return shape[axis];
    }

    public int size() {
        return data.length;
    }

    /** "[2, 8, 77, 64]". */
    public String shapeString() {
        return describe(shape);
    }

    public static String describe(int[] shape) {
        return Arrays.stream(shape).mapToObj(Integer::toString).collect(Collectors.joining(", ", "[", "]"));
    }

    /** The number of values a shape holds (1 for a scalar); -1 if any dimension is negative. */
    public static long elementCount(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                return -1;
            }
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    @Override
    public String toString() {
        return "Tensor" + shapeString();
    }
}
