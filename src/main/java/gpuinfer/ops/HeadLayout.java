package gpuinfer.ops;

import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClQueue;

/**
 * Moving attention heads between the token-major layout of the linear layers ([B*T, C], C = H·D) and the
 * head-major layout of attention ([B, H, T, D]), and appending keys and values to the KV caches.
 */
public final class HeadLayout {
    private HeadLayout() {
    }

    /**
     * The CPU reference of qkv_to_heads: qkv [B*T, 3C] (q, k, v side by side) to q [B, H, T, D]; k and v go to the
     * caches [B, H, sMax, D] at row {@code start[b] + t}.
     */
    public static void qkvToHeadsReference(float[] q, float[] kCache, float[] vCache, float[] qkv, int B, int T, int H,
                                           int D, int sMax, int[] start) {
        int C = H * D;
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                int row = (b * T + t) * 3 * C;
                for (int h = 0; h < H; h++) {
                    for (int d = 0; d < D; d++) {
                        int c = h * D + d;
                        q[((b * H + h) * T + t) * D + d] = qkv[row + c];
                        int cache = ((b * H + h) * sMax + start[b] + t) * D + d;
                        kCache[cache] = qkv[row + C + c];
                        vCache[cache] = qkv[row + 2 * C + c];
                    }
                }
            }
        }
    }

    /**
     * The CPU reference of heads: q, k and v rows as {@code split} places them, to q [B, H, T, D] and to rows
     * {@code start[b] + t} of the caches [B, Hkv, sMax, D]; with {@code rope}, q and k are rotated at position
     * {@code start[b] + t} (in double) before they are stored, so the cache holds rotated keys.
     */
    public static void toHeadsReference(float[] q, float[] kCache, float[] vCache, float[] qSrc, float[] kSrc, float[] vSrc,
                                        HeadSplit split, int[] start, Rope rope) {
        int B = split.B(), T = split.T(), H = split.H(), Hkv = split.Hkv(), D = split.D(), sMax = split.sMax();
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                int r = b * T + t;
                int position = start[b] + t;
                for (int h = 0; h < H; h++) {
                    int to = ((b * H + h) * T + t) * D;
                    System.arraycopy(qSrc, r * split.qStride() + split.qOffset() + h * D, q, to, D);
                    if (rope != null) {
                        rope.rotate(q, to, position);
                    }
                }
                for (int h = 0; h < Hkv; h++) {
                    int to = ((b * Hkv + h) * sMax + position) * D;
                    System.arraycopy(kSrc, r * split.kvStride() + split.kOffset() + h * D, kCache, to, D);
                    System.arraycopy(vSrc, r * split.kvStride() + split.vOffset() + h * D, vCache, to, D);
                    if (rope != null) {
                        rope.rotate(kCache, to, position);
                    }
                }
            }
        }
    }

    /** The CPU reference of merge_heads: [B, H, T, D] to [B*T, C]. */
    public static void mergeHeadsReference(float[] y, float[] x, int B, int T, int H, int D) {
        int C = H * D;
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                for (int c = 0; c < C; c++) {
                    y[(b * T + t) * C + c] = x[((b * H + c / D) * T + t) * D + c % D];
                }
            }
        }
    }

    /** The CPU reference of gather_rows: y[i] = x[rows[i]], rows of C values. */
    public static void gatherRowsReference(float[] y, float[] x, int[] rows, int C) {
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(x, rows[i] * C, y, i * C, C);
        }
    }

    public static void enqueueQkvToHeads(TransformerKernels kernels, ClQueue queue, ClBuffer q, ClBuffer kCache,
                                         ClBuffer vCache, ClBuffer qkv, ClBuffer start, int B, int T, int H, int D, int sMax) {
        kernels.qkvToHeads.arg(0, qkv).arg(1, q).arg(2, kCache).arg(3, vCache).arg(4, start).arg(5, B).arg(6, T)
                .arg(7, H).arg(8, D).arg(9, sMax);
        queue.launch(kernels.qkvToHeads, kernels.copyGlobal(H * D, B * T), kernels.copyLocal(),
                new gpuinfer.cl.Cost(0, 4.0 * 6 * B * T * H * D));
    }

    public static void enqueueMergeHeads(TransformerKernels kernels, ClQueue queue, ClBuffer y, ClBuffer x, int B, int T,
                                         int H, int D) {
        kernels.mergeHeads.arg(0, x).arg(1, y).arg(2, B).arg(3, T).arg(4, H).arg(5, D);
        queue.launch(kernels.mergeHeads, kernels.copyGlobal(H * D, B * T), kernels.copyLocal(),
                new gpuinfer.cl.Cost(0, 4.0 * 2 * B * T * H * D));
    }

    public static void enqueueGatherRows(TransformerKernels kernels, ClQueue queue, ClBuffer y, ClBuffer x, ClBuffer rows,
                                         int count, int C) {
        kernels.gatherRows.arg(0, x).arg(1, rows).arg(2, y).arg(3, count).arg(4, C);
        queue.launch(kernels.gatherRows, kernels.copyGlobal(C, count), kernels.copyLocal(),
                new gpuinfer.cl.Cost(0, 4.0 * 2 * count * C));
    }
}
