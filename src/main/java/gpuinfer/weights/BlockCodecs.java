package gpuinfer.weights;

import gpuinfer.tensor.Half;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Conversion of whole blocks between float32 and each {@link WeightType}, with absolute indexing into
 * little-endian buffers. The quantisers follow ggml's reference ("_ref") quantisers step for step in float32
 * arithmetic, so that the blocks they write are bit-identical to llama.cpp's on the same input (tested against
 * files made by llama-quantize); the dequantisers give exactly the values ggml's do for the 32-value formats (the
 * products d·q are exact in float32), and for the K-quants the same float32 expressions in the same order.
 */
final class BlockCodecs {
    private BlockCodecs() {
    }

    static void dequantize(WeightType type, ByteBuffer buffer, int at, float[] dst, int to, int count) {
        checkWhole(type, count);
        ByteBuffer src = littleEndian(buffer);
        switch (type) {
            case F32 -> {
                for (int i = 0; i < count; i++) {
                    dst[to + i] = src.getFloat(at + 4 * i);
                }
            }
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    dst[to + i] = Half.toFloat(src.getShort(at + 2 * i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    dst[to + i] = Half.bfloat16ToFloat(src.getShort(at + 2 * i));
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < count / 32; b++) {
                    int block = at + 34 * b;
                    float d = Half.toFloat(src.getShort(block));
                    for (int j = 0; j < 32; j++) {
                        dst[to + 32 * b + j] = d * src.get(block + 2 + j);
                    }
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < count / 32; b++) {
                    int block = at + 18 * b;
                    float d = Half.toFloat(src.getShort(block));
                    for (int j = 0; j < 16; j++) {
                        int q = src.get(block + 2 + j) & 0xff;
                        dst[to + 32 * b + j] = d * ((q & 0x0f) - 8);
                        dst[to + 32 * b + j + 16] = d * ((q >>> 4) - 8);
                    }
                }
            }
            case Q4_K, Q5_K, Q6_K -> KQuants.dequantize(type, src, at, dst, to, count);
        }
    }

    static void quantize(WeightType type, float[] src, int from, int count, ByteBuffer buffer, int at) {
        checkWhole(type, count);
        ByteBuffer dst = littleEndian(buffer);
        switch (type) {
            case F32 -> {
                for (int i = 0; i < count; i++) {
                    dst.putFloat(at + 4 * i, src[from + i]);
                }
            }
            case F16 -> {
                for (int i = 0; i < count; i++) {
                    dst.putShort(at + 2 * i, Half.fromFloat(src[from + i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < count; i++) {
                    dst.putShort(at + 2 * i, Half.toBfloat16(src[from + i]));
                }
            }
            case Q8_0 -> {
                for (int b = 0; b < count / 32; b++) {
                    quantizeQ8_0Block(src, from + 32 * b, dst, at + 34 * b);
                }
            }
            case Q4_0 -> {
                for (int b = 0; b < count / 32; b++) {
                    quantizeQ4_0Block(src, from + 32 * b, dst, at + 18 * b);
                }
            }
            case Q4_K, Q5_K, Q6_K -> throw new UnsupportedOperationException(type + " is read only: gpu-infer converts "
                    + "K-quants to Q8_0 and does not write them");
        }
    }

    /**
     * Q8_0: d = max|x| / 127 (float32), stored as fp16; q = round-half-away-from-zero(x · (1/d)) with the
     * reciprocal taken in float32 from the unrounded d, as ggml does (so q may differ from x / fp16(d)).
     */
    private static void quantizeQ8_0Block(float[] x, int from, ByteBuffer dst, int at) {
        float amax = 0f;
        for (int j = 0; j < 32; j++) {
            amax = Math.max(amax, Math.abs(x[from + j]));
        }
        float d = amax / 127f;
        float id = d != 0f ? 1f / d : 0f;
        dst.putShort(at, Half.fromFloat(d));
        for (int j = 0; j < 32; j++) {
            dst.put(at + 2 + j, (byte) roundHalfAwayFromZero(x[from + j] * id));
        }
    }

    /**
     * Q4_0: the value of largest magnitude (the first one on ties) is m; d = m / −8, so that m maps to q = 0 exactly;
     * q = min(15, trunc(x · (1/d) + 8.5)) in float32, as ggml does.
     */
    private static void quantizeQ4_0Block(float[] x, int from, ByteBuffer dst, int at) {
        float amax = 0f;
        float max = 0f;
        for (int j = 0; j < 32; j++) {
            float v = x[from + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8f;
        float id = d != 0f ? 1f / d : 0f;
        dst.putShort(at, Half.fromFloat(d));
        for (int j = 0; j < 16; j++) {
            int lo = Math.min(15, (int) (x[from + j] * id + 8.5f));
            int hi = Math.min(15, (int) (x[from + 16 + j] * id + 8.5f));
            dst.put(at + 2 + j, (byte) (lo | (hi << 4)));
        }
    }

    /** C's roundf: halfway cases away from zero (Java's Math.round rounds them up). Exact for float inputs. */
    static int roundHalfAwayFromZero(float v) {
        double r = Math.floor(Math.abs((double) v) + 0.5);
        return (int) (v < 0 ? -r : r);
    }

    private static void checkWhole(WeightType type, int count) {
        if (count < 0 || count % type.blockSize != 0) {
            throw new IllegalArgumentException(count + " values are not whole " + type + " blocks of " + type.blockSize);
        }
    }

    static ByteBuffer littleEndian(ByteBuffer buffer) {
        return buffer.order() == ByteOrder.LITTLE_ENDIAN ? buffer : buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }
}
