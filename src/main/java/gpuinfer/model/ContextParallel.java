package gpuinfer.model;

import gpuinfer.InputException;
import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionShape;
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
 * attends to the block it received and merges that partial result into its own by log-sum-exp
 * ({@link Backend#mergeAttention}). No rank ever holds another rank's queries, and only one key/value block at a
 * time besides its own cache rows.
 *
 * <p>Layout: contiguous, rank r holds positions {@code starts[r] .. starts[r] + lengths[r] - 1} (the sizes differ by
 * at most one). A forward step of {@link DecoderModel} places a sequence's tokens at consecutive positions, so a
 * rank's tokens must be one range; the price is the causal imbalance: rank r attends to r + 1 blocks, and blocks
 * wholly after its queries are passed on without being computed (counted in {@link RankWork#skipped}).
 *
 * <p>The gather: every block passes rank 0 on its way round the ring, so rank 0 copies each into its own cache at
 * the block's positions; after the prefill, rank 0's cache holds every layer's keys and values for the whole prompt
 * and it decodes the continuation alone, like a single-device run. The logits of the last prompt position come from
 * the rank that holds it.
 *
 * <p>Blocks move between ranks through host memory (each rank's backend may be its own context); a step enqueues
 * every rank's attention and merge, starts them all ({@link Backend#flush}) and only then reads the blocks to pass
 * on, so the ranks compute side by side.
 */
public final class ContextParallel {
    private final List<DecoderModel> ranks;
    private final int[] starts;
    private final int[] lengths;
    private final int maxBlock;
    // per rank, allocated on its backend (released when the backend closes)
    private final Buf[] blockK;      // [Hkv, maxBlock, D]: the key block a rank holds this step
    private final Buf[] blockV;      // [Hkv, maxBlock, D]
    private final Buf[] partOut;     // [H, maxBlock, D]: attention over one received block
    private final Buf[] partLse;     // [H, maxBlock]
    private final long[] work;
    private final int[] blocks;
    private final int[] skipped;
    private long transferredFloats;
    private double transferMillis;

    /** What one rank did in the last {@link #prefill}: tokens, visible (query, key) pairs, blocks computed and skipped. */
    public record RankWork(int rank, int start, int tokens, long work, int blocks, int skipped) {
    }

    /**
     * @param ranks  N models of one set of weights on their own backends; rank 0 is the one that decodes afterwards
     *               and must hold {@code promptLength} positions plus the continuation; rank r must take
     *               {@link #split}'s {@code lengths[r]} tokens in one step at position {@code starts[r]}
     * @param promptLength tokens of the prompt this instance prefills
     */
    public ContextParallel(List<DecoderModel> ranks, int promptLength) {
        int n = ranks.size();
        requireTokens(promptLength, n);
        this.ranks = List.copyOf(ranks);
        int[][] split = split(promptLength, n);
        this.starts = split[0];
        this.lengths = split[1];
        this.maxBlock = Arrays.stream(lengths).max().orElseThrow();
        ModelConfig config = ranks.get(0).config();
        for (int r = 0; r < n; r++) {
            DecoderModel m = ranks.get(r);
            if (!m.config().equals(config)) {
                throw new IllegalArgumentException("rank " + r + " runs another model than rank 0");
            }
            if (m.maxStepRows() < lengths[r] || m.maxSequence() < starts[r] + lengths[r]) {
                throw new IllegalArgumentException("rank " + r + " was sized for steps of " + m.maxStepRows()
                        + " rows and " + m.maxSequence() + " positions; it needs " + lengths[r] + " tokens at position "
                        + starts[r]);
            }
            if (!m.interventions().isEmpty()) {
                throw new InputException("--context-parallel runs each layer's attention as a ring; head interventions "
                        + "(--ablate, --scale-head, --attend-mask) need the whole attention on one device. Drop one of them.");
            }
        }
        int H = config.nHead();
        int Hkv = config.nKvHead();
        int D = config.headDim();
        blockK = new Buf[n];
        blockV = new Buf[n];
        partOut = new Buf[n];
        partLse = new Buf[n];
        for (int r = 0; r < n; r++) {
            Backend b = ranks.get(r).backend();
            blockK[r] = b.alloc("ring k block [Hkv, " + maxBlock + ", D]", (long) Hkv * maxBlock * D);
            blockV[r] = b.alloc("ring v block [Hkv, " + maxBlock + ", D]", (long) Hkv * maxBlock * D);
            partOut[r] = b.alloc("ring partial out [H, " + maxBlock + ", D]", (long) H * maxBlock * D);
            partLse[r] = b.alloc("ring partial lse [H, " + maxBlock + "]", (long) H * maxBlock);
        }
        work = new long[n];
        blocks = new int[n];
        skipped = new int[n];
    }

    /** Fails, naming the fix, unless a prompt of {@code promptLength} tokens gives each of {@code n} ranks one. */
    public static void requireTokens(int promptLength, int n) {
        if (n < 1) {
            throw new InputException("--context-parallel needs at least 1 rank.");
        }
        if (promptLength < n) {
            throw new InputException("--context-parallel " + n + " splits the prompt's tokens over " + n
                    + " ranks, but the prompt has " + promptLength + " token" + (promptLength == 1 ? "" : "s")
                    + ": each rank needs at least one. Use at most " + promptLength + " ranks or a longer prompt.");
        }
    }

    /**
     * The contiguous split of {@code length} tokens over {@code n} ranks: {starts, lengths}, the first
     * {@code length % n} ranks one token longer.
     */
    public static int[][] split(int length, int n) {
        int[] starts = new int[n];
        int[] lengths = new int[n];
        int at = 0;
        for (int r = 0; r < n; r++) {
            lengths[r] = length / n + (r < length % n ? 1 : 0);
            starts[r] = at;
            at += lengths[r];
        }
        return new int[][] {starts, lengths};
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
        int total = starts[n - 1] + lengths[n - 1];
        if (prompt.length != total) {
            throw new IllegalArgumentException("this split is for " + total + " tokens, not " + prompt.length);
        }
        Arrays.fill(work, 0);
        Arrays.fill(blocks, 0);
        Arrays.fill(skipped, 0);
        transferredFloats = 0;
        transferMillis = 0;
        List<DecoderModel.Pass> passes = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            int[] tokens = Arrays.copyOfRange(prompt, starts[r], starts[r] + lengths[r]);
            int[] rows = allLogits ? range(lengths[r]) : r == n - 1 ? new int[] {lengths[r] - 1} : new int[0];
            DecoderModel.Pass pass = ranks.get(r).pass(tokens, new int[] {starts[r]}, new int[] {starts[r] + lengths[r]},
                    lengths[r], rows, taps.apply(r));
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
        float[] logits = new float[(allLogits ? total : 1) * V];
        for (int r = 0; r < n; r++) {
            float[] part = passes.get(r).logits();
            if (allLogits) {
                System.arraycopy(part, 0, logits, starts[r] * V, part.length);
            } else if (r == n - 1) {
                System.arraycopy(part, 0, logits, 0, V);
            }
        }
        return logits;
    }

    /** Layer i's attention as a ring over the ranks; rank 0 gathers every block into its cache on the way. */
    private void ringAttention(int layer, List<DecoderModel.Pass> passes) {
        int n = ranks.size();
        ModelConfig config = ranks.get(0).config();
        int H = config.nHead();
        int Hkv = config.nKvHead();
        int D = config.headDim();
        int[] held = new int[n];
        // step 0: each rank's own block, copied out of its cache, attended to with the causal mask (its diagonal)
        for (int r = 0; r < n; r++) {
            DecoderModel m = ranks.get(r);
            Backend b = m.backend();
            for (int h = 0; h < Hkv; h++) {
                long from = ((long) h * m.maxSequence() + starts[r]) * D;
                b.copy(m.keyCache(layer), from, blockK[r], (long) h * maxBlock * D, (long) lengths[r] * D);
                b.copy(m.valueCache(layer), from, blockV[r], (long) h * maxBlock * D, (long) lengths[r] * D);
            }
            DecoderModel.Pass pass = passes.get(r);
            b.attention(pass.attended(), pass.lse(), pass.query(), blockK[r], blockV[r],
                    problem(config, lengths[r], lengths[r], true), maxBlock);
            held[r] = r;
            work[r] += (long) H * lengths[r] * (lengths[r] + 1) / 2;
            blocks[r]++;
        }
        float[][] staged = new float[n][];
        for (int step = 1; step < n; step++) {
            // pass every block on: rank r's block goes to rank r + 1 (through host memory), once every rank's work
            // so far has run (started on all of them first, so they run side by side)
            for (DecoderModel m : ranks) {
                m.backend().flush();
            }
            for (DecoderModel m : ranks) {
                m.backend().finish();
            }
            long t0 = System.nanoTime();
            int floats = Hkv * maxBlock * D;
            for (int r = 0; r < n; r++) {
                Backend b = ranks.get(r).backend();
                staged[r] = new float[2 * floats];
                b.read(blockK[r], 0, staged[r], 0, floats);
                b.read(blockV[r], 0, staged[r], floats, floats);
            }
            int[] received = new int[n];
            for (int r = 0; r < n; r++) {
                int from = Math.floorMod(r - 1, n);
                Backend b = ranks.get(r).backend();
                b.write(blockK[r], 0, staged[from], 0, floats);
                b.write(blockV[r], 0, staged[from], floats, floats);
                received[r] = held[from];
                transferredFloats += 2L * floats;
            }
            System.arraycopy(received, 0, held, 0, n);
            transferMillis += (System.nanoTime() - t0) / 1e6;
            for (int r = 0; r < n; r++) {
                DecoderModel m = ranks.get(r);
                Backend b = m.backend();
                int j = held[r];
                if (r == 0) {
                    // the gather: rank 0 keeps every block in its cache, where the decode steps will read it
                    for (int h = 0; h < Hkv; h++) {
                        long to = ((long) h * m.maxSequence() + starts[j]) * D;
                        b.copy(blockK[r], (long) h * maxBlock * D, m.keyCache(layer), to, (long) lengths[j] * D);
                        b.copy(blockV[r], (long) h * maxBlock * D, m.valueCache(layer), to, (long) lengths[j] * D);
                    }
                }
                if (j > r) {
                    skipped[r]++; // every key of the block comes after every query of this rank
                    continue;
                }
                DecoderModel.Pass pass = passes.get(r);
                b.attention(partOut[r], partLse[r], pass.query(), blockK[r], blockV[r],
                        problem(config, lengths[r], lengths[j], false), maxBlock);
                b.mergeAttention(pass.attended(), pass.lse(), partOut[r], partLse[r], H * lengths[r], D);
                work[r] += (long) H * lengths[r] * lengths[j];
                blocks[r]++;
            }
        }
    }

    private static AttentionProblem problem(ModelConfig config, int queries, int keys, boolean causal) {
        return new AttentionProblem(new AttentionShape(1, config.nHead(), config.nKvHead(), queries, keys,
                config.headDim()), causal, config.attentionScale(), null);
    }

    /** Per rank, the work of the last prefill. */
    public List<RankWork> work() {
        List<RankWork> out = new ArrayList<>();
        for (int r = 0; r < ranks.size(); r++) {
            out.add(new RankWork(r, starts[r], lengths[r], work[r], blocks[r], skipped[r]));
        }
        return out;
    }

    /** Bytes of key/value blocks passed between ranks in the last prefill (all layers). */
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

    private static int[] range(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) {
            r[i] = i;
        }
        return r;
    }
}
