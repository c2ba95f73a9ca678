package gpuinfer.tensor;

/**
 * IEEE 754 binary16 ("half") and bfloat16: to float32 exactly (every half value is a float value), and from float32
 * rounded to nearest, ties to even, as F16C's {@code vcvtps2ph} and ggml's {@code GGML_FP32_TO_FP16} round.
 */
public final class Half {
    private Half() {
    }

    /** binary16 bits (sign, 5-bit exponent, 10-bit mantissa) to float32. */
    public static float toFloat(short bits) {
        int h = bits & 0xffff;
        int sign = (h & 0x8000) << 16;
        int exponent = (h >>> 10) & 0x1f;
        int mantissa = h & 0x3ff;
        if (exponent == 0x1f) {
            // infinity or NaN (payload kept)
            return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
        }
        if (exponent == 0) {
            if (mantissa == 0) {
                return Float.intBitsToFloat(sign);
            }
            // subnormal: mantissa * 2^-24
            float value = mantissa * 0x1p-24f;
            return sign == 0 ? value : -value;
        }
        return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
    }

    /** bfloat16 bits (the top half of a float32) to float32. */
    public static float bfloat16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /**
     * float32 to binary16 bits, rounded to nearest with ties to even; values from 65520 up become infinity, values
     * below 2^-24 / 2 become (signed) zero, every NaN becomes the quiet NaN 0x7e00 with its sign (as ggml writes).
     */
    public static short fromFloat(float value) {
        int bits = Float.floatToRawIntBits(value);
        int sign = (bits >>> 16) & 0x8000;
        int abs = bits & 0x7fffffff;
        if (abs > 0x7f800000) {
            // NaN: the canonical quiet NaN with its sign, as ggml's conversion writes it (llama-quantize's files)
            return (short) (sign | 0x7e00);
        }
        if (abs == 0x7f800000) {
            return (short) (sign | 0x7c00);
        }
        if (abs >= 0x477ff000) {
            // 65520 and above round past the largest half, 65504
            return (short) (sign | 0x7c00);
        }
        if (abs >= 0x38800000) {
            // a normal half: rebias the exponent (127 -> 15), then round the 23-bit mantissa to 10 bits; a carry out
            // of the mantissa correctly increments the exponent
            int rebiased = abs - (112 << 23);
            int rounded = rebiased + 0xfff + ((rebiased >>> 13) & 1);
            return (short) (sign | (rounded >>> 13));
        }
        // a subnormal half (or zero): a multiple of 2^-24; scaling by 2^24 is exact, rint rounds ties to even
        int units = (int) Math.rint(Float.intBitsToFloat(abs) * 0x1p24);
        return (short) (sign | units);
    }

    /** float32 to bfloat16 bits, rounded to nearest with ties to even (as PyTorch and ggml convert); NaN stays NaN. */
    public static short toBfloat16(float value) {
        int bits = Float.floatToRawIntBits(value);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x40);
        }
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }
}
