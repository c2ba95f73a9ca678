package gpuinfer.model;

import gpuinfer.InputException;
import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionShape;
import gpuinfer.attention.ring.RingLayout;
import gpuinfer.ops.Backend;
import gpuinfer.ops.Buf;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Context-parallel prefill: one prompt's tokens split over N ranks, each a {@link DecoderModel} with the same weights
 * on its own {@link Backend} (its own OpenCL context, sub-device or device; or the CPU reference). Every rank runs
 * the layers for its own tokens only; each layer's attention runs as a ring (Liu, Zaharia, Abbeel 2023): a rank
 * starts with the key/value block of its own tokens, attends to it, passes it on, and at each of N − 1 more steps
 * attends to the block it received, merging each into its own result by log-sum-exp
 * (the flash pass continues from the rank's running output and log-sum-exp: {@link Backend#attentionAccumulate}).
 * No rank ever holds another rank's queries, and only one key/value block at a
 * time besides its own cache rows.
 *
 * <p>Layout ({@link RingLayout}): zigzag (the default) cuts the prompt into 2N chunks and gives rank r chunks r and
 * 2N − 1 − r, so under the causal mask every rank computes the same number of (query, key) pairs; contiguous gives
 * rank r the r-th of N chunks, and rank r then computes r + 1 blocks. A rank's chunks are the sequences of its
 * forward step (a step places each sequence's tokens at consecutive positions), right-padded to the longer one;
 * padding rows are never attended to and their outputs are dropped. Pairs of chunks wholly above the diagonal are
 * skipped (counted in {@link RankWork#skipped}); the diagonal pair is causal; the rest are fully visible.
 *
 * <p>The gather: every block passes rank 0 on its way round the ring, so rank 0 copies each chunk into sequence 0
 * of its own cache at the chunk's positions; after the prefill, rank 0's cache holds every layer's keys and values
 * for the whole prompt and it decodes the continuation alone, like a single-device run. The logits of a prompt
 * position come from the rank that holds it.
 *
 * <p>Blocks move between ranks through host memory (each rank's backend may be its own context); a step enqueues
 * every rank's attention and merges, starts them all ({@link Backend#flush}), waits for them, and only then passes
 * the blocks on, so the ranks compute side by side and {@link #transferMillis} is the time the ring adds.
 */
public final class ContextParallel {
    private final List<DecoderModel> ranks;
    private final Plan plan;
    private final int maxChunk;
    // per rank and chunk slot (allocated on the rank's backend, released when it closes)
    private final Buf[][] blockK;    // [Hkv, maxChunk, D]: a key chunk of the block the rank holds this step
    private final Buf[][] blockV;    // [Hkv, maxChunk, D]
    private final Buf[][] queries;   // [H, len, D]: the queries of one of the rank's chunks, packed
    private final Buf[][] outs;      // [H, len, D]: their running attention output
    private final Buf[][] lses;      // [H, len]: and its log-sum-exp
    private final long[] work;
    private final int[] blocks;
    private final int[] skipped;
    private long transferredFloats;
    private double transferMillis;

    /** What one rank did in the last {@link #prefill}: its chunks, visible (query, key) pairs, chunk pairs computed and skipped. */
    public record RankWork(int rank, List<RingLayout.Chunk> chunks, long work, int blocks, int skipped) {
        public int tokens() {
            return chunks.stream().mapToInt(RingLayout.Chunk::length).sum();
        }
    }

    /**
     * Which chunks of a prompt each rank holds, and the forward step each rank's model must take: {@code batch(r)}
     * sequences (its chunks) of {@code step(r)} tokens (the longest), at positions up to {@code positions(r)}.
     */
    public record Plan(RingLayout layout, int promptLength, List<RingLayout.Chunk> chunks, int[][] chunksOf) {
        public static Plan of(int promptLength, int ranks, RingLayout layout) {
            requireTokens(promptLength, ranks, layout);
            int[][] of = new int[ranks][];
            for (int r = 0; r < ranks; r++) {
                of[r] = layout.chunksOf(r, ranks);
            }
            return new Plan(layout, promptLength, layout.chunks(promptLength, ranks), of);
        }

        public int ranks() {
            return chunksOf.length;
        }

        public RingLayout.Chunk chunk(int r, int i) {
            return chunks.get(chunksOf[r][i]);
        }

        /** Sequences in rank r's forward step: one per chunk. */
        public int batch(int r) {
            return chunksOf[r].length;
        }

        /** Tokens per sequence in rank r's step: its longest chunk. */
        public int step(int r) {
            return Arrays.stream(chunksOf[r]).map(c -> chunks.get(c).length()).max().orElseThrow();
        }

        /** Positions rank r's cache must hold for its step (padding included). */
        public int positions(int r) {
            return Arrays.stream(chunksOf[r]).map(c -> chunks.get(c).start()).max().orElseThrow() + step(r);
        }
    }

    /** Fails, naming the fix, unless a prompt of {@code promptLength} tokens gives every chunk one. */
    public static void requireTokens(int promptLength, int n, RingLayout layout) {
        if (n < 1) {
            throw new InputException("--context-parallel needs at least 1 rank.");
        }
        int chunks = layout.chunks(promptLength, n).size();
        if (promptLength < chunks) {
            int most = layout == RingLayout.ZIGZAG ? promptLength / 2 : promptLength;
            throw new InputException("--context-parallel " + n + " with the " + layout.label() + " layout cuts the "
                    + "prompt into " + chunks + " chunks, but it has " + promptLength + " token"
                    + (promptLength == 1 ? "" : "s") + ": each chunk needs at least one. Use "
                    + (most >= 1 ? "at most " + most + " ranks, " : "") + "a longer prompt"
                    + (layout == RingLayout.ZIGZAG ? ", or --ring-layout contiguous" : "") + ".");
        }
    }

    /**
     * @param ranks models of one set of weights on their own backends, sized by {@link Plan} ({@code batch(r)}
     *              sequences, steps of {@code step(r)} tokens, {@code positions(r)} positions); rank 0 decodes
     *              afterwards and must also hold the continuation
     */
    public ContextParallel(List<DecoderModel> ranks, Plan plan) {
        int n = ranks.size();
        if (n != plan.ranks()) {
            throw new IllegalArgumentException(n + " models for a plan of " + plan.ranks() + " ranks");
        }
        this.ranks = List.copyOf(ranks);
        this.plan = plan;
        this.maxChunk = plan.chunks().stream().mapToInt(RingLayout.Chunk::length).max().orElseThrow();
        ModelConfig config = ranks.get(0).config();
        for (int r = 0; r < n; r++) {
            DecoderModel m = ranks.get(r);
            if (!m.config().equals(config)) {
                throw new IllegalArgumentException("rank " + r + " runs another model than rank 0");
            }
            if (m.maxBatch() < plan.batch(r) || m.maxStepRows() < plan.batch(r) * plan.step(r)
                    || m.maxSequence() < plan.positions(r)) {
                throw new IllegalArgumentException("rank " + r + " was sized for " + m.maxBatch() + " sequences, steps of "
                        + m.maxStepRows() + " rows and " + m.maxSequence() + " positions; it needs " + plan.batch(r)
                        + " x " + plan.step(r) + " tokens and " + plan.positions(r) + " positions");
            }
            if (!m.interventions().isEmpty()) {
                throw new InputException("--context-parallel runs each layer's attention as a ring; head interventions "
                        + "(--ablate, --scale-head, --attend-mask) need the whole attention on one device. Drop one of them.");
            }
        }
        int H = config.nHead();
        int Hkv = config.nKvHead();
        int D = config.headDim();
        int k = plan.batch(0);
        blockK = new Buf[n][k];
        blockV = new Buf[n][k];
        queries = new Buf[n][k];
        outs = new Buf[n][k];
        lses = new Buf[n][k];
        for (int r = 0; r < n; r++) {
            Backend b = ranks.get(r).backend();
            for (int i = 0; i < k; i++) {
                int len = plan.chunk(r, i).length();
                blockK[r][i] = b.alloc("ring k chunk [Hkv, " + maxChunk + ", D]", (long) Hkv * maxChunk * D);
                blockV[r][i] = b.alloc("ring v chunk [Hkv, " + maxChunk + ", D]", (long) Hkv * maxChunk * D);
                queries[r][i] = b.alloc("ring q chunk [H, " + len + ", D]", (long) H * len * D);
                outs[r][i] = b.alloc("ring out chunk [H, " + len + ", D]", (long) H * len * D);
                lses[r][i] = b.alloc("ring lse chunk [H, " + len + "]", (long) H * len);
            }
        }
        work = new long[n];
        blocks = new int[n];
        skipped = new int[n];
    }

    /**
     * Runs the prompt through every layer, split over the ranks, and leaves the whole prompt's keys and values in
     * rank 0's cache (sequence 0, positions 0 .. prompt.length - 1).
     *
     * @param allLogits the logits of every prompt position instead of the last one only
     * @param taps      the tap for each rank's part (rank → tap)
     * @return logits [1 or prompt.length, V]
     */
    public float[] prefill(int[] prompt, boolean allLogits, java.util.function.IntFunction<Tap> taps) {
        int n = ranks.size();
        if (prompt.length != plan.promptLength()) {
            throw new IllegalArgumentException("this plan is for " + plan.promptLength() + " tokens, not " + prompt.length);
        }
        Arrays.fill(work, 0);
        Arrays.fill(blocks, 0);
        Arrays.fill(skipped, 0);
        transferredFloats = 0;
        transferMillis = 0;
        int last = prompt.length - 1;
        List<DecoderModel.Pass> passes = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            int k = plan.batch(r);
            int T = plan.step(r);
            int[] tokens = new int[k * T];
            int[] start = new int[k];
            int[] length = new int[k];
            List<Integer> rows = new ArrayList<>();
            for (int i = 0; i < k; i++) {
                RingLayout.Chunk c = plan.chunk(r, i);
                System.arraycopy(prompt, c.start(), tokens, i * T, c.length());
                Arrays.fill(tokens, i * T + c.length(), (i + 1) * T, prompt[c.start() + c.length() - 1]);
                start[i] = c.start();
                length[i] = c.start() + c.length();
                for (int t = 0; t < c.length(); t++) {
                    if (allLogits || c.start() + t == last) {
                        rows.add(i * T + t);
                    }
                }
            }
            DecoderModel.Pass pass = ranks.get(r).pass(tokens, start, length, T,
                    rows.stream().mapToInt(Integer::intValue).toArray(), taps.apply(r));
            pass.embed();
            passes.add(pass);
        }
        int layerCount = ranks.get(0).config().nLayer();
        for (int i = 0; i < layerCount; i++) {
            for (DecoderModel.Pass pass : passes) {
                pass.beforeAttention(i);
            }
            ringAttention(i, passes);
            for (DecoderModel.Pass pass : passes) {
                pass.afterAttention(i);
            }
        }
        for (DecoderModel m : ranks) {
            m.backend().flush();
        }
        int V = ranks.get(0).config().vocabSize();
        float[] logits = new float[(allLogits ? prompt.length : 1) * V];
        for (int r = 0; r < n; r++) {
            float[] part = passes.get(r).logits();
            int row = 0;
            for (int i = 0; i < plan.batch(r); i++) {
                RingLayout.Chunk c = plan.chunk(r, i);
                for (int t = 0; t < c.length(); t++) {
                    if (allLogits) {
                        System.arraycopy(part, row++ * V, logits, (c.start() + t) * V, V);
                    } else if (c.start() + t == last) {
                        System.arraycopy(part, row++ * V, logits, 0, V);
                    }
                }
            }
        }
        return logits;
    }

    /** Layer i's attention as a ring over the ranks; rank 0 gathers every chunk into its cache on the way. */
    private void ringAttention(int layer, List<DecoderModel.Pass> passes) {
        int n = ranks.size();
        ModelConfig config = ranks.get(0).config();
        int H = config.nHead();
        int Hkv = config.nKvHead();
        int D = config.headDim();
        int k = plan.batch(0);
        // each rank's own chunks: queries packed out of the step's [k, H, T, D], keys and values out of its cache
        for (int r = 0; r < n; r++) {
            DecoderModel m = ranks.get(r);
            Backend b = m.backend();
            int T = plan.step(r);
            for (int i = 0; i < k; i++) {
                RingLayout.Chunk c = plan.chunk(r, i);
                for (int h = 0; h < H; h++) {
                    b.copy(passes.get(r).query(), ((long) (i * H + h) * T) * D, queries[r][i], (long) h * c.length() * D,
                            (long) c.length() * D);
                }
                for (int h = 0; h < Hkv; h++) {
                    long from = ((long) (i * Hkv + h) * m.maxSequence() + c.start()) * D;
                    b.copy(m.keyCache(layer), from, blockK[r][i], (long) h * maxChunk * D, (long) c.length() * D);
                    b.copy(m.valueCache(layer), from, blockV[r][i], (long) h * maxChunk * D, (long) c.length() * D);
                }
            }
        }
        // a query chunk's first block is attended plainly, the others accumulate onto it: no (0, -inf) start to
        // write, which would be a blocking write per rank, letting each rank's queued work run only when the host
        // reaches that rank (one rank after another instead of side by side)
        boolean[][] started = new boolean[n][k];
        int[] held = new int[n];
        for (int r = 0; r < n; r++) {
            held[r] = r;
        }
        float[][] staged = new float[n][];
        for (int step = 0; step < n; step++) {
            if (step > 0) {
                passBlocksOn(held, staged, Hkv * maxChunk * D);
            }
            for (int r = 0; r < n; r++) {
                attendToHeldBlock(r, held[r], layer, H, Hkv, D, started[r]);
            }
        }
        // the outputs back into the step's [k, H, T, D], where the layer's later phases read them
        for (int r = 0; r < n; r++) {
            Backend b = ranks.get(r).backend();
            int T = plan.step(r);
            for (int i = 0; i < k; i++) {
                int len = plan.chunk(r, i).length();
                for (int h = 0; h < H; h++) {
                    b.copy(outs[r][i], (long) h * len * D, passes.get(r).attended(), ((long) (i * H + h) * T) * D,
                            (long) len * D);
                }
            }
        }
    }

    /**
     * Rank r's queries against the chunks of rank j's block, which it holds now; rank 0 also keeps the chunks.
     * {@code started[qi]}: whether query chunk qi has attended to a block yet (its first block is not accumulated).
     */
    private void attendToHeldBlock(int r, int j, int layer, int H, int Hkv, int D, boolean[] started) {
        DecoderModel m = ranks.get(r);
        Backend b = m.backend();
        int k = plan.batch(r);
        for (int ki = 0; ki < k; ki++) {
            RingLayout.Chunk kc = plan.chunk(j, ki);
            if (r == 0) {
                // the gather: rank 0 keeps every chunk in sequence 0 of its cache, where decoding will read it
                for (int h = 0; h < Hkv; h++) {
                    long to = ((long) h * m.maxSequence() + kc.start()) * D;
                    b.copy(blockK[0][ki], (long) h * maxChunk * D, m.keyCache(layer), to, (long) kc.length() * D);
                    b.copy(blockV[0][ki], (long) h * maxChunk * D, m.valueCache(layer), to, (long) kc.length() * D);
                }
            }
            for (int qi = 0; qi < k; qi++) {
                RingLayout.Chunk qc = plan.chunk(r, qi);
                if (kc.index() > qc.index()) {
                    skipped[r]++; // every key of the chunk comes after every query
                    continue;
                }
                boolean diagonal = kc.index() == qc.index();
                AttentionProblem pair = new AttentionProblem(new AttentionShape(1, H, Hkv, qc.length(), kc.length(), D),
                        diagonal, ranks.get(0).config().attentionScale(), null);
                if (started[qi]) {
                    b.attentionAccumulate(outs[r][qi], lses[r][qi], queries[r][qi], blockK[r][ki], blockV[r][ki], pair,
                            maxChunk);
                } else {
                    b.attention(outs[r][qi], lses[r][qi], queries[r][qi], blockK[r][ki], blockV[r][ki], pair, maxChunk);
                    started[qi] = true;
                }
                work[r] += diagonal ? (long) H * qc.length() * (qc.length() + 1) / 2 : (long) H * qc.length() * kc.length();
                blocks[r]++;
            }
        }
    }

    /**
     * Every rank passes the block it holds to the next (through host memory), once every rank's work so far has
     * run: started on all of them first, so they run side by side.
     */
    private void passBlocksOn(int[] held, float[][] staged, int floats) {
        int n = ranks.size();
        int k = plan.batch(0);
        for (DecoderModel m : ranks) {
            m.backend().flush();
        }
        for (DecoderModel m : ranks) {
            m.backend().finish();
        }
        long t0 = System.nanoTime();
        for (int r = 0; r < n; r++) {
            Backend b = ranks.get(r).backend();
            staged[r] = staged[r] == null ? new float[2 * k * floats] : staged[r];
            for (int i = 0; i < k; i++) {
                b.read(blockK[r][i], 0, staged[r], 2 * i * floats, floats);
                b.read(blockV[r][i], 0, staged[r], (2 * i + 1) * floats, floats);
            }
        }
        int[] received = new int[n];
        for (int r = 0; r < n; r++) {
            int from = Math.floorMod(r - 1, n);
            Backend b = ranks.get(r).backend();
            for (int i = 0; i < k; i++) {
                b.write(blockK[r][i], 0, staged[from], 2 * i * floats, floats);
                b.write(blockV[r][i], 0, staged[from], (2 * i + 1) * floats, floats);
            }
            received[r] = held[from];
            transferredFloats += 2L * k * floats;
        }
        System.arraycopy(received, 0, held, 0, n);
        transferMillis += (System.nanoTime() - t0) / 1e6;
    }

    public Plan plan() {
        return plan;
    }

    /** Per rank, the work of the last prefill. */
    public List<RankWork> work() {
        List<RankWork> out = new ArrayList<>();
        for (int r = 0; r < ranks.size(); r++) {
            List<RingLayout.Chunk> chunks = new ArrayList<>();
            for (int i = 0; i < plan.batch(r); i++) {
                chunks.add(plan.chunk(r, i));
            }
            out.add(new RankWork(r, chunks, work[r], blocks[r], skipped[r]));
        }
        return out;
    }

    /** Largest over smallest visible (query, key) pairs per rank in the last prefill (1 is perfect balance). */
    public double workImbalance() {
        long max = Arrays.stream(work).max().orElse(0);
        long min = Arrays.stream(work).min().orElse(0);
        return min == 0 ? Double.POSITIVE_INFINITY : (double) max / min;
    }

    /** Bytes of key/value chunks passed between ranks in the last prefill (all layers). */
    public long transferredBytes() {
        return 4 * transferredFloats;
    }

    /**
     * Wall time of the last prefill spent passing blocks (reads, then writes, through host memory), after the ranks'
     * compute had finished: the time the ring adds over computing.
     */
    public double transferMillis() {
        return transferMillis;
    }
}
