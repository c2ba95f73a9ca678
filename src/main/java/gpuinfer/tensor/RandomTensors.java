package gpuinfer.tensor;

import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Reproducible standard-normal tensors: the same (seed, stream, shape) gives the same values on any machine and
 * thread count, because each block of 65,536 values has its own generator derived from (seed, stream, block).
 */
public final class RandomTensors {
    private static final int BLOCK = 1 << 16;

    private RandomTensors() {
    }

    /** N(0, 1) values; {@code stream} separates tensors drawn from one seed (q = 0, k = 1, v = 2). */
    public static Tensor gaussian(long seed, int stream, int... shape) {
        Tensor tensor = Tensor.zeros(shape);
        float[] data = tensor.data();
        int blocks = (data.length + BLOCK - 1) / BLOCK;
        IntStream.range(0, blocks).parallel().forEach(block -> {
            SplittableRandom random = new SplittableRandom(mix(seed, stream, block));
            int end = Math.min(data.length, (block + 1) * BLOCK);
            for (int i = block * BLOCK; i < end; i++) {
                data[i] = (float) random.nextGaussian();
            }
        });
        return tensor;
    }

    private static long mix(long seed, int stream, int block) {
        long z = seed * 0x9E3779B97F4A7C15L + stream * 0xBF58476D1CE4E5B9L + block * 0x94D049BB133111EBL;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
