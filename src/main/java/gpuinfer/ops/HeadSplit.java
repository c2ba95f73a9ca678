package gpuinfer.ops;

/**
 * Where the heads of q, k and v lie in the rows the projections wrote, and the shapes they go to. Row r = b·T + t of
 * the q source holds head h at columns {@code qOffset + h·D .. + D}; the k and v sources likewise with Hkv heads. GPT-2
 * writes one fused row [q | k | v] of 3C values ({@link #fused}); Llama-family models write three buffers
 * ({@link #separate}).
 *
 * @param B        sequences in the step
 * @param T        tokens per sequence in the step
 * @param H        query heads
 * @param Hkv      key/value heads (H for multi-head attention; a divisor of H for grouped-query attention)
 * @param D        values per head
 * @param sMax     rows per sequence in the caches [B, Hkv, sMax, D]
 * @param qOffset  column of head 0 of q in its source rows
 * @param qStride  values per source row of q
 * @param kOffset  column of head 0 of k in its source rows
 * @param vOffset  column of head 0 of v in its source rows
 * @param kvStride values per source row of k and of v
 */
public record HeadSplit(int B, int T, int H, int Hkv, int D, int sMax, int qOffset, int qStride, int kOffset,
                        int vOffset, int kvStride) {
    public HeadSplit {
        if (B < 1 || T < 1 || H < 1 || Hkv < 1 || H % Hkv != 0 || D < 1 || sMax < T) {
            throw new IllegalArgumentException("head split B " + B + ", T " + T + ", H " + H + ", Hkv " + Hkv + ", D " + D
                    + ", sMax " + sMax);
        }
        if (qOffset < 0 || qOffset + H * D > qStride || kOffset < 0 || kOffset + Hkv * D > kvStride || vOffset < 0
                || vOffset + Hkv * D > kvStride) {
            throw new IllegalArgumentException("heads do not fit their rows: q " + qOffset + "+" + H * D + " of " + qStride
                    + ", k " + kOffset + " and v " + vOffset + " +" + Hkv * D + " of " + kvStride);
        }
    }

    /** GPT-2's layout: one row [q | k | v] of 3·H·D values. */
    public static HeadSplit fused(int B, int T, int H, int D, int sMax) {
        int C = H * D;
        return new HeadSplit(B, T, H, H, D, sMax, 0, 3 * C, C, 2 * C, 3 * C);
    }

    /** Three buffers: q [B*T, H·D], k and v [B*T, Hkv·D]. */
    public static HeadSplit separate(int B, int T, int H, int Hkv, int D, int sMax) {
        return new HeadSplit(B, T, H, Hkv, D, sMax, 0, H * D, 0, 0, Hkv * D);
    }

    /** Rows of the step (B·T). */
    public int rows() {
        return B * T;
    }
}
