package gpuinfer.ops;

import gpuinfer.attention.AttentionBuffers;
import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.FlashAttention;
import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClQueue;
import gpuinfer.util.Closing;
import gpuinfer.variants.KernelSettings;
import gpuinfer.weights.WeightTensor;
import gpuinfer.weights.WeightType;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import java.util.ArrayList;
import java.util.List;

/**
 * Every op on one OpenCL context, enqueued on its default queue without waiting; {@link #read} blocks. The
 * backend owns the buffers it hands out, the small int32 buffers it fills with token ids, positions and lengths,
 * and the rotary embeddings' cos/sin table; {@link #close()} releases them all (not the context).
 */
public final class ClBackend implements Backend {
    /** A device buffer of {@code size} values stored in {@code type}. */
    record DeviceBuf(String name, ClBuffer buffer, WeightType type, long size) implements Buf {
        DeviceBuf(String name, ClBuffer buffer) {
            this(name, buffer, WeightType.F32, buffer.bytes() / 4);
        }
    }

    /** Bytes per upload of a weight that is computed row by row (converted or transposed at load). */
    private static final int UPLOAD_CHUNK_BYTES = 16 << 20;

    private final ClContext context;
    private final ClQueue queue;
    private final List<ClBuffer> owned = new ArrayList<>();
    /** F32, F16 and BF16 weights packed into panels by their first product, by the buffer they were uploaded to. */
    private final java.util.Map<ClBuffer, Linear.OnDevice.Panels> panels = new java.util.IdentityHashMap<>();
    private final Linear.OnDevice linear;
    private final TransformerKernels kernels;
    private final FlashAttention attention;
    private final IntBuffer tokens = new IntBuffer("tokens");
    private final IntBuffer positions = new IntBuffer("positions");
    private final IntBuffer starts = new IntBuffer("cache starts");
    private final IntBuffer lengths = new IntBuffer("kv lengths");
    private final IntBuffer rows = new IntBuffer("gathered rows");
    private final IntBuffer visibleKeys = new IntBuffer("visible keys per row");
    private final IntBuffer hiddenKeys = new IntBuffer("hidden key ranges");
    /** Built on the first intervention: a plain forward pass compiles and launches nothing more. */
    private HeadInterventions.Kernels interventionKernels;
    private final RopeTable ropeTable = new RopeTable();

    /** Whether weights are always copied to device memory, even where the device could read them in place. */
    private final boolean copyWeights;

    /**
     * A backend on {@code context}. A CPU device reads a memory-mapped weight where it lies, unless the environment
     * sets {@code GPU_INFER_COPY_WEIGHTS=1} (then every weight is copied, as for a GPU).
     */
    public ClBackend(ClContext context) {
        this(context, KernelSettings.defaults());
    }

    /** A backend with the device's settings: tuned kernel values and the variants the self-test disabled. */
    public ClBackend(ClContext context, KernelSettings settings) {
        this(context, settings, "1".equals(System.getenv("GPU_INFER_COPY_WEIGHTS")));
    }

    ClBackend(ClContext context, KernelSettings settings, boolean copyWeights) {
        this.context = context;
        this.copyWeights = copyWeights;
        this.queue = context.queue();
        Linear.OnDevice madeLinear = null;
        TransformerKernels madeKernels = null;
        try {
            madeLinear = new Linear.OnDevice(context, settings, java.util.Map.of());
            madeKernels = new TransformerKernels(context);
            this.attention = new FlashAttention(context, settings, java.util.Map.of());
        } catch (RuntimeException e) {
            throw Closing.afterFailure(e, madeLinear, madeKernels);
        }
        this.linear = madeLinear;
        this.kernels = madeKernels;
        // a forward step's launches are enqueued behind a barrier and run together at the step's read
        queue.setBatching(true);
    }

    public ClContext context() {
        return context;
    }

    @Override
    public String name() {
        return "opencl";
    }

    private static ClBuffer b(Buf buf) {
        return buf == null ? null : ((DeviceBuf) buf).buffer();
    }

    @Override
    public Buf alloc(String name, long size) {
        ClBuffer buffer = context.createBuffer(4 * Math.max(1, size), name);
        owned.add(buffer);
        return new DeviceBuf(name, buffer);
    }

    @Override
    public Buf upload(String name, float[] data) {
        ClBuffer buffer = context.createBuffer(data, name);
        owned.add(buffer);
        return new DeviceBuf(name, buffer);
    }

    @Override
    public Buf upload(String name, WeightTensor weight) {
        java.util.Optional<ByteBuffer> stored = weight.buffer();
        if (stored.isPresent() && stored.get().isDirect() && context.device().info().sharesHostMemory() && !copyWeights) {
            // a CPU device reads the mapped file where it lies: no copy, no second resident copy of the weights
            ClBuffer buffer = context.wrapHostMemory(stored.get(), name);
            owned.add(buffer);
            return new DeviceBuf(name, buffer, weight.type(), weight.elementCount());
        }
        ClBuffer buffer = context.createBuffer(Math.max(1, weight.storedBytes()), name);
        owned.add(buffer);
        if (stored.isPresent()) {
            queue.write(buffer, 0, stored.get());
        } else {
            int rowsPerChunk = (int) Math.max(1, Math.min(weight.rows(), UPLOAD_CHUNK_BYTES / Math.max(1, weight.rowBytes())));
            ByteBuffer chunk = ByteBuffer.allocateDirect(Math.toIntExact(rowsPerChunk * weight.rowBytes()))
                    .order(ByteOrder.LITTLE_ENDIAN);
            for (long row = 0; row < weight.rows(); row += rowsPerChunk) {
                int n = (int) Math.min(rowsPerChunk, weight.rows() - row);
                chunk.clear();
                weight.storedRows(row, n, chunk);
                chunk.flip();
                queue.write(buffer, row * weight.rowBytes(), chunk);
                gpuinfer.util.Interruption.check();
            }
        }
        return new DeviceBuf(name, buffer, weight.type(), weight.elementCount());
    }

    @Override
    public void read(Buf src, long offset, float[] dst, int from, int count) {
        queue.read(b(src), offset, dst, from, count);
    }

    @Override
    public void write(Buf dst, long offset, float[] src, int from, int count) {
        queue.write(b(dst), offset, src, from, count);
    }

    @Override
    public void copy(Buf src, long srcOffset, Buf dst, long dstOffset, long count) {
        queue.copy(b(src), 4 * srcOffset, b(dst), 4 * dstOffset, 4 * count);
    }

    @Override
    public void attentionAccumulate(Buf out, Buf lse, Buf q, Buf k, Buf v, AttentionProblem problem, int sMax) {
        ClBuffer lens = problem.kvLens() == null ? null : lengths.with(problem.kvLens());
        attention.enqueueAccumulate(queue, problem, new AttentionBuffers(b(q), b(k), b(v), b(out), b(lse), lens, sMax));
    }

    @Override
    public void embed(Buf y, Buf wte, Buf wpe, int[] tokenIds, int[] tokenPositions, int C) {
        boolean table = wpe != null;
        Embedding.enqueue(kernels, queue, b(y), b(wte), wte.type(), b(wpe), table ? wpe.type() : null,
                tokens.with(tokenIds), table ? positions.with(tokenPositions) : null, tokenIds.length, C);
    }

    @Override
    public void layerNorm(Buf y, Buf x, Buf weight, Buf bias, int R, int C, float eps) {
        LayerNorm.enqueue(kernels, queue, b(y), b(x), b(weight), b(bias), R, C, eps);
    }

    @Override
    public void linear(Buf y, Buf x, Buf w, Buf bias, Buf residual, int R, int N, int K, Activation act) {
        if (linear.packsOnce(w.type())) {
            linear.enqueue(queue, b(y), b(x), panels(w, N, K), b(bias), b(residual), R, act);
        } else {
            linear.enqueue(queue, b(y), b(x), b(w), w.type(), b(bias), b(residual), R, N, K, act);
        }
    }

    /**
     * Weight {@code w} [N, K] as linear_packed's panels, packed on its first product and kept as long as the backend
     * (the weights of a model do not change): see {@link Linear.OnDevice#packsOnce}.
     */
    private Linear.OnDevice.Panels panels(Buf w, int N, int K) {
        ClBuffer stored = b(w);
        Linear.OnDevice.Panels known = panels.get(stored);
        if (known == null || known.N() != N || known.K() != K) {
            if (known != null) {
                throw new IllegalArgumentException("weight '" + stored.label() + "' was multiplied as [" + known.N() + ", "
                        + known.K() + "] before and now as [" + N + ", " + K + "]");
            }
            known = linear.pack(queue, stored, w.type(), N, K);
            panels.put(stored, known);
        }
        return known;
    }

    @Override
    public void rmsNorm(Buf y, Buf x, Buf weight, int R, int C, float eps) {
        RmsNorm.enqueue(kernels, queue, b(y), b(x), b(weight), R, C, eps);
    }

    @Override
    public void swiglu(Buf y, Buf gate, Buf up, int R, int I) {
        SwiGlu.enqueue(kernels, queue, b(y), b(gate), b(up), R, I);
    }

    @Override
    public void toHeads(Buf q, Buf kCache, Buf vCache, Buf qSrc, Buf kSrc, Buf vSrc, HeadSplit split, int[] start, Rope rope) {
        HeadLayout.check(split, start, rope); // before the start values reach the device
        ClBuffer table = rope == null ? null : ropeTable.with(rope, HeadLayout.positions(split, start));
        HeadLayout.enqueueHeads(kernels, queue, b(q), b(kCache), b(vCache), b(qSrc), b(kSrc), b(vSrc), split, start,
                starts.with(start), rope, table);
    }

    @Override
    public void attention(Buf out, Buf lse, Buf q, Buf kCache, Buf vCache, AttentionProblem problem, int sMax) {
        ClBuffer lens = problem.kvLens() == null ? null : lengths.with(problem.kvLens());
        attention.enqueue(queue, problem, new AttentionBuffers(b(q), b(kCache), b(vCache), b(out), b(lse), lens, sMax));
    }

    private HeadInterventions.Kernels interventionKernels() {
        if (interventionKernels == null) {
            interventionKernels = new HeadInterventions.Kernels(context);
        }
        return interventionKernels;
    }

    @Override
    public void scaleHead(Buf x, int B, int H, int T, int D, int head, float factor) {
        interventionKernels().enqueueScale(queue, b(x), B, H, T, D, head, factor);
    }

    @Override
    public void maskedHeadAttention(Buf out, Buf q, Buf kCache, Buf vCache, AttentionProblem problem, int sMax, int head,
                                    int[] hidden) {
        // at least one range's ints, so the kernel always gets a buffer (it reads none when there are no ranges)
        int[] ranges = hidden.length == 0 ? new int[] {0, -1} : hidden;
        interventionKernels().enqueueMasked(queue, b(out), b(q), b(kCache), b(vCache),
                visibleKeys.with(HeadInterventions.visibleKeys(problem)), hiddenKeys.with(ranges), hidden.length / 2,
                problem, sMax, head);
    }

    @Override
    public void mergeHeads(Buf y, Buf x, int B, int T, int H, int D) {
        HeadLayout.enqueueMergeHeads(kernels, queue, b(y), b(x), B, T, H, D);
    }

    @Override
    public void gatherRows(Buf y, Buf x, int[] rowIndices, int C) {
        HeadLayout.enqueueGatherRows(kernels, queue, b(y), b(x), rows.with(rowIndices), rowIndices.length, C);
    }

    @Override
    public void beginStep(int sequences, int tokens) {
        linear.setPrefillStep(tokens > 1);
    }

    @Override
    public void flush() {
        queue.flush();
    }

    @Override
    public void finish() {
        queue.finish();
    }

    @Override
    public long deviceBytes() {
        return context.allocatedBytes();
    }

    @Override
    public void close() {
        queue.setBatching(false);
        owned.forEach(ClBuffer::close);
        owned.clear();
        panels.values().forEach(Linear.OnDevice.Panels::close);
        panels.clear();
        for (IntBuffer ints : List.of(tokens, positions, starts, lengths, rows, visibleKeys, hiddenKeys)) {
            ints.close();
        }
        if (interventionKernels != null) {
            interventionKernels.close();
            interventionKernels = null;
        }
        ropeTable.close();
        linear.close();
        kernels.close();
        attention.close();
    }

    /**
     * A small int32 device buffer refilled before each use. The queue is in order, so a write enqueued after the
     * launches that read the previous contents is safe; it does not wait (the queue keeps a copy of the values),
     * so it never opens the batching barrier in the middle of a step. Values equal to the last ones written (the
     * same cache rows for every layer of a step) are not written again.
     */
    private final class IntBuffer {
        private final String label;
        private ClBuffer buffer;
        private int[] last;

        IntBuffer(String label) {
            this.label = label;
        }

        ClBuffer with(int[] values) {
            if (buffer != null && java.util.Arrays.equals(values, last)) {
                return buffer;
            }
            if (buffer == null || buffer.bytes() < 4L * values.length) {
                if (buffer != null) {
                    buffer.close();
                }
                buffer = context.createBuffer(4L * Math.max(16, values.length), label);
            }
            queue.writeLater(buffer, values);
            last = values.clone();
            return buffer;
        }

        void close() {
            if (buffer != null) {
                buffer.close();
                buffer = null;
                last = null;
            }
        }
    }

    /**
     * The cos/sin table of a rope at a step's positions ({@link Rope#table}, [B*T, dims/2, 2]), computed on the host
     * in double and written without waiting, like {@link IntBuffer}. Every layer of a step rotates at the same
     * positions with the same rope, so only the first layer computes and writes it.
     */
    private final class RopeTable {
        private ClBuffer buffer;
        private Rope lastRope;
        private int[] lastPositions;

        ClBuffer with(Rope rope, int[] positions) {
            if (buffer != null && rope.equals(lastRope) && java.util.Arrays.equals(positions, lastPositions)) {
                return buffer;
            }
            float[] table = rope.table(positions);
            if (buffer == null || buffer.bytes() < 4L * table.length) {
                if (buffer != null) {
                    buffer.close();
                }
                buffer = context.createBuffer(4L * Math.max(64, table.length), "rope cos/sin table");
            }
            queue.writeLater(buffer, table);
            lastRope = new Rope(rope.dims(), rope.order(), rope.inverseFrequency()); // a copy: the array is not ours
            lastPositions = positions.clone();
            return buffer;
        }

        void close() {
            if (buffer != null) {
                buffer.close();
                buffer = null;
                lastRope = null;
                lastPositions = null;
            }
        }
    }
}
