package gpuinfer.ops;

import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClQueue;

/**
 * Moving attention heads between the token-major layout of the linear layers ([B*T, C], C = H·D) and the
 * head-major layout of attention ([B, H, T, D]), and appending keys and values to the KV caches, rotating queries
 * and keys on the way for models with rotary embeddings.
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
        check(split, start, rope);
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

    /**
     * Checks what the shapes alone do not: one start per sequence, each step's rows inside the cache, and a rope that
     * fits the heads. The kernel trusts these (a start past the cache would write past its end).
     */
    static void check(HeadSplit split, int[] start, Rope rope) {
        if (start.length != split.B()) {
            throw new IllegalArgumentException("heads: " + start.length + " cache starts for " + split.B()
                    + " sequences; pass one start (the cache row of the step's first token) per sequence");
        }
        for (int b = 0; b < start.length; b++) {
            if (start[b] < 0 || start[b] > split.sMax() - split.T()) {
                throw new IllegalArgumentException("heads: sequence " + b + " starts at cache row " + start[b] + ", so its "
                        + split.T() + " tokens do not fit rows 0.." + (split.sMax() - 1) + " of the cache; allocate"
                        + " caches of more rows (sMax) or end the sequence");
            }
        }
        if (rope != null && rope.dims() > split.D()) {
            throw new IllegalArgumentException("heads: the rope rotates " + rope.dims() + " values per head but heads have "
                    + split.D() + "; rope dims must be at most the head size (check the model's rope dimension count)");
        }
    }

    /** The position of every row of the step: row b·T + t is at {@code start[b] + t}. */
    static int[] positions(HeadSplit split, int[] start) {
        int[] positions = new int[split.rows()];
        for (int b = 0; b < split.B(); b++) {
            for (int t = 0; t < split.T(); t++) {
                positions[b * split.T() + t] = start[b] + t;
            }
        }
        return positions;
    }

    /**
     * Enqueues the kernel {@code heads} of {@code kernels/transformer.cl}: q, k and v from their source rows as
     * {@code split} places them to q [B, H, T, D] and rows {@code start[b] + t} of the caches [B, Hkv, sMax, D].
     * {@code start} holds the host values (checked here), {@code startBuf} the same values on the device. With
     * {@code rope}, {@code ropeTable} holds {@code rope.table(positions(split, start))} [B*T, dims/2, 2]; without,
     * both are null and the kernel copies.
     */
    public static void enqueueHeads(TransformerKernels kernels, ClQueue queue, ClBuffer q, ClBuffer kCache, ClBuffer vCache,
                                    ClBuffer qSrc, ClBuffer kSrc, ClBuffer vSrc, HeadSplit split, int[] start,
                                    ClBuffer startBuf, Rope rope, ClBuffer ropeTable) {
        check(split, start, rope);
        if ((rope == null) != (ropeTable == null)) {
            throw new IllegalArgumentException("heads: a rope needs its cos/sin table and no rope needs none");
        }
        int B = split.B(), T = split.T(), H = split.H(), Hkv = split.Hkv(), D = split.D(), sMax = split.sMax();
        long rows = split.rows();
        BufferChecks.holdsFloats("heads", "q source [B*T, qStride]", qSrc, rows * split.qStride());
        BufferChecks.holdsFloats("heads", "k source [B*T, kvStride]", kSrc, rows * split.kvStride());
        BufferChecks.holdsFloats("heads", "v source [B*T, kvStride]", vSrc, rows * split.kvStride());
        BufferChecks.holdsFloats("heads", "q [B, H, T, D]", q, rows * H * D);
        BufferChecks.holdsFloats("heads", "k cache [B, Hkv, sMax, D]", kCache, (long) B * Hkv * sMax * D);
        BufferChecks.holdsFloats("heads", "v cache [B, Hkv, sMax, D]", vCache, (long) B * Hkv * sMax * D);
        int ropeDims = rope == null ? 0 : rope.dims();
        if (rope != null) {
            BufferChecks.holdsFloats("heads", "rope table [B*T, dims/2, 2]", ropeTable, rows * ropeDims);
        }
        kernels.heads.arg(0, qSrc).arg(1, kSrc).arg(2, vSrc).arg(3, ropeTable).arg(4, startBuf).arg(5, q).arg(6, kCache)
                .arg(7, vCache).arg(8, B).arg(9, T).arg(10, H).arg(11, Hkv).arg(12, D).arg(13, sMax)
                .arg(14, split.qOffset()).arg(15, split.qStride()).arg(16, split.kOffset()).arg(17, split.vOffset())
                .arg(18, split.kvStride()).arg(19, ropeDims).arg(20, rope != null && rope.order() == Rope.Order.HALVES ? 1 : 0);
        double values = (double) rows * (H + 2 * Hkv) * D;
        double rotated = (double) rows * (H + Hkv) * ropeDims;
        queue.launch(kernels.heads, kernels.copyGlobal((H + Hkv) * D, B * T), kernels.copyLocal(),
                new gpuinfer.cl.Cost(3 * rotated, 4.0 * (2 * values + rotated * 2)));
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
