package gpuinfer.fuzz;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;

/**
 * Deterministic mutations of a valid file, driven by one seed (jqwik generates the seeds and reports the one that
 * fails): bit flips, interesting bytes, little-endian integers that look like lengths and offsets, truncation,
 * insertion and duplication of slices. Each input gets 1 to 4 mutations.
 */
final class Mutator {
    private static final long[] INTERESTING = {0, 1, -1, 7, 8, 127, 128, 255, 256, 65535, 65536, Integer.MAX_VALUE,
            Integer.MIN_VALUE, 1L << 31, 1L << 32, 1L << 40, Long.MAX_VALUE, Long.MIN_VALUE};

    private Mutator() {
    }

    static byte[] mutate(byte[] original, long seed) {
        Random random = new Random(seed);
        byte[] data = original.clone();
        int count = 1 + random.nextInt(4);
        for (int i = 0; i < count; i++) {
            data = once(data, random);
        }
        return data;
    }

    private static byte[] once(byte[] data, Random random) {
        int n = data.length;
        // mutations near the start hit headers and length fields more often
        int pos = n == 0 ? 0 : random.nextInt(4) == 0 ? random.nextInt(Math.min(n, 64)) : random.nextInt(n);
        switch (random.nextInt(8)) {
            case 0 -> {
                if (n > 0) {
                    data[pos] ^= (byte) (1 << random.nextInt(8));
                }
            }
            case 1 -> {
                if (n > 0) {
                    data[pos] = (byte) INTERESTING[random.nextInt(INTERESTING.length)];
                }
            }
            case 2 -> {
                int width = random.nextBoolean() ? 4 : 8;
                if (n >= width) {
                    int at = Math.min(pos, n - width);
                    ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
                    long value = random.nextBoolean() ? INTERESTING[random.nextInt(INTERESTING.length)] : n + random.nextInt(17) - 8;
                    if (width == 4) {
                        b.putInt(at, (int) value);
                    } else {
                        b.putLong(at, value);
                    }
                }
            }
            case 3 -> data = Arrays.copyOf(data, n == 0 ? 0 : random.nextInt(n));
            case 4 -> {
                byte[] insert = new byte[1 + random.nextInt(16)];
                random.nextBytes(insert);
                data = splice(data, pos, insert, 0);
            }
            case 5 -> {
                if (n > 1) {
                    int from = random.nextInt(n);
                    int len = 1 + random.nextInt(Math.min(64, n - from));
                    data = splice(data, pos, Arrays.copyOfRange(data, from, from + len), 0);
                }
            }
            case 6 -> {
                if (n > 1) {
                    int len = 1 + random.nextInt(Math.min(32, n - pos));
                    data = splice(data, pos, new byte[0], len);
                }
            }
            default -> {
                // a digit changed into another (JSON numbers, .npy shapes)
                for (int i = 0; i < n; i++) {
                    int at = (pos + i) % n;
                    if (data[at] >= '0' && data[at] <= '9') {
                        data[at] = (byte) ('0' + random.nextInt(10));
                        break;
                    }
                }
            }
        }
        return data;
    }

    private static byte[] splice(byte[] data, int at, byte[] insert, int remove) {
        int keepEnd = Math.min(data.length, at + remove);
        byte[] out = new byte[at + insert.length + (data.length - keepEnd)];
        System.arraycopy(data, 0, out, 0, at);
        System.arraycopy(insert, 0, out, at, insert.length);
        System.arraycopy(data, keepEnd, out, at + insert.length, data.length - keepEnd);
        return out;
    }
}
