package gpuinfer.weights;

import gpuinfer.tensor.Half;

import java.nio.ByteBuffer;

/**
 * Dequantisation of ggml's K-quant super-blocks (256 values), the formats of llama.cpp's Q4_K_M/Q5_K_M/Q6_K files.
 * gpu-infer reads them once, at load, and converts them to Q8_0; no kernel reads them.
 *
 * <pre>
 * Q4_K (144 bytes): fp16 d, fp16 dmin, 12 bytes of 6-bit scales and mins for 8 sub-blocks of 32, 128 bytes of
 *                   4-bit q. Sub-block s: value = d·scale[s]·q − dmin·min[s]. Each 32 bytes of q hold two
 *                   sub-blocks: low nibbles the first, high nibbles the second.
 * Q5_K (176 bytes): as Q4_K, plus 32 bytes qh holding each value's fifth bit: sub-blocks 2i and 2i+1 take bits 2i
 *                   and 2i+1 of qh[l].
 * Q6_K (210 bytes): 128 bytes ql (low 4 bits), 64 bytes qh (high 2 bits), 16 int8 scales for sub-blocks of 16,
 *                   fp16 d at the end. value = d·scale·(q − 32). Each half of 128 values uses 64 bytes of ql, 32
 *                   of qh and 8 scales; value l + 32i of a half takes ql nibble and qh bit pair i.
 * </pre>
 * The 6-bit scales and mins of Q4_K/Q5_K: for sub-block j &lt; 4, scale = s[j] &amp; 63, min = s[j+4] &amp; 63; for
 * j ≥ 4, scale = (s[j+4] &amp; 15) | (s[j−4] &gt;&gt; 6) &lt;&lt; 4 and min = (s[j+4] &gt;&gt; 4) | (s[j] &gt;&gt; 6) &lt;&lt; 4.
 */
final class KQuants {
    private KQuants() {
    }

    static void dequantize(WeightType type, ByteBuffer src, int at, float[] dst, int to, int count) {
        for (int b = 0; b < count / 256; b++) {
            int block = at + type.blockBytes * b;
            int out = to + 256 * b;
            switch (type) {
                case Q4_K -> q45K(src, block, -1, dst, out);
                case Q5_K -> q45K(src, block, block + 16, dst, out);
                case Q6_K -> q6K(src, block, dst, out);
                default -> throw new IllegalArgumentException(type + " is not a K-quant");
            }
        }
    }

    /**
     * Q4_K and Q5_K, which differ only in Q5_K's fifth bits: {@code qh} is the byte index of those 32 bytes, or -1
     * for Q4_K (whose 4-bit values then start where Q5_K's qh do).
     */
    private static void q45K(ByteBuffer src, int block, int qh, float[] dst, int out) {
        float d = Half.toFloat(src.getShort(block));
        float dmin = Half.toFloat(src.getShort(block + 2));
        int scales = block + 4;
        int ql = qh < 0 ? block + 16 : qh + 32;
        for (int group = 0; group < 4; group++) {
            int s = 2 * group;
            float d1 = d * scale(src, scales, s);
            float m1 = dmin * min(src, scales, s);
            float d2 = d * scale(src, scales, s + 1);
            float m2 = dmin * min(src, scales, s + 1);
            for (int l = 0; l < 32; l++) {
                int v = src.get(ql + 32 * group + l) & 0xff;
                int h = qh < 0 ? 0 : src.get(qh + l) & 0xff;
                int high1 = (h >>> (2 * group)) & 1;       // the fifth bit of value l of sub-block 2*group
                int high2 = (h >>> (2 * group + 1)) & 1;   // ... and of sub-block 2*group + 1
                dst[out + 64 * group + l] = d1 * ((v & 0x0f) + 16 * high1) - m1;
                dst[out + 64 * group + 32 + l] = d2 * ((v >>> 4) + 16 * high2) - m2;
            }
        }
    }

    private static void q6K(ByteBuffer src, int block, float[] dst, int out) {
        float d = Half.toFloat(src.getShort(block + 208));
        for (int half = 0; half < 2; half++) {
            int ql = block + 64 * half;
            int qh = block + 128 + 32 * half;
            int sc = block + 192 + 8 * half;
            int o = out + 128 * half;
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int lo0 = src.get(ql + l) & 0xff;
                int lo1 = src.get(ql + l + 32) & 0xff;
                int h = src.get(qh + l) & 0xff;
                int q1 = ((lo0 & 0x0f) | ((h & 3) << 4)) - 32;
                int q2 = ((lo1 & 0x0f) | (((h >>> 2) & 3) << 4)) - 32;
                int q3 = ((lo0 >>> 4) | (((h >>> 4) & 3) << 4)) - 32;
                int q4 = ((lo1 >>> 4) | (((h >>> 6) & 3) << 4)) - 32;
                dst[o + l] = d * src.get(sc + is) * q1;
                dst[o + l + 32] = d * src.get(sc + is + 2) * q2;
                dst[o + l + 64] = d * src.get(sc + is + 4) * q3;
                dst[o + l + 96] = d * src.get(sc + is + 6) * q4;
            }
        }
    }

    /** The 6-bit scale of sub-block j (0..7) from the 12 packed bytes at {@code s}. */
    private static int scale(ByteBuffer src, int s, int j) {
        if (j < 4) {
            return src.get(s + j) & 63;
        }
        return (src.get(s + j + 4) & 0x0f) | (((src.get(s + j - 4) & 0xff) >>> 6) << 4);
    }

    /** The 6-bit min of sub-block j (0..7). */
    private static int min(ByteBuffer src, int s, int j) {
        if (j < 4) {
            return src.get(s + j + 4) & 63;
        }
        return ((src.get(s + j + 4) & 0xff) >>> 4) | (((src.get(s + j) & 0xff) >>> 6) << 4);
    }
}
