package gpuinfer.ops;

import gpuinfer.attention.AttentionProblem;
import gpuinfer.weights.WeightTensor;

/**
 * Where a model's forward pass runs: the Java CPU reference ({@link CpuBackend}) or an OpenCL device
 * ({@link ClBackend}). A forward pass is written once against this interface; every op has a CPU reference and an
 * OpenCL path with the same inputs and shapes. Operations are enqueued in order; {@link #read} waits for them.
 * Integer inputs (token ids, positions, lengths) are passed as host arrays.
 */
public interface Backend extends AutoCloseable {
    /** "cpu" or "opencl". */
    String name();

    /** A buffer of {@code size} floats, contents undefined. */
    Buf alloc(String name, long size);

    /** A float32 buffer holding {@code data}. */
    Buf upload(String name, float[] data);

    /**
     * A weight in its stored format (F32, F16, BF16, Q8_0 or Q4_0), uploaded once without being expanded to float32;
     * its bytes are streamed from the tensor (a memory-mapped file, or a conversion computed row by row).
     */
    Buf upload(String name, WeightTensor weight);

    /** Copies {@code count} floats from float index {@code offset} of {@code src} into {@code dst[from]}, waiting for pending work. */
    void read(Buf src, long offset, float[] dst, int from, int count);

    /** Writes {@code count} floats from {@code src[from]} to float index {@code offset} of {@code dst}, after the work enqueued before it. */
    void write(Buf dst, long offset, float[] src, int from, int count);

    /**
     * {@code count} floats from float index {@code srcOffset} of {@code src} to float index {@code dstOffset} of
     * {@code dst}, both of this backend (a device copy on OpenCL); in order with the other operations.
     */
    void copy(Buf src, long srcOffset, Buf dst, long dstOffset, long count);

    /** y [R, C] = wte[tokens] + wpe[positions]; wte and wpe may be in any stored format; wpe null for no position table. */
    void embed(Buf y, Buf wte, Buf wpe, int[] tokens, int[] positions, int C);

    /** y [R, C] = LayerNorm(x) with weight and bias [C]. */
    void layerNorm(Buf y, Buf x, Buf weight, Buf bias, int R, int C, float eps);

    /**
     * y [R, N] = act(x [R, K] · w [N, K]ᵀ + bias [N]) + residual [R, N]; bias and residual may be null, residual may
     * be y; w may be in any stored format (the product accumulates in float32 or better).
     */
    void linear(Buf y, Buf x, Buf w, Buf bias, Buf residual, int R, int N, int K, Activation act);

    /** y [R, C] = x / sqrt(mean(x²) + eps) · weight [C] (RMSNorm). */
    void rmsNorm(Buf y, Buf x, Buf weight, int R, int C, float eps);

    /** y [R, I] = silu(gate) · up, all [R, I] (SwiGLU's gate; y may be gate or up). */
    void swiglu(Buf y, Buf gate, Buf up, int R, int I);

    /** qkv [B*T, 3C] to q [B, H, T, D] and to rows start[b] + t of the caches [B, H, sMax, D]. */
    default void qkvToHeads(Buf q, Buf kCache, Buf vCache, Buf qkv, int B, int T, int H, int D, int sMax, int[] start) {
        toHeads(q, kCache, vCache, qkv, qkv, qkv, HeadSplit.fused(B, T, H, D, sMax), start, null);
    }

    /**
     * The heads of q, k and v, placed in their source rows as {@code split} says, to q [B, H, T, D] and to rows
     * {@code start[b] + t} of the caches [B, Hkv, sMax, D]; with {@code rope} (null for none), q and k are rotated at
     * position {@code start[b] + t} on the way, so the cache holds rotated keys. The sources may be one buffer.
     */
    void toHeads(Buf q, Buf kCache, Buf vCache, Buf qSrc, Buf kSrc, Buf vSrc, HeadSplit split, int[] start, Rope rope);

    /** Attention of q [B, H, Sq, D] over the first Sk rows of the caches [B, H, sMax, D]; out [B, H, Sq, D], lse [B, H, Sq]. */
    void attention(Buf out, Buf lse, Buf q, Buf kCache, Buf vCache, AttentionProblem problem, int sMax);

    /**
     * As {@link #attention}, but merged into the running result that {@code out} and {@code lse} already hold (the
     * attention of the same queries over other keys, or nothing yet: output 0, lse negative infinity): afterwards
     * they hold the attention over both key sets, as a log-sum-exp merge would give
     * ({@code gpuinfer.attention.ring.LseMerge}). Ring attention adds one key/value block at a time this way.
     */
    void attentionAccumulate(Buf out, Buf lse, Buf q, Buf k, Buf v, AttentionProblem problem, int sMax);

    /**
     * x [B, H, T, D]: head {@code head}'s values multiplied by {@code factor}; factor 0 writes zeros (an ablated head).
     * See {@link HeadInterventions}.
     */
    void scaleHead(Buf x, int B, int H, int T, int D, int head, float factor);

    /**
     * out [B, H, Sq, D], head {@code head} only: that head's attention recomputed over the keys {@code problem} lets
     * each row see (as {@link #attention}) except the inclusive key ranges {@code hidden} = [from0, to0, from1, ...],
     * with its own softmax; a row left with no key gets 0. See {@link HeadInterventions}.
     */
    void maskedHeadAttention(Buf out, Buf q, Buf kCache, Buf vCache, AttentionProblem problem, int sMax, int head,
                             int[] hidden);

    /** [B, H, T, D] to [B*T, H*D]. */
    void mergeHeads(Buf y, Buf x, int B, int T, int H, int D);

    /** y [rows.length, C] = x[rows]. */
    void gatherRows(Buf y, Buf x, int[] rows, int C);

    /**
     * Starts the work enqueued so far without waiting for it (OpenCL: a flush), so that several backends' work runs
     * side by side before the host blocks on one of them. Nothing to do on the CPU.
     */
    default void flush() {
    }

    /** Waits until the work enqueued so far has completed. Nothing to do on the CPU. */
    default void finish() {
    }

    /**
     * The operations that follow belong to a forward step of {@code sequences} sequences with {@code tokens} tokens
     * each: a decode step ({@code tokens} = 1) or a prefill. The OpenCL linear layer keeps every sequence's decode
     * rows independent of how many share the step, and runs a prompt's rows through the faster prefill kernels.
     */
    default void beginStep(int sequences, int tokens) {
    }

    /** Device memory this backend holds now (0 for the CPU). */
    long deviceBytes();

    @Override
    void close();
}
