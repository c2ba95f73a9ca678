package gpuinfer.model;

import gpuinfer.InputException;
import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionShape;
import gpuinfer.ops.Activation;
import gpuinfer.ops.Backend;
import gpuinfer.ops.Buf;

import java.util.Arrays;

/**
 * A GPT-2-family model on one {@link Backend}: the weights, uploaded once; a KV cache for {@code maxBatch}
 * sequences of up to {@code maxSequence} positions; activation buffers sized for the largest step. The forward
 * pass reads top to bottom like the paper and is the same code for the CPU reference and for OpenCL.
 *
 * <p>A batch holds B sequences, right-padded to a common step length T. Sequence b's tokens of this step go to
 * cache rows {@code start[b] .. start[b] + T - 1}; it has {@code length[b]} valid positions after the step, so
 * padding (rows past its length) is masked out of every later attention by key-padding lengths.
 */
public final class Gpt2Model implements AutoCloseable {
    private final Gpt2Config config;
    private final Backend backend;
    private final int maxBatch;
    private final int maxSequence;
    private final int maxStepRows;

    // weights, shapes as in Gpt2Weights
    private final Buf wte;
    private final Buf wpe;
    private final Buf lnfWeight;
    private final Buf lnfBias;
    private final Buf outputWeight;
    private final LayerBufs[] layers;

    // KV cache per layer: [maxBatch, H, maxSequence, D]
    private final Buf[] keyCache;
    private final Buf[] valueCache;

    // activations, sized for maxStepRows = maxBatch * longest step
    private final Buf residual;   // [rows, C]
    private final Buf normed;     // [rows, C]
    private final Buf qkv;        // [rows, 3C]
    private final Buf query;      // [B, H, T, D]
    private final Buf attended;   // [B, H, T, D]
    private final Buf lse;        // [B, H, T]
    private final Buf merged;     // [rows, C]
    private final Buf hidden;     // [rows, 4C]
    private final Buf selected;   // [rows, C]: rows whose logits are wanted
    private final Buf logits;     // [maxLogitRows, V]
    private final int maxLogitRows;

    private record LayerBufs(Buf ln1Weight, Buf ln1Bias, Buf qkvWeight, Buf qkvBias, Buf attnProjWeight,
                             Buf attnProjBias, Buf ln2Weight, Buf ln2Bias, Buf fcWeight, Buf fcBias, Buf fcProjWeight,
                             Buf fcProjBias) {
    }

    /**
     * Uploads the weights and allocates the cache and activations.
     *
     * @param maxBatch    sequences per batch
     * @param maxSequence positions per sequence (at most n_positions)
     * @param maxStep     tokens per sequence in one forward step (the longest prompt)
     * @param maxLogitRows rows whose logits one step may return (maxBatch, or every prompt position for --logits-out)
     */
    public Gpt2Model(Backend backend, Gpt2Weights weights, int maxBatch, int maxSequence, int maxStep, int maxLogitRows) {
        this(backend, weights, maxBatch, maxSequence, maxStep, maxLogitRows, bytes -> { });
    }

    /** As above, reporting the bytes of each matrix as it is uploaded (for a progress line). */
    public Gpt2Model(Backend backend, Gpt2Weights weights, int maxBatch, int maxSequence, int maxStep, int maxLogitRows,
                     java.util.function.LongConsumer uploaded) {
        this.config = weights.config;
        this.backend = backend;
        this.maxBatch = maxBatch;
        this.maxSequence = maxSequence;
        this.maxStepRows = maxBatch * maxStep;
        if (maxSequence > config.nPositions() || maxStep > maxSequence || maxBatch < 1 || maxStep < 1) {
            throw new IllegalArgumentException("batch " + maxBatch + ", sequence " + maxSequence + ", step " + maxStep
                    + " do not fit n_positions " + config.nPositions());
        }
        int C = config.nEmbd();
        int V = config.vocabSize();
        java.util.function.BiFunction<String, gpuinfer.weights.WeightTensor, Buf> matrix = (name, tensor) -> {
            Buf buf = backend.upload(name + " " + tensor.type(), tensor);
            uploaded.accept(tensor.storedBytes());
            return buf;
        };
        wte = matrix.apply("wte [V, C]", weights.tokenEmbedding);
        wpe = matrix.apply("wpe [P, C]", weights.positionEmbedding);
        lnfWeight = backend.upload("ln_f.weight [C]", weights.lnFinalWeight);
        lnfBias = backend.upload("ln_f.bias [C]", weights.lnFinalBias);
        outputWeight = weights.isTied() ? wte : matrix.apply("lm_head.weight [V, C]", weights.outputWeight);
        layers = new LayerBufs[config.nLayer()];
        keyCache = new Buf[config.nLayer()];
        valueCache = new Buf[config.nLayer()];
        long cacheSize = (long) maxBatch * config.nHead() * maxSequence * config.headDim();
        for (int i = 0; i < layers.length; i++) {
            Gpt2Weights.Layer l = weights.layers[i];
            String p = "h." + i + ".";
            layers[i] = new LayerBufs(backend.upload(p + "ln_1.weight [C]", l.ln1Weight),
                    backend.upload(p + "ln_1.bias [C]", l.ln1Bias),
                    matrix.apply(p + "attn.qkv.weight [3C, C]", l.qkvWeight),
                    backend.upload(p + "attn.qkv.bias [3C]", l.qkvBias),
                    matrix.apply(p + "attn.proj.weight [C, C]", l.attnProjWeight),
                    backend.upload(p + "attn.proj.bias [C]", l.attnProjBias),
                    backend.upload(p + "ln_2.weight [C]", l.ln2Weight),
                    backend.upload(p + "ln_2.bias [C]", l.ln2Bias),
                    matrix.apply(p + "mlp.fc.weight [I, C]", l.fcWeight),
                    backend.upload(p + "mlp.fc.bias [I]", l.fcBias),
                    matrix.apply(p + "mlp.proj.weight [C, I]", l.fcProjWeight),
                    backend.upload(p + "mlp.proj.bias [C]", l.fcProjBias));
            keyCache[i] = backend.alloc(p + "k cache [B, H, S, D]", cacheSize);
            valueCache[i] = backend.alloc(p + "v cache [B, H, S, D]", cacheSize);
        }
        long rows = maxStepRows;
        residual = backend.alloc("residual [rows, C]", rows * C);
        normed = backend.alloc("normed [rows, C]", rows * C);
        qkv = backend.alloc("qkv [rows, 3C]", rows * 3 * C);
        query = backend.alloc("q [B, H, T, D]", rows * C);
        attended = backend.alloc("attention out [B, H, T, D]", rows * C);
        lse = backend.alloc("attention lse [B, H, T]", rows * config.nHead());
        merged = backend.alloc("attention merged [rows, C]", rows * C);
        hidden = backend.alloc("mlp hidden [rows, I]", rows * config.nInner());
        selected = backend.alloc("selected rows [rows, C]", rows * C);
        this.maxLogitRows = maxLogitRows;
        logits = backend.alloc("logits [rows, V]", (long) maxLogitRows * V);
    }

    public Gpt2Config config() {
        return config;
    }

    public Backend backend() {
        return backend;
    }

    public int maxSequence() {
        return maxSequence;
    }

    public int maxBatch() {
        return maxBatch;
    }

    /**
     * One forward step for B sequences of T tokens each.
     *
     * @param tokens     [B*T] token ids, sequence-major, right-padded with any valid id
     * @param start      [B] cache row (= position) of each sequence's first token in this step
     * @param length     [B] valid positions of each sequence after this step (at most start[b] + T)
     * @param logitRows  which of the B*T rows need logits (e.g. each sequence's last real token)
     * @return logits [logitRows.length, V]
     */
    public float[] forward(int[] tokens, int[] start, int[] length, int T, int[] logitRows, Tap tap) {
        int B = start.length;
        int R = B * T;
        int C = config.nEmbd();
        int H = config.nHead();
        int D = config.headDim();
        int V = config.vocabSize();
        checkStep(tokens, start, length, T, logitRows);

        // embeddings: token + position
        int[] positions = new int[R];
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < T; t++) {
                positions[b * T + t] = start[b] + t;
            }
        }
        backend.embed(residual, wte, wpe, tokens, positions, C);
        emit(tap, "embeddings", residual, R, C);

        int sk = Arrays.stream(length).max().orElse(0);
        boolean padded = Arrays.stream(length).anyMatch(l -> l != sk);
        for (int i = 0; i < layers.length; i++) {
            LayerBufs l = layers[i];
            String p = "h." + i + ".";
            // attention: x = x + proj(attention(ln_1(x)))
            backend.layerNorm(normed, residual, l.ln1Weight(), l.ln1Bias(), R, C, config.layerNormEpsilon());
            emit(tap, p + "ln_1", normed, R, C);
            backend.linear(qkv, normed, l.qkvWeight(), l.qkvBias(), null, R, 3 * C, C, Activation.NONE);
            emit(tap, p + "qkv", qkv, R, 3 * C);
            backend.qkvToHeads(query, keyCache[i], valueCache[i], qkv, B, T, H, D, maxSequence, start);
            // Queries are the last T of Sk positions (bottom-right causal); shorter sequences mask their padding.
            AttentionProblem problem = new AttentionProblem(new AttentionShape(B, H, H, T, sk, D), true,
                    config.attentionScale(), padded ? length.clone() : null);
            backend.attention(attended, lse, query, keyCache[i], valueCache[i], problem, maxSequence);
            // one token per sequence: [B, H, 1, D] already is [B, C], so the heads need no merging
            Buf heads = T == 1 ? attended : merged;
            if (T > 1) {
                backend.mergeHeads(merged, attended, B, T, H, D);
            }
            emit(tap, p + "attn_heads", heads, R, C);
            backend.linear(residual, heads, l.attnProjWeight(), l.attnProjBias(), residual, R, C, C, Activation.NONE);
            emit(tap, p + "resid_attn", residual, R, C);
            // MLP: x = x + proj(gelu(fc(ln_2(x))))
            backend.layerNorm(normed, residual, l.ln2Weight(), l.ln2Bias(), R, C, config.layerNormEpsilon());
            emit(tap, p + "ln_2", normed, R, C);
            int I = config.nInner();
            backend.linear(hidden, normed, l.fcWeight(), l.fcBias(), null, R, I, C,
                    config.tanhGelu() ? Activation.GELU_TANH : Activation.GELU_ERF);
            emit(tap, p + "mlp_hidden", hidden, R, I);
            backend.linear(residual, hidden, l.fcProjWeight(), l.fcProjBias(), residual, R, C, I, Activation.NONE);
            emit(tap, p + "resid_block", residual, R, C);
        }

        // final LayerNorm and the tied output projection, for the wanted rows only
        backend.gatherRows(selected, residual, logitRows, C);
        backend.layerNorm(normed, selected, lnfWeight, lnfBias, logitRows.length, C, config.layerNormEpsilon());
        emit(tap, "ln_f", normed, logitRows.length, C);
        backend.linear(logits, normed, outputWeight, null, null, logitRows.length, V, C, Activation.NONE);
        float[] out = new float[logitRows.length * V];
        backend.read(logits, 0, out, 0, out.length);
        if (tap.active()) {
            tap.accept("logits", logits, logitRows.length, V);
        }
        return out;
    }

    /**
     * Rows a prefill may hold at once (batch × longest step); longer prompts are prefilled in chunks.
     */
    public int maxStepRows() {
        return maxStepRows;
    }

    private void checkStep(int[] tokens, int[] start, int[] length, int T, int[] logitRows) {
        int B = start.length;
        if (B < 1 || B > maxBatch || T < 1 || (long) B * T > maxStepRows || tokens.length != B * T || length.length != B) {
            throw new IllegalArgumentException("step of " + B + " x " + T + " tokens does not fit a model sized for "
                    + maxBatch + " sequences and " + maxStepRows + " rows");
        }
        for (int b = 0; b < B; b++) {
            if (start[b] < 0 || start[b] + T > maxSequence || length[b] < 1 || length[b] > start[b] + T) {
                throw new InputException("sequence " + b + ": positions " + start[b] + ".." + (start[b] + T - 1)
                        + " exceed the " + maxSequence + " this run holds (n_positions " + config.nPositions() + ")");
            }
        }
        for (int id : tokens) {
            if (id < 0 || id >= config.vocabSize()) {
                throw new InputException("token id " + id + " is outside the vocabulary (0.." + (config.vocabSize() - 1) + ")");
            }
        }
        if (logitRows.length < 1 || logitRows.length > maxLogitRows) {
            throw new IllegalArgumentException(logitRows.length + " logit rows; this model was sized for " + maxLogitRows);
        }
        for (int r : logitRows) {
            if (r < 0 || r >= B * T) {
                throw new IllegalArgumentException("logit row " + r + " outside 0.." + (B * T - 1));
            }
        }
    }

    private static void emit(Tap tap, String name, Buf buf, int rows, int cols) {
        if (tap.active()) {
            tap.accept(name, buf, rows, cols);
        }
    }

    /** Closes the backend: its buffers and kernels (an OpenCL context stays open for its owner to close). */
    @Override
    public void close() {
        backend.close();
    }
}
