package gpuinfer.attention.ring;

import gpuinfer.InputException;
import gpuinfer.attention.Attention;
import gpuinfer.attention.AttentionBuffers;
import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionResult;
import gpuinfer.attention.AttentionShape;
import gpuinfer.attention.FlashAttention;
import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.KernelTiming;
import gpuinfer.tensor.Tensor;
import gpuinfer.variants.KernelSettings;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Exact attention with the sequence split over N ranks as a ring (Liu, Zaharia, Abbeel 2023, "Ring Attention with
 * Blockwise Transformers"). Each rank keeps its query chunks and starts with the key/value chunks of the same
 * positions; at each of N steps it runs flash attention of its queries against the key/value block it holds, merges
 * the partial result into its running one by log-sum-exp ({@link LseMerge}), and passes the block to the next rank.
 *
 * <p>Every (query chunk, key chunk) pair is fully visible (key chunk before the query chunk, or non-causal: flash
 * without mask), the same chunk (flash causal: equal lengths, so bottom-right alignment is the chunk's diagonal), or
 * fully masked (skipped and counted). Key padding: per key chunk starting at k0 with length n, batch b sees
 * clamp(L_b - k0, 0, n) of its keys. Causal ring runs need Sq = Sk (self-attention).
 *
 * <p>Double buffering: each rank has two K/V slots. In a step, the host enqueues every rank's flash and merge
 * kernels for the block in one slot without waiting, then passes the blocks on through the transfer queues into the
 * other slot of the next rank while those kernels run, then waits for the compute queues. The host orders the
 * queues (a finish at the end of each step) because ClQueue exposes no events to make one queue wait for another;
 * a rank's transfer time is the wall time of its sends, which overlap the step's compute.
 */
public final class RingAttention implements AutoCloseable {
    private final List<Rank> ranks;
    private final RingLayout layout;
    private final BlockTransfer transfer;
    private final List<FlashAttention> flash = new ArrayList<>();
    private final List<LseMerge> merges = new ArrayList<>();

    /**
     * @param layout null for the default: zigzag when causal, else contiguous (decided per problem)
     */
    public RingAttention(List<Rank> ranks, RingLayout layout, BlockTransfer transfer, KernelSettings settings,
                         Map<String, String> overrides) {
        if (ranks.isEmpty()) {
            throw new InputException("--ring needs at least 1 rank.");
        }
        this.ranks = List.copyOf(ranks);
        this.layout = layout;
        this.transfer = transfer;
        try {
            for (Rank rank : ranks) {
                flash.add(new FlashAttention(rank.context(), settings, overrides));
                merges.add(new LseMerge(rank.context()));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    public RingAttention(List<Rank> ranks, RingLayout layout) {
        this(ranks, layout, BlockTransfer.forRanks(ranks), KernelSettings.defaults(), Map.of());
    }

    /** The layout a problem runs with. */
    public RingLayout layout(AttentionProblem problem) {
        return layout != null ? layout : problem.causal() ? RingLayout.ZIGZAG : RingLayout.CONTIGUOUS;
    }

    /** Per-rank state of one run; every buffer is released by close. */
    private final class RankState implements AutoCloseable {
        final Rank rank;
        final int[] queryChunks;
        final ClBuffer[] q;
        final ClBuffer[] out;
        final ClBuffer[] lse;
        ClBuffer partOut;
        ClBuffer partLse;
        final ClBuffer[][] slotK = new ClBuffer[2][];
        final ClBuffer[][] slotV = new ClBuffer[2][];
        ClBuffer lens;
        final List<ClBuffer> all = new ArrayList<>();
        long bytes;
        long work;
        int blocks;
        int skipped;
        double transferMillis;
        final List<KernelTiming> kernels = new ArrayList<>();

        RankState(Rank rank, int[] chunks) {
            this.rank = rank;
            this.queryChunks = chunks;
            q = new ClBuffer[chunks.length];
            out = new ClBuffer[chunks.length];
            lse = new ClBuffer[chunks.length];
        }

        ClBuffer buffer(long bytes, String label) {
            ClBuffer b = rank.context().createBuffer(bytes, "ring rank " + rank.index() + " " + label);
            all.add(b);
            this.bytes += bytes;
            return b;
        }

        @Override
        public void close() {
            all.forEach(ClBuffer::close);
            all.clear();
        }
    }

    public RingResult run(AttentionProblem problem, Tensor q, Tensor k, Tensor v) {
        Attention.checkInputs(problem, q, k, v);
        AttentionShape s = problem.shape();
        int n = ranks.size();
        RingLayout lay = layout(problem);
        if (problem.causal() && s.queryLen() != s.keyLen()) {
            throw new InputException("--ring with --causal needs Sq = Sk (self-attention); the shape has Sq="
                    + s.queryLen() + " and Sk=" + s.keyLen() + ".");
        }
        List<RingLayout.Chunk> qChunks = lay.chunks(s.queryLen(), n);
        List<RingLayout.Chunk> kChunks = lay.chunks(s.keyLen(), n);
        int minLen = Math.min(s.queryLen(), s.keyLen());
        if (minLen < qChunks.size()) {
            throw new InputException("--ring " + n + " with the " + lay.label() + " layout cuts the sequence into "
                    + qChunks.size() + " chunks, but Sq=" + s.queryLen() + ", Sk=" + s.keyLen()
                    + ": each chunk needs at least one position. Use fewer ranks.");
        }
        int maxQ = qChunks.stream().mapToInt(RingLayout.Chunk::length).max().orElseThrow();
        int maxK = kChunks.stream().mapToInt(RingLayout.Chunk::length).max().orElseThrow();
        int bh = s.batch() * s.heads();
        int bkv = s.batch() * s.kvHeads();
        int d = s.headDim();
        List<RankState> states = new ArrayList<>();
        long start = System.nanoTime();
        try {
            // Upload: each rank's query chunks (with zeroed output and lse -inf) and its own key/value chunks in slot 0.
            double upload0 = System.nanoTime();
            for (int r = 0; r < n; r++) {
                Rank rank = ranks.get(r);
                int[] chunks = lay.chunksOf(r, n);
                RankState st = new RankState(rank, chunks);
                states.add(st);
                for (int i = 0; i < chunks.length; i++) {
                    RingLayout.Chunk c = qChunks.get(chunks[i]);
                    String shape = " [" + s.batch() + ", " + s.heads() + ", " + c.length() + ", " + d + "]";
                    st.q[i] = st.buffer(4L * bh * c.length() * d, "q chunk " + c.index() + shape);
                    st.out[i] = st.buffer(4L * bh * c.length() * d, "out chunk " + c.index() + shape);
                    st.lse[i] = st.buffer(4L * bh * c.length(), "lse chunk " + c.index() + " [" + s.batch() + ", "
                            + s.heads() + ", " + c.length() + "]");
                    rank.compute().write(st.q[i], slice(q, s.heads(), s.queryLen(), d, c));
                    rank.compute().zero(st.out[i]);
                    float[] minusInf = new float[bh * c.length()];
                    Arrays.fill(minusInf, Float.NEGATIVE_INFINITY);
                    rank.compute().write(st.lse[i], minusInf);
                }
                st.partOut = st.buffer(4L * bh * maxQ * d, "partial out [B, H, <=" + maxQ + ", D]");
                st.partLse = st.buffer(4L * bh * maxQ, "partial lse [B, H, <=" + maxQ + "]");
                for (int slot = 0; slot < 2; slot++) {
                    st.slotK[slot] = new ClBuffer[chunks.length];
                    st.slotV[slot] = new ClBuffer[chunks.length];
                    for (int i = 0; i < chunks.length; i++) {
                        String shape = " [" + s.batch() + ", " + s.kvHeads() + ", <=" + maxK + ", " + d + "]";
                        st.slotK[slot][i] = st.buffer(4L * bkv * maxK * d, "k slot " + slot + "." + i + shape);
                        st.slotV[slot][i] = st.buffer(4L * bkv * maxK * d, "v slot " + slot + "." + i + shape);
                    }
                }
                for (int i = 0; i < chunks.length; i++) {
                    RingLayout.Chunk c = kChunks.get(chunks[i]);
                    rank.compute().write(st.slotK[0][i], slice(k, s.kvHeads(), s.keyLen(), d, c));
                    rank.compute().write(st.slotV[0][i], slice(v, s.kvHeads(), s.keyLen(), d, c));
                }
                if (problem.kvLens() != null) {
                    st.lens = st.buffer(4L * s.batch(), "kv_lens [" + s.batch() + "]");
                }
                rank.compute().finish();
            }
            double uploadMillis = (System.nanoTime() - upload0) / 1e6;
            long t1 = System.nanoTime();
            for (int step = 0; step < n; step++) {
                int slot = step % 2;
                // Enqueue every rank's work of this step without waiting; the transfers below run meanwhile on the
                // transfer queues (they read the slot the kernels read, and write the other slot, which no kernel of
                // this step uses); the step ends when every compute queue has finished.
                try {
                    for (int r = 0; r < n; r++) {
                        RankState st = states.get(r);
                        int[] kvChunkIds = lay.chunksOf(Math.floorMod(r - step, n), n);
                        st.rank.compute().startRecording();
                        for (int qi = 0; qi < st.queryChunks.length; qi++) {
                            for (int ki = 0; ki < kvChunkIds.length; ki++) {
                                computePair(problem, st, flash.get(r), merges.get(r), qChunks.get(st.queryChunks[qi]), qi,
                                        kChunks.get(kvChunkIds[ki]), st.slotK[slot][ki], st.slotV[slot][ki]);
                            }
                        }
                    }
                    sendBlocks(states, lay, kChunks, step, slot, bkv * d);
                } finally {
                    for (RankState st : states) {
                        st.kernels.addAll(st.rank.compute().stopRecording());
                    }
                }
            }
            long t2 = System.nanoTime();
            Tensor out = Tensor.zeros(s.outputShape());
            Tensor lse = Tensor.zeros(s.batch(), s.heads(), s.queryLen());
            for (RankState st : states) {
                for (int i = 0; i < st.queryChunks.length; i++) {
                    RingLayout.Chunk c = qChunks.get(st.queryChunks[i]);
                    float[] chunkOut = new float[bh * c.length() * d];
                    st.rank.compute().read(st.out[i], chunkOut);
                    unslice(chunkOut, out.data(), s.heads(), s.queryLen(), d, c);
                    float[] chunkLse = new float[bh * c.length()];
                    st.rank.compute().read(st.lse[i], chunkLse);
                    unslice(chunkLse, lse.data(), s.heads(), s.queryLen(), 1, c);
                }
            }
            long t3 = System.nanoTime();
            List<KernelTiming> kernels = new ArrayList<>();
            List<RankStats> stats = new ArrayList<>();
            long totalBytes = 0;
            for (int r = 0; r < n; r++) {
                RankState st = states.get(r);
                long bytes = st.bytes + flash.get(r).workspaceBytes(chunkProblem(problem, maxQ, maxK, false, null));
                totalBytes += bytes;
                kernels.addAll(st.kernels);
                stats.add(new RankStats(r, st.rank.context().device().name(), st.work, st.blocks, st.skipped,
                        st.kernels.stream().mapToDouble(KernelTiming::millis).sum(), st.transferMillis, bytes));
            }
            AttentionResult result = new AttentionResult(out, lse, kernels, uploadMillis, (t2 - t1) / 1e6,
                    (t3 - t2) / 1e6, totalBytes);
            return new RingResult(result, stats, lay, transfer.name(), (t3 - start) / 1e6);
        } finally {
            states.forEach(RankState::close);
        }
    }

    /** After step {@code step}: each rank sends the block it holds (slot {@code slot}) to the next rank's other slot. */
    private void sendBlocks(List<RankState> states, RingLayout lay, List<RingLayout.Chunk> kChunks, int step, int slot,
                            int floatsPerRow) {
        int n = states.size();
        if (step + 1 >= n) {
            return;
        }
        for (int r = 0; r < n; r++) {
            RankState from = states.get(r);
            RankState to = states.get((r + 1) % n);
            int[] kvChunkIds = lay.chunksOf(Math.floorMod(r - step, n), n);
            long t = System.nanoTime();
            for (int i = 0; i < kvChunkIds.length; i++) {
                int floats = floatsPerRow * kChunks.get(kvChunkIds[i]).length();
                transfer.send(from.rank, from.slotK[slot][i], to.rank, to.slotK[1 - slot][i], floats);
                transfer.send(from.rank, from.slotV[slot][i], to.rank, to.slotV[1 - slot][i], floats);
            }
            from.transferMillis += (System.nanoTime() - t) / 1e6;
        }
    }

    /** Flash of one query chunk against one key chunk into the partial buffers, then the merge; or a skip. */
    private void computePair(AttentionProblem problem, RankState st, FlashAttention op, LseMerge merge,
                             RingLayout.Chunk qc, int qi, RingLayout.Chunk kc, ClBuffer kBuf, ClBuffer vBuf) {
        boolean causal = false;
        if (problem.causal()) {
            if (kc.index() > qc.index()) {
                st.skipped++;
                return;
            }
            causal = kc.index() == qc.index();
        }
        int[] lens = null;
        if (problem.kvLens() != null) {
            lens = new int[problem.kvLens().length];
            boolean any = false;
            for (int b = 0; b < lens.length; b++) {
                lens[b] = Math.max(0, Math.min(problem.kvLens()[b] - kc.start(), kc.length()));
                any |= lens[b] > 0;
            }
            if (!any) {
                st.skipped++;
                return;
            }
        }
        AttentionProblem part = chunkProblem(problem, qc.length(), kc.length(), causal, lens);
        if (lens != null) {
            st.rank.compute().writeLater(st.lens, lens); // in order on the compute queue: no wait
        }
        op.enqueue(st.rank.compute(), part,
                new AttentionBuffers(st.q[qi], kBuf, vBuf, st.partOut, st.partLse, st.lens, kc.length()));
        AttentionShape s = problem.shape();
        merge.enqueue(st.rank.compute(), st.out[qi], st.lse[qi], st.partOut, st.partLse,
                s.batch() * s.heads() * qc.length(), s.headDim());
        st.work += part.visiblePairs();
        st.blocks++;
    }

    private static AttentionProblem chunkProblem(AttentionProblem problem, int qLen, int kLen, boolean causal, int[] lens) {
        AttentionShape s = problem.shape();
        return new AttentionProblem(new AttentionShape(s.batch(), s.heads(), s.kvHeads(), qLen, kLen, s.headDim()),
                causal, problem.scale(), lens);
    }

    /** Rows c.start .. c.start + c.length - 1 of every (batch, head) of a [B, heads, len, d] tensor, packed. */
    static float[] slice(Tensor t, int heads, int len, int d, RingLayout.Chunk c) {
        int outer = t.data().length / (len * d);
        float[] packed = new float[outer * c.length() * d];
        for (int o = 0; o < outer; o++) {
            System.arraycopy(t.data(), (o * len + c.start()) * d, packed, o * c.length() * d, c.length() * d);
        }
        return packed;
    }

    /** The inverse of {@link #slice}: packed chunk rows back into their place in [outer, len, d]. */
    static void unslice(float[] packed, float[] full, int heads, int len, int d, RingLayout.Chunk c) {
        int outer = full.length / (len * d);
        for (int o = 0; o < outer; o++) {
            System.arraycopy(packed, o * c.length() * d, full, (o * len + c.start()) * d, c.length() * d);
        }
    }

    @Override
    public void close() {
        flash.forEach(FlashAttention::close);
        merges.forEach(LseMerge::close);
        flash.clear();
        merges.clear();
    }
}
