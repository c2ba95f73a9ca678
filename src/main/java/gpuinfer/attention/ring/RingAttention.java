package gpuinfer.attention.ring;

import gpuinfer.InputException;
import gpuinfer.attention.Attention;
import gpuinfer.attention.AttentionBuffers;
import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionResult;
import gpuinfer.attention.AttentionShape;
import gpuinfer.attention.FlashAttention;
import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClEvent;
import gpuinfer.cl.ClQueue;
import gpuinfer.cl.KernelTiming;
import gpuinfer.tensor.Tensor;
import gpuinfer.util.Sizes;
import gpuinfer.variants.KernelSettings;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Exact attention with the sequence split over N ranks as a ring (Liu, Zaharia, Abbeel 2023, "Ring Attention with
 * Blockwise Transformers"). Each rank keeps its query chunks and starts with the key/value chunks of the same
 * positions; at each of N steps it runs flash attention of its queries against the key/value block it holds,
 * continuing from its running output and log-sum-exp ({@link FlashAttention#enqueueAccumulate}: the kernels start
 * their online softmax from the running state, so the result equals a log-sum-exp merge of the block's partial
 * result, {@link LseMerge#reference}, without a buffer for that partial result), and passes the block to the next
 * rank.
 *
 * <p>Every (query chunk, key chunk) pair is fully visible (key chunk before the query chunk, or non-causal: flash
 * without mask), the same chunk (flash causal: equal lengths, so bottom-right alignment is the chunk's diagonal), or
 * fully masked (skipped and counted). Key padding: per key chunk starting at k0 with length n, batch b sees
 * clamp(L_b - k0, 0, n) of its keys. Causal ring runs need Sq = Sk (self-attention).
 *
 * <p>{@link RingMemory#OVERLAP} (double buffering): each rank has two K/V slots; a step's kernels read one while the
 * blocks of the next step are copied into the other. Ranks on one context (device copies): the host enqueues every
 * step at once and the queues wait for each other by events (markers and barriers, see
 * {@link #stepsOrderedByEvents}); a rank's transfer time is the device time of its copies. Ranks on separate
 * contexts, whose events another context cannot wait for: in a step, the host enqueues every rank's flash kernels
 * without waiting, then passes the blocks on through host memory while those kernels run, then waits for the
 * compute queues; a rank's transfer time is the wall time of its sends.
 *
 * <p>{@link RingMemory#LOW}: one K/V slot per rank. A step's kernels run to the end; then the blocks rotate through
 * host memory: the last rank's block is read to the host, then from the last rank down each rank's slot receives
 * its predecessor's block (read to the host, written into the slot), and rank 0 receives the saved one. No device
 * ever holds a second block, the host at most two; transfers no longer overlap compute.
 *
 * <p>Before allocating anything, {@link #checkFits} compares each rank's device memory ({@link #rankBytes}) with its
 * device's global memory (ranks on one device, sub-devices of it included, together) and its largest buffer with
 * the per-buffer limit.
 */
public final class RingAttention implements AutoCloseable {
    private final List<Rank> ranks;
    private final RingLayout layout;
    private final BlockTransfer transfer;
    private final RingMemory memory;
    private final List<FlashAttention> flash = new ArrayList<>();

    /**
     * @param layout null for the default: zigzag when causal, else contiguous (decided per problem)
     */
    public RingAttention(List<Rank> ranks, RingLayout layout, BlockTransfer transfer, KernelSettings settings,
                         Map<String, String> overrides) {
        this(ranks, layout, RingMemory.OVERLAP, transfer, settings, overrides);
    }

    /**
     * @param layout   null for the default: zigzag when causal, else contiguous (decided per problem)
     * @param memory   two K/V slots per rank (transfers overlap compute) or one (blocks rotate through the host)
     * @param transfer how blocks move in the overlap mode (the low-memory mode always goes through the host)
     */
    public RingAttention(List<Rank> ranks, RingLayout layout, RingMemory memory, BlockTransfer transfer,
                         KernelSettings settings, Map<String, String> overrides) {
        this(ranks, layout, memory, transfer, context -> settings, overrides);
    }

    /**
     * As above, with each rank's kernels built with the settings of its own context ({@code settingsOf}: tuned
     * values, self-test verdicts and the family of its device), so that ranks on different devices each run what
     * suits theirs.
     */
    public RingAttention(List<Rank> ranks, RingLayout layout, RingMemory memory, BlockTransfer transfer,
                         java.util.function.Function<gpuinfer.cl.ClContext, KernelSettings> settingsOf,
                         Map<String, String> overrides) {
        if (ranks.isEmpty()) {
            throw new InputException("--ring needs at least 1 rank.");
        }
        this.ranks = List.copyOf(ranks);
        this.layout = layout;
        this.memory = memory;
        this.transfer = transfer;
        try {
            for (Rank rank : ranks) {
                flash.add(new FlashAttention(rank.context(), settingsOf.apply(rank.context()), overrides));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    public RingAttention(List<Rank> ranks, RingLayout layout) {
        this(ranks, layout, RingMemory.OVERLAP);
    }

    public RingAttention(List<Rank> ranks, RingLayout layout, RingMemory memory) {
        this(ranks, layout, memory, BlockTransfer.forRanks(ranks), KernelSettings.defaults(), Map.of());
    }

    /** How blocks move: the overlap mode's transfer (and whether events order the queues), or "host-staged (one slot)". */
    public String transferName() {
        return memory == RingMemory.LOW ? "host-staged (one slot)"
                : orderedByEvents() ? transfer.name() + ", queues ordered by events" : transfer.name();
    }

    /** How a problem is cut: the layout, its query and key chunks, and the longest of each. */
    private record Plan(RingLayout layout, List<RingLayout.Chunk> qChunks, List<RingLayout.Chunk> kChunks, int maxQ,
                        int maxK) {
    }

    private Plan plan(AttentionProblem problem) {
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
        return new Plan(lay, qChunks, kChunks, qChunks.stream().mapToInt(RingLayout.Chunk::length).max().orElseThrow(),
                kChunks.stream().mapToInt(RingLayout.Chunk::length).max().orElseThrow());
    }

    /**
     * The device memory each rank allocates for a problem, before anything is allocated: its query chunks, their
     * output and log-sum-exp, its K/V slots (one or two, each
     * holding its chunks' keys and values), the key lengths, and the flash workspace.
     */
    public long[] rankBytes(AttentionProblem problem) {
        Plan plan = plan(problem);
        long[] bytes = new long[ranks.size()];
        for (int r = 0; r < bytes.length; r++) {
            bytes[r] = rankBytes(problem, plan, r);
        }
        return bytes;
    }

    private long rankBytes(AttentionProblem problem, Plan plan, int r) {
        AttentionShape s = problem.shape();
        long bh = (long) s.batch() * s.heads();
        long bkv = (long) s.batch() * s.kvHeads();
        int d = s.headDim();
        int[] chunks = plan.layout().chunksOf(r, ranks.size());
        long bytes = 0;
        for (int c : chunks) {
            int len = plan.qChunks().get(c).length();
            bytes += 2 * 4L * bh * len * d + 4L * bh * len;
        }
        bytes += memory.slots() * chunks.length * 2 * 4L * bkv * plan.maxK() * d;
        if (problem.kvLens() != null) {
            bytes += 4L * s.batch();
        }
        return bytes + flash.get(r).workspaceBytes(chunkProblem(problem, plan.maxQ(), plan.maxK(), false, null));
    }

    /** Device memory single-device flash attention allocates for the whole problem (the figure ranks divide). */
    public long singleDeviceBytes(AttentionProblem problem) {
        return flash.get(0).deviceBytes(problem);
    }

    /**
     * Refuses, before allocating anything, a problem whose ranks do not fit their devices: the ranks on one device
     * (queue pairs or contexts on it, or its sub-devices, which share its memory) together against its global
     * memory, and the largest buffer against the per-buffer limit. The message names the figures and the ways out.
     */
    public void checkFits(AttentionProblem problem) {
        Plan plan = plan(problem);
        AttentionShape s = problem.shape();
        long largest = Math.max(4L * s.batch() * s.heads() * plan.maxQ() * s.headDim(),
                4L * s.batch() * s.kvHeads() * plan.maxK() * s.headDim());
        Map<String, Long> perDevice = new java.util.LinkedHashMap<>();
        Map<String, gpuinfer.cl.DeviceInfo> infos = new java.util.HashMap<>();
        long most = 0;
        for (int r = 0; r < ranks.size(); r++) {
            long bytes = rankBytes(problem, plan, r);
            most = Math.max(most, bytes);
            gpuinfer.cl.ClDevice device = ranks.get(r).context().device();
            while (device.parent() != null) {
                device = device.parent();
            }
            perDevice.merge(device.id(), bytes, Long::sum);
            infos.put(device.id(), ranks.get(r).context().device().info());
        }
        for (Map.Entry<String, Long> e : perDevice.entrySet()) {
            gpuinfer.cl.DeviceInfo info = infos.get(e.getKey());
            if (e.getValue() > info.globalMemBytes() || largest > info.maxAllocBytes()) {
                throw new InputException("--ring " + ranks.size() + " (" + memory.label()
                        + " memory) cannot run " + s + " on '" + info.name() + "': each rank needs up to "
                        + Sizes.bytes(most) + " of device memory (" + most + " bytes; the ranks on this device "
                        + Sizes.bytes(e.getValue()) + " together), with one buffer of " + Sizes.bytes(largest)
                        + "; the device has " + Sizes.bytes(info.globalMemBytes()) + " and allows "
                        + Sizes.bytes(info.maxAllocBytes()) + " per buffer. Use more ranks (--ring " + 2 * ranks.size()
                        + ")" + (memory == RingMemory.OVERLAP ? ", --ring-memory low (one key/value slot per rank)" : "")
                        + ", ranks on separate devices, or a smaller shape.");
            }
        }
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
        final ClBuffer[][] slotK = new ClBuffer[memory.slots()][];
        final ClBuffer[][] slotV = new ClBuffer[memory.slots()][];
        ClBuffer lens;
        final List<ClBuffer> all = new ArrayList<>();
        long bytes;
        long work;
        int blocks;
        int skipped;
        double transferMillis;
        final List<KernelTiming> kernels = new ArrayList<>();
        final List<RankTimeline.Transfer> transfers = new ArrayList<>();
        long deviceToHostNs = Long.MIN_VALUE;

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
        Plan plan = plan(problem);
        checkFits(problem);
        RingLayout lay = plan.layout();
        List<RingLayout.Chunk> qChunks = plan.qChunks();
        List<RingLayout.Chunk> kChunks = plan.kChunks();
        int maxQ = plan.maxQ();
        int maxK = plan.maxK();
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
                for (int slot = 0; slot < memory.slots(); slot++) {
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
            if (orderedByEvents()) {
                stepsOrderedByEvents(problem, states, plan, bkv * d);
            } else {
                stepsOrderedByHost(problem, states, plan, bkv * d);
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
            List<RankTimeline> timelines = new ArrayList<>();
            long totalBytes = 0;
            for (int r = 0; r < n; r++) {
                RankState st = states.get(r);
                long bytes = st.bytes + flash.get(r).workspaceBytes(chunkProblem(problem, maxQ, maxK, false, null));
                totalBytes += bytes;
                kernels.addAll(st.kernels);
                stats.add(new RankStats(r, st.rank.context().device().name(), st.work, st.blocks, st.skipped,
                        st.kernels.stream().mapToDouble(KernelTiming::millis).sum(), st.transferMillis, bytes));
                timelines.add(new RankTimeline(r, List.copyOf(st.kernels),
                        st.deviceToHostNs == Long.MIN_VALUE ? 0 : st.deviceToHostNs, List.copyOf(st.transfers)));
            }
            AttentionResult result = new AttentionResult(out, lse, kernels, uploadMillis, (t2 - t1) / 1e6,
                    (t3 - t2) / 1e6, totalBytes);
            return new RingResult(result, stats, lay, memory, transferName(), (t3 - start) / 1e6, timelines);
        } finally {
            states.forEach(RankState::close);
        }
    }

    /**
     * Ends each rank's recording of its compute queue: keeps the launches, and moves the rank's device-to-host clock
     * offset to the largest seen (the host time just before its first launch of the step minus that launch's queued
     * timestamp, {@code hostBefore[r]}).
     */
    private static void stopRecording(List<RankState> states, long[] hostBefore) {
        for (int r = 0; r < states.size(); r++) {
            RankState st = states.get(r);
            List<KernelTiming> launched = st.rank.compute().stopRecording();
            if (!launched.isEmpty()) {
                st.deviceToHostNs = Math.max(st.deviceToHostNs, hostBefore[r] - launched.get(0).queuedNs());
            }
            st.kernels.addAll(launched);
        }
    }

    /**
     * The steps ordered by the host: each step's kernels are enqueued on every rank, then (overlap) the blocks sent
     * with blocking calls while they run, and the step ends when every compute queue has finished; or (low memory)
     * the blocks rotate through the host after the kernels have finished.
     */
    private void stepsOrderedByHost(AttentionProblem problem, List<RankState> states, Plan plan, int floatsPerRow) {
        int n = states.size();
        RingLayout lay = plan.layout();
        List<RingLayout.Chunk> qChunks = plan.qChunks();
        List<RingLayout.Chunk> kChunks = plan.kChunks();
        for (int step = 0; step < n; step++) {
            int slot = step % memory.slots();
            // Enqueue every rank's work of this step without waiting. Overlap mode: the transfers below run
            // meanwhile on the transfer queues (they read the slot the kernels read, and write the other slot,
            // which no kernel of this step uses); the step ends when every compute queue has finished. Low-memory
            // mode: the blocks rotate after the kernels have finished.
            long[] hostBefore = new long[n];
            try {
                for (int r = 0; r < n; r++) {
                    RankState st = states.get(r);
                    int[] kvChunkIds = lay.chunksOf(Math.floorMod(r - step, n), n);
                    hostBefore[r] = System.nanoTime();
                    st.rank.compute().startRecording();
                    for (int qi = 0; qi < st.queryChunks.length; qi++) {
                        for (int ki = 0; ki < kvChunkIds.length; ki++) {
                            computePair(problem, st, flash.get(r), qChunks.get(st.queryChunks[qi]), qi,
                                    kChunks.get(kvChunkIds[ki]), st.slotK[slot][ki], st.slotV[slot][ki]);
                        }
                    }
                    st.rank.compute().flush();   // the ranks' kernels start now, while the host sends the blocks
                }
                if (memory == RingMemory.OVERLAP) {
                    sendBlocks(states, lay, kChunks, step, slot, floatsPerRow);
                }
            } finally {
                stopRecording(states, hostBefore);
            }
            if (memory == RingMemory.LOW) {
                rotateThroughHost(states, lay, kChunks, step, floatsPerRow);
            }
        }
    }

    /** Overlap mode with every rank on one context and device copies: the queues wait for each other by events. */
    private boolean orderedByEvents() {
        return memory == RingMemory.OVERLAP && transfer.onDevice()
                && ranks.stream().allMatch(r -> r.context() == ranks.get(0).context());
    }

    /**
     * The steps ordered by events, the host never waiting in between. Rank r's kernels of a step wait for the block
     * of that step to have arrived (a marker on the sender's transfer queue after its copies); its copies onward wait
     * for the same arrival (they read that block), for the next rank's kernels of the step before (a marker on its
     * compute queue) and for the next rank's copies of the step before (the arrival they marked at the rank after
     * it): those two read the slot these copies overwrite. The transfer time of a rank is the device time of its
     * copies.
     */
    private void stepsOrderedByEvents(AttentionProblem problem, List<RankState> states, Plan plan, int floatsPerRow) {
        int n = states.size();
        RingLayout lay = plan.layout();
        List<RingLayout.Chunk> qChunks = plan.qChunks();
        List<RingLayout.Chunk> kChunks = plan.kChunks();
        record Copy(RankState from, String what, ClEvent event, long bytes, long hostBefore) {
        }
        List<ClEvent> markers = new ArrayList<>();
        List<Copy> copies = new ArrayList<>();
        long[] hostBefore = new long[n];
        ClEvent[] computed = new ClEvent[n]; // per rank: its kernels of the previous step have finished
        ClEvent[] arrived = new ClEvent[n];  // per rank: the block of this step has arrived in its slot
        RuntimeException failed = null;
        try {
            for (int step = 0; step < n; step++) {
                int slot = step % 2;
                ClEvent[] nowComputed = new ClEvent[n];
                for (int r = 0; r < n; r++) {
                    RankState st = states.get(r);
                    ClQueue compute = st.rank.compute();
                    if (step == 0) {
                        hostBefore[r] = System.nanoTime();
                        compute.startRecording();
                    }
                    if (arrived[r] != null) {
                        compute.waitFor(arrived[r]);
                    }
                    int[] kvChunkIds = lay.chunksOf(Math.floorMod(r - step, n), n);
                    for (int qi = 0; qi < st.queryChunks.length; qi++) {
                        for (int ki = 0; ki < kvChunkIds.length; ki++) {
                            computePair(problem, st, flash.get(r), qChunks.get(st.queryChunks[qi]), qi,
                                    kChunks.get(kvChunkIds[ki]), st.slotK[slot][ki], st.slotV[slot][ki]);
                        }
                    }
                    nowComputed[r] = compute.marker("ring rank " + r + " step " + step + " computed");
                    markers.add(nowComputed[r]);
                    // submitted now: another queue waits on this marker, and OpenCL requires the queue that will
                    // signal an event to be flushed before a different queue waits on it (drivers that defer
                    // submission would otherwise stall or run the ranks one after another)
                    compute.flush();
                }
                if (step + 1 < n) {
                    ClEvent[] nowArrived = new ClEvent[n];
                    for (int r = 0; r < n; r++) {
                        RankState from = states.get(r);
                        int next = (r + 1) % n;
                        RankState to = states.get(next);
                        ClQueue queue = from.rank.transfer();
                        if (arrived[r] != null) {
                            queue.waitFor(arrived[r]);
                        }
                        if (computed[next] != null) {
                            queue.waitFor(computed[next]);
                        }
                        // the next rank's copies of the step before read the slot these overwrite; their marker is
                        // the arrival at the rank after it (for N = 2, rank r itself: already waited for)
                        ClEvent nextSent = arrived[(r + 2) % n];
                        if (nextSent != null && nextSent != arrived[r]) {
                            queue.waitFor(nextSent);
                        }
                        int[] kvChunkIds = lay.chunksOf(Math.floorMod(r - step, n), n);
                        for (int i = 0; i < kvChunkIds.length; i++) {
                            long bytes = 4L * floatsPerRow * kChunks.get(kvChunkIds[i]).length();
                            String what = " chunk " + kvChunkIds[i] + " to rank " + next;
                            long h = System.nanoTime();
                            copies.add(new Copy(from, "send k" + what, queue.copyWithEvent(from.slotK[slot][i], 0,
                                    to.slotK[1 - slot][i], 0, bytes, "ring copy k" + what), bytes, h));
                            h = System.nanoTime();
                            copies.add(new Copy(from, "send v" + what, queue.copyWithEvent(from.slotV[slot][i], 0,
                                    to.slotV[1 - slot][i], 0, bytes, "ring copy v" + what), bytes, h));
                        }
                        nowArrived[next] = queue.marker("ring step " + step + " block to rank " + next);
                        markers.add(nowArrived[next]);
                        queue.flush();   // the compute queues wait on it (see above)
                    }
                    arrived = nowArrived;
                }
                computed = nowComputed;
            }
        } catch (RuntimeException e) {
            failed = e;
            throw e;
        } finally {
            try {
                for (RankState st : states) {
                    st.rank.transfer().finish();   // after a failure too: the copies' timings below need them done
                }
                stopRecording(states, hostBefore);
                for (Copy c : copies) {
                    c.from().deviceToHostNs = Math.max(c.from().deviceToHostNs, c.hostBefore() - c.event().queuedNs());
                }
                for (Copy c : copies) {
                    long offset = c.from().deviceToHostNs;
                    c.from().transfers.add(new RankTimeline.Transfer(c.what(), c.event().startNs() + offset,
                            c.event().endNs() + offset, c.bytes()));
                    c.from().transferMillis += (c.event().endNs() - c.event().startNs()) / 1e6;
                }
            } catch (RuntimeException timing) {
                if (failed == null) {
                    throw timing;
                }
                failed.addSuppressed(timing);   // the step's own failure is the one to report
            } finally {
                copies.forEach(c -> c.event().close());
                markers.forEach(ClEvent::close);
            }
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
            String toRank = " to rank " + to.rank.index();
            for (int i = 0; i < kvChunkIds.length; i++) {
                int floats = floatsPerRow * kChunks.get(kvChunkIds[i]).length();
                String chunk = " chunk " + kvChunkIds[i];
                ClBuffer srcK = from.slotK[slot][i];
                ClBuffer dstK = to.slotK[1 - slot][i];
                ClBuffer srcV = from.slotV[slot][i];
                ClBuffer dstV = to.slotV[1 - slot][i];
                timed(from, "send k" + chunk + toRank, floats, () -> transfer.send(from.rank, srcK, to.rank, dstK, floats));
                timed(from, "send v" + chunk + toRank, floats, () -> transfer.send(from.rank, srcV, to.rank, dstV, floats));
            }
        }
    }

    /**
     * Low-memory mode, after step {@code step}'s kernels have finished: every rank's block moves into the next rank's
     * only slot through host memory. The last rank's block is saved first; then, from the last rank down, each rank
     * reads its predecessor's block (on the predecessor's transfer queue) and writes it into its own slot; rank 0
     * gets the saved one. A read is timed on the sender, a write on the receiver; both count as the sender's
     * transfer time.
     */
    private void rotateThroughHost(List<RankState> states, RingLayout lay, List<RingLayout.Chunk> kChunks, int step,
                                   int floatsPerRow) {
        int n = states.size();
        if (step + 1 >= n) {
            return;
        }
        RankState last = states.get(n - 1);
        int[] lastChunks = lay.chunksOf(Math.floorMod(n - 1 - step, n), n);
        float[][] savedK = new float[lastChunks.length][];
        float[][] savedV = new float[lastChunks.length][];
        for (int i = 0; i < lastChunks.length; i++) {
            int floats = floatsPerRow * kChunks.get(lastChunks[i]).length();
            savedK[i] = readBlock(last, last.slotK[0][i], floats, "read k chunk " + lastChunks[i] + " for rank 0");
            savedV[i] = readBlock(last, last.slotV[0][i], floats, "read v chunk " + lastChunks[i] + " for rank 0");
        }
        float[] staging = new float[0];
        for (int r = n - 1; r >= 1; r--) {
            RankState from = states.get(r - 1);
            RankState to = states.get(r);
            int[] chunks = lay.chunksOf(Math.floorMod(r - 1 - step, n), n);
            for (int i = 0; i < chunks.length; i++) {
                int floats = floatsPerRow * kChunks.get(chunks[i]).length();
                if (staging.length < floats) {
                    staging = new float[floats];
                }
                for (boolean isK : new boolean[] {true, false}) {
                    String what = (isK ? "k" : "v") + " chunk " + chunks[i];
                    float[] block = staging;
                    ClBuffer src = isK ? from.slotK[0][i] : from.slotV[0][i];
                    ClBuffer dst = isK ? to.slotK[0][i] : to.slotV[0][i];
                    timed(from, "read " + what + " for rank " + r, floats,
                            () -> from.rank.transfer().read(src, 0, block, 0, floats));
                    timed(to, "write " + what + " from rank " + (r - 1), floats,
                            () -> to.rank.transfer().write(dst, 0, block, 0, floats), from);
                }
            }
        }
        RankState first = states.get(0);
        for (int i = 0; i < lastChunks.length; i++) {
            int floats = floatsPerRow * kChunks.get(lastChunks[i]).length();
            float[] k = savedK[i];
            float[] v = savedV[i];
            ClBuffer dstK = first.slotK[0][i];
            ClBuffer dstV = first.slotV[0][i];
            timed(first, "write k chunk " + lastChunks[i] + " from rank " + (n - 1), floats,
                    () -> first.rank.transfer().write(dstK, 0, k, 0, floats), last);
            timed(first, "write v chunk " + lastChunks[i] + " from rank " + (n - 1), floats,
                    () -> first.rank.transfer().write(dstV, 0, v, 0, floats), last);
        }
    }

    private float[] readBlock(RankState st, ClBuffer src, int floats, String what) {
        float[] block = new float[floats];
        timed(st, what, floats, () -> st.rank.transfer().read(src, 0, block, 0, floats));
        return block;
    }

    /** Runs a blocking transfer, records it on {@code track}'s timeline and adds its time to the sender's total. */
    private static void timed(RankState track, String what, long floats, Runnable call) {
        timed(track, what, floats, call, track);
    }

    private static void timed(RankState track, String what, long floats, Runnable call, RankState sender) {
        long t0 = System.nanoTime();
        call.run();
        long t1 = System.nanoTime();
        track.transfers.add(new RankTimeline.Transfer(what, t0, t1, 4 * floats));
        sender.transferMillis += (t1 - t0) / 1e6;
    }

    /** Flash of one query chunk against one key chunk, accumulated into the chunk's running output; or a skip. */
    private void computePair(AttentionProblem problem, RankState st, FlashAttention op,
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
        op.enqueueAccumulate(st.rank.compute(), part,
                new AttentionBuffers(st.q[qi], kBuf, vBuf, st.out[qi], st.lse[qi], st.lens, kc.length()));
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
        flash.clear();
    }
}
