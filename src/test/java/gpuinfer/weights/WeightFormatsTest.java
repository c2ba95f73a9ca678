package gpuinfer.weights;

import gpuinfer.tensor.Half;
import gpuinfer.tensor.RandomTensors;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The format table, the codecs and WeightTensor's views, against references written differently: float to half by
 * searching the table of every half value, bfloat16 by comparing the two candidates, blocks worked by hand. (The
 * bit-identity of the quantisers with llama.cpp's is QuantizerGoldenTest's.)
 */
class WeightFormatsTest {
    /** Every finite non-negative half value, ascending (bits 0x0000..0x7bff are ordered as their values). */
    private static final float[] HALVES = new float[0x7c00];

    static {
        for (int bits = 0; bits < HALVES.length; bits++) {
            HALVES[bits] = Half.toFloat((short) bits);
        }
    }

    /** Nearest half by search, ties to the even bit pattern; values at or past 65520 are infinity. */
    private static short nearestHalf(float f) {
        float a = Math.abs(f);
        int sign = f < 0 || (f == 0 && 1 / f < 0) ? 0x8000 : 0;
        if (a >= 65520f) {
            return (short) (sign | 0x7c00);
        }
        int i = Arrays.binarySearch(HALVES, a);
        int bits;
        if (i >= 0) {
            bits = i;
        } else {
            int above = -i - 1;
            int below = above - 1;
            double dBelow = (double) a - HALVES[below];
            double dAbove = (double) HALVES[above] - a;
            bits = dBelow < dAbove ? below : dAbove < dBelow ? above : (below % 2 == 0 ? below : above);
        }
        return (short) (sign | bits);
    }

    @Test
    void floatToHalfRoundsToNearestEvenLikeASearchOfEveryHalf() {
        for (int bits = 0; bits < 0x10000; bits++) {
            short h = (short) bits;
            float f = Half.toFloat(h);
            if (!Float.isNaN(f)) {
                assertEquals(h, Half.fromFloat(f), "half 0x" + Integer.toHexString(bits) + " round trip");
            }
        }
        SplittableRandom random = new SplittableRandom(1);
        for (int i = 0; i < 200_000; i++) {
            // floats spread over the half range and beyond, and midpoints between halves (the ties)
            float f = switch (i % 3) {
                case 0 -> Float.intBitsToFloat(random.nextInt(0x3300_0000, 0x4800_0000)) * (random.nextBoolean() ? 1 : -1);
                case 1 -> (float) ((HALVES[random.nextInt(HALVES.length - 1)] + (double) HALVES[random.nextInt(HALVES.length - 1)]) / 2);
                default -> {
                    int k = random.nextInt(HALVES.length - 1);
                    yield (float) ((HALVES[k] + (double) HALVES[k + 1]) / 2);
                }
            };
            assertEquals(nearestHalf(f), Half.fromFloat(f), "float " + f + " (0x" + Integer.toHexString(Float.floatToIntBits(f)) + ")");
        }
        assertEquals((short) 0x7c00, Half.fromFloat(Float.POSITIVE_INFINITY));
        assertEquals((short) 0xfc00, Half.fromFloat(Float.NEGATIVE_INFINITY));
        assertTrue(Float.isNaN(Half.toFloat(Half.fromFloat(Float.NaN))));
        assertEquals((short) 0x8000, Half.fromFloat(-0f));
        assertEquals((short) 0x7bff, Half.fromFloat(65519.99f));
        assertEquals((short) 0x7c00, Half.fromFloat(65520f));
    }

    @Test
    void floatToBfloat16RoundsToTheNearerOfItsTwoCandidates() {
        SplittableRandom random = new SplittableRandom(2);
        for (int i = 0; i < 200_000; i++) {
            int bits = random.nextInt();
            float f = Float.intBitsToFloat(bits);
            if (Float.isNaN(f)) {
                assertTrue(Float.isNaN(Half.bfloat16ToFloat(Half.toBfloat16(f))));
                continue;
            }
            int down = bits & 0xffff0000;
            int up = down + 0x10000;
            // past the largest finite bfloat16 the next candidate is infinity, as far away as 2^128 would be
            double upValue = (up & 0x7fffffff) == 0x7f800000 ? Math.copySign(0x1p128, f) : Float.intBitsToFloat(up);
            double dDown = Math.abs((double) f - Float.intBitsToFloat(down));
            double dUp = Math.abs((double) f - upValue);
            int want = Float.isInfinite(f) ? down : dDown < dUp ? down : dUp < dDown ? up : ((down >>> 16) % 2 == 0 ? down : up);
            assertEquals((short) (want >>> 16), Half.toBfloat16(f), "float 0x" + Integer.toHexString(bits));
        }
    }

    @Test
    void roundingIsCsRoundfHalfwayAwayFromZero() {
        assertEquals(0, BlockCodecs.roundHalfAwayFromZero(0.49999997f));
        assertEquals(1, BlockCodecs.roundHalfAwayFromZero(0.5f));
        assertEquals(-1, BlockCodecs.roundHalfAwayFromZero(-0.5f));
        assertEquals(3, BlockCodecs.roundHalfAwayFromZero(2.5f));
        assertEquals(-3, BlockCodecs.roundHalfAwayFromZero(-2.5f));
        assertEquals(127, BlockCodecs.roundHalfAwayFromZero(127.00001f));
    }

    @Test
    void q8_0BlocksWorkedByHand() {
        float[] x = new float[32];
        x[0] = 127f;  // amax = 127: d = 1, every q = round(x)
        x[1] = -2.5f; // a tie: away from zero
        x[2] = 2.5f;
        x[3] = 0.4f;
        ByteBuffer block = quantize(WeightType.Q8_0, x);
        assertEquals((short) 0x3c00, block.getShort(0), "d = 1.0 as fp16");
        assertEquals(127, block.get(2));
        assertEquals(-3, block.get(3));
        assertEquals(3, block.get(4));
        assertEquals(0, block.get(5));
        ByteBuffer zeros = quantize(WeightType.Q8_0, new float[32]);
        for (int i = 0; i < 34; i++) {
            assertEquals(0, zeros.get(i), "an all-zero block is all zero bytes");
        }
    }

    @Test
    void q4_0BlocksWorkedByHand() {
        float[] x = new float[32];
        x[0] = -8f;  // largest magnitude, negative: d = -8 / -8 = 1, and -8 maps to q = 0
        x[5] = 7f;   // q = 15
        x[16] = 3f;  // q = 11, in the high nibble of byte 0
        x[20] = -0.5f; // -0.5 + 8.5 = 8.0 -> q = 8 (value 0)
        ByteBuffer block = quantize(WeightType.Q4_0, x);
        assertEquals((short) 0x3c00, block.getShort(0));
        assertEquals(0 | 11 << 4, block.get(2) & 0xff);
        assertEquals(15 | 8 << 4, block.get(7) & 0xff);
        assertEquals(8 | 8 << 4, block.get(6) & 0xff, "zeros are q = 8 in both nibbles");
        float[] back = new float[32];
        WeightType.Q4_0.dequantize(block, 0, back, 0, 32);
        assertEquals(-8f, back[0]);
        assertEquals(7f, back[5]);
        assertEquals(3f, back[16]);
        assertEquals(0f, back[20]);
        // the first value of largest magnitude decides the sign of d: +8 then -8 gives d = -1
        float[] tie = new float[32];
        tie[0] = 8f;
        tie[1] = -8f;
        ByteBuffer tied = quantize(WeightType.Q4_0, tie);
        assertEquals(Half.fromFloat(-1f), tied.getShort(0));
    }

    @Test
    void quantisationErrorIsWithinHalfAStepPerBlock() {
        float[] x = RandomTensors.gaussian(3, 0, 32 * 500).data();
        for (WeightType type : new WeightType[] {WeightType.Q8_0, WeightType.Q4_0}) {
            float[] back = WeightTensor.ofFloats("x", x, 500, 32).to(type).toFloats();
            for (int b = 0; b < 500; b++) {
                float amax = 0;
                float max = 0;
                for (int j = 0; j < 32; j++) {
                    if (Math.abs(x[32 * b + j]) > amax) {
                        amax = Math.abs(x[32 * b + j]);
                        max = x[32 * b + j];
                    }
                }
                double step = type == WeightType.Q8_0 ? amax / 127.0 : amax / 8.0;
                for (int j = 0; j < 32; j++) {
                    double err = Math.abs(x[32 * b + j] - back[32 * b + j]);
                    // half a step, plus the fp16 rounding of the scale (2^-11 relative) over up to 127 steps; Q4_0's
                    // range is [-8d, 7d] with -8d at the largest magnitude, so values within half a step of its
                    // opposite are clamped to 7d and may be off by up to a full step
                    boolean clamped = type == WeightType.Q4_0 && x[32 * b + j] / (max / -8.0) > 7.5;
                    double allowed = step * ((clamped ? 1.0 : 0.5) + 128 * 0x1p-11) + 1e-7;
                    assertTrue(err <= allowed, type + " block " + b + " value " + j + " error " + err);
                }
            }
        }
    }

    @Test
    void q4_kBlockWorkedByHand() {
        ByteBuffer block = ByteBuffer.allocate(144).order(ByteOrder.LITTLE_ENDIAN);
        block.putShort(0, Half.fromFloat(0.5f));  // d
        block.putShort(2, Half.fromFloat(0.25f)); // dmin
        // sub-blocks 0..3: scale j+1 and min j in the low 6 bits of bytes 0..3 and 4..7
        for (int j = 0; j < 4; j++) {
            block.put(4 + j, (byte) (j + 1));
            block.put(8 + j, (byte) j);
        }
        // sub-blocks 4..7: scale 5 + (j-4) low 4 bits in bytes 8..11 low nibble, min 2 in the high nibble
        for (int j = 4; j < 8; j++) {
            block.put(4 + j + 4, (byte) ((j + 1) | 2 << 4));
        }
        for (int l = 0; l < 128; l++) {
            block.put(16 + l, (byte) ((l % 16) | ((15 - l % 16) << 4)));
        }
        float[] v = new float[256];
        WeightType.Q4_K.dequantize(block, 0, v, 0, 256);
        for (int group = 0; group < 4; group++) {
            for (int l = 0; l < 32; l++) {
                int lo = (32 * group + l) % 16;
                int hi = 15 - lo;
                int s0 = 2 * group;
                int s1 = 2 * group + 1;
                assertEquals(0.5f * scale(s0) * lo - 0.25f * min(s0), v[64 * group + l], 0, "value " + (64 * group + l));
                assertEquals(0.5f * scale(s1) * hi - 0.25f * min(s1), v[64 * group + 32 + l], 0);
            }
        }
    }

    private static int scale(int j) {
        return j + 1;
    }

    private static int min(int j) {
        return j < 4 ? j : 2;
    }

    @Test
    void transposedAndConvertedViewsEqualTheirMaterialisedForms() {
        int a = 70;
        int b = 131; // neither divides the 64-wide transpose tiles
        float[] values = RandomTensors.gaussian(4, 0, a * b).data();
        float[] want = new float[a * b];
        for (int i = 0; i < a; i++) {
            for (int j = 0; j < b; j++) {
                want[j * a + i] = values[i * b + j];
            }
        }
        for (WeightType type : new WeightType[] {WeightType.F32, WeightType.F16, WeightType.BF16}) {
            WeightTensor stored = WeightTensor.ofFloats("w", values, a, b).to(type).materialized();
            WeightTensor t = stored.transposed();
            assertArrayEquals(new long[] {b, a}, t.shape());
            float[] rounded = stored.toFloats();
            float[] expect = new float[a * b];
            for (int i = 0; i < a; i++) {
                for (int j = 0; j < b; j++) {
                    expect[j * a + i] = rounded[i * b + j];
                }
            }
            assertArrayEquals(expect, t.toFloats(), type + " transpose");
            // row ranges read piecewise equal the whole
            ByteBuffer whole = ByteBuffer.allocate((int) t.storedBytes());
            t.storedRows(0, (int) t.rows(), whole);
            ByteBuffer pieces = ByteBuffer.allocate((int) t.storedBytes());
            for (int r = 0; r < t.rows(); r += 17) {
                t.storedRows(r, (int) Math.min(17, t.rows() - r), pieces);
            }
            assertArrayEquals(whole.array(), pieces.array(), type + " row ranges");
        }
        // transposed, then quantised: the same blocks as quantising the materialised transpose
        float[] square = RandomTensors.gaussian(5, 0, 96 * 64).data();
        WeightTensor lazy = WeightTensor.ofFloats("w", square, 96, 64).transposed().to(WeightType.Q4_0);
        WeightTensor eager = WeightTensor.ofFloats("w", square, 96, 64).transposed().materialized().to(WeightType.Q4_0).materialized();
        assertEquals(eager.buffer().orElseThrow(), lazy.materialized().buffer().orElseThrow());
    }

    @Test
    void theTableNamesFormatsAndRefusesWhatItCannotWrite() {
        assertEquals(WeightType.Q8_0, WeightType.parseTarget("--weights", "Q8_0"));
        gpuinfer.InputException e = assertThrows(gpuinfer.InputException.class, () -> WeightType.parseTarget("--weights", "q4_k"));
        assertTrue(e.getMessage().contains("f32, f16, bf16, q8_0, q4_0"), e.getMessage());
        assertEquals(8.5, WeightType.Q8_0.bitsPerValue());
        assertEquals(4.5, WeightType.Q4_0.bitsPerValue());
        assertEquals(WeightType.Q6_K, WeightType.ofGgml(14));
        assertThrows(UnsupportedOperationException.class, () -> WeightType.Q4_K.quantize(new float[256], 0, 256, ByteBuffer.allocate(144), 0));
        assertThrows(IllegalArgumentException.class, () -> WeightType.Q8_0.dequantize(ByteBuffer.allocate(34), 0, new float[31], 0, 31));
    }

    private static ByteBuffer quantize(WeightType type, float[] x) {
        ByteBuffer out = ByteBuffer.allocate((int) type.rowBytes(x.length)).order(ByteOrder.LITTLE_ENDIAN);
        type.quantize(x, 0, x.length, out, 0);
        return out;
    }
}
