package gpuinfer.model;

import gpuinfer.InputException;
import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionShape;
import gpuinfer.ops.Activation;
import gpuinfer.ops.Backend;
import gpuinfer.ops.Buf;
import gpuinfer.ops.HeadSplit;
import gpuinfer.util.Closing;

import java.util.Arrays;

/**
 * A decoder-only transformer on one {@link Backend}, for every family of {@link ModelConfig} (GPT-2, Llama,
 * Qwen2): the weights, uploaded once; a KV cache for {@code maxBatch} sequences of up to {@code maxSequence} positions,
 * holding only the key/value heads (grouped-query attention shares each among H/Hkv query heads) and, with rotary
 * embeddings, keys already rotated; activation buffers sized for the largest step. The forward pass reads top to
 * bottom like the papers and is the same code for the CPU reference and for OpenCL.
 *
 * <p>A batch holds B sequences, right-padded to a common step length T. Sequence b's tokens of this step go to
 * cache rows {@code start[b] .. start[b] + T - 1}; it has {@code length[b]} valid positions after the step, so
 * padding (rows past its length) is masked out of every later attention by key-padding lengths.
 */
public final class DecoderModel implements AutoCloseable {
    private final ModelConfig config;
    private final Backend backend;
    private final int maxBatch;
    private final int maxSequence;
    private final int maxStepRows;

    // weights, shapes as in ModelWeights; null where the family has no such tensor
    private final Buf wte;
    private final Buf wpe;
    private final Buf finalNormWeight;
    private final Buf finalNormBias;
    private final Buf outputWeight;
    private final LayerBufs[] layers;

    // KV cache per layer: [maxBatch, Hkv, maxSequence, D]
    private final Buf[] keyCache;
    private final Buf[] valueCache;

    // activations, sized for maxStepRows = maxBatch * longest step (Q = H·D, KV = Hkv·D)
    private final Buf residual;   // [rows, C]
    private final Buf normed;     // [rows, C]
    private final Buf qkv;        // [rows, Q + 2KV]: fused projections (GPT-2), or q alone (Llama family)
    private final Buf keys;       // [rows, KV] (Llama family)
    private final Buf values;     // [rows, KV] (Llama family)
    private final Buf query;      // [B, H, T, D]
    private final Buf attended;   // [B, H, T, D]
    private final Buf lse;        // [B, H, T]
    private final Buf merged;     // [rows, Q]
    private final Buf hidden;     // [rows, I]
    private final Buf gate;       // [rows, I] (SwiGLU)
    private final Buf selected;   // [rows, C]: rows whose logits are wanted
    private final Buf logits;     // [maxLogitRows, V]
    private final int maxLogitRows;

    /** Changes to chosen heads (none by default: then the forward pass calls nothing more). */
    private Interventions interventions = Interventions.NONE;

    private record LayerBufs(Buf attnNormWeight, Buf attnNormBias, Buf qkvWeight, Buf qkvBias, Buf qWeight, Buf qBias,
                             Buf kWeight, Buf kBias, Buf vWeight, Buf vBias, Buf attnOutWeight, Buf attnOutBias,
                             Buf mlpNormWeight, Buf mlpNormBias, Buf gateWeight, Buf upWeight, Buf upBias, Buf downWeight,
                             Buf downBias) {
    }

    /**
     * Uploads the weights and allocates the cache and activations.
     *
     * @param maxBatch    sequences per batch
     * @param maxSequence positions per sequence (at most the model's context length)
     * @param maxStep     tokens per sequence in one forward step (the longest prompt)
     * @param maxLogitRows rows whose logits one step may return (maxBatch, or every prompt position for --logits-out)
     */
    public DecoderModel(Backend backend, ModelWeights weights, int maxBatch, int maxSequence, int maxStep, int maxLogitRows) {
        this(backend, weights, maxBatch, maxSequence, maxStep, maxLogitRows, bytes -> { });
    }

    /** As above, reporting the bytes of each matrix as it is uploaded (for a progress line). */
    public DecoderModel(Backend backend, ModelWeights weights, int maxBatch, int maxSequence, int maxStep, int maxLogitRows,
                        java.util.function.LongConsumer uploaded) {
        try {
            this.config = weights.config;
            this.backend = backend;
            this.maxBatch = maxBatch;
            this.maxSequence = maxSequence;
            this.maxStepRows = maxBatch * maxStep;
            if (maxSequence > config.nPositions() || maxStep > maxSequence || maxBatch < 1 || maxStep < 1) {
                throw new IllegalArgumentException("batch " + maxBatch + ", sequence " + maxSequence + ", step " + maxStep
                        + " do not fit the context length " + config.nPositions());
            }
            int C = config.nEmbd();
            int V = config.vocabSize();
            java.util.function.BiFunction<String, gpuinfer.weights.WeightTensor, Buf> matrix = (name, tensor) -> {
                if (tensor == null) {
                    return null;
                }
                Buf buf = backend.upload(name + " " + tensor.type(), tensor);
                uploaded.accept(tensor.storedBytes());
                return buf;
            };
            java.util.function.BiFunction<String, float[], Buf> vector = (name, values) ->
                    values == null ? null : backend.upload(name, values);
            wte = matrix.apply("token embedding [V, C]", weights.tokenEmbedding);
            wpe = matrix.apply("position embedding [P, C]", weights.positionEmbedding);
            finalNormWeight = vector.apply("final norm weight [C]", weights.finalNormWeight);
            finalNormBias = vector.apply("final norm bias [C]", weights.finalNormBias);
            outputWeight = weights.isTied() ? wte : matrix.apply("output [V, C]", weights.outputWeight);
            layers = new LayerBufs[config.nLayer()];
            keyCache = new Buf[config.nLayer()];
            valueCache = new Buf[config.nLayer()];
            long cacheSize = (long) maxBatch * config.nKvHead() * maxSequence * config.headDim();
            for (int i = 0; i < layers.length; i++) {
                ModelWeights.Layer l = weights.layers[i];
                String p = "blk." + i + ".";
                layers[i] = new LayerBufs(vector.apply(p + "attn_norm.weight [C]", l.attnNormWeight),
                        vector.apply(p + "attn_norm.bias [C]", l.attnNormBias),
                        matrix.apply(p + "attn_qkv.weight [Q+2KV, C]", l.qkvWeight),
                        vector.apply(p + "attn_qkv.bias [Q+2KV]", l.qkvBias),
                        matrix.apply(p + "attn_q.weight [Q, C]", l.qWeight),
                        vector.apply(p + "attn_q.bias [Q]", l.qBias),
                        matrix.apply(p + "attn_k.weight [KV, C]", l.kWeight),
                        vector.apply(p + "attn_k.bias [KV]", l.kBias),
                        matrix.apply(p + "attn_v.weight [KV, C]", l.vWeight),
                        vector.apply(p + "attn_v.bias [KV]", l.vBias),
                        matrix.apply(p + "attn_output.weight [C, Q]", l.attnOutWeight),
                        vector.apply(p + "attn_output.bias [C]", l.attnOutBias),
                        vector.apply(p + "ffn_norm.weight [C]", l.mlpNormWeight),
                        vector.apply(p + "ffn_norm.bias [C]", l.mlpNormBias),
                        matrix.apply(p + "ffn_gate.weight [I, C]", l.gateWeight),
                        matrix.apply(p + "ffn_up.weight [I, C]", l.upWeight),
                        vector.apply(p + "ffn_up.bias [I]", l.upBias),
                        matrix.apply(p + "ffn_down.weight [C, I]", l.downWeight),
                        vector.apply(p + "ffn_down.bias [C]", l.downBias));
                keyCache[i] = backend.alloc(p + "k cache [B, Hkv, S, D]", cacheSize);
                valueCache[i] = backend.alloc(p + "v cache [B, Hkv, S, D]", cacheSize);
            }
            long rows = maxStepRows;
            int Q = config.qDim();
            int KV = config.kvDim();
            boolean fused = weights.layers[0].qkvWeight != null;
            residual = backend.alloc("residual [rows, C]", rows * C);
            normed = backend.alloc("normed [rows, C]", rows * C);
            qkv = backend.alloc(fused ? "qkv [rows, Q+2KV]" : "q [rows, Q]", rows * (fused ? Q + 2L * KV : Q));
            keys = fused ? null : backend.alloc("k [rows, KV]", rows * KV);
            values = fused ? null : backend.alloc("v [rows, KV]", rows * KV);
            query = backend.alloc("q [B, H, T, D]", rows * Q);
            attended = backend.alloc("attention out [B, H, T, D]", rows * Q);
            lse = backend.alloc("attention lse [B, H, T]", rows * config.nHead());
            merged = backend.alloc("attention merged [rows, Q]", rows * Q);
            hidden = backend.alloc("mlp hidden [rows, I]", rows * config.nInner());
            gate = config.mlp() == ModelConfig.Mlp.SWIGLU ? backend.alloc("mlp gate [rows, I]", rows * config.nInner()) : null;
            selected = backend.alloc("selected rows [rows, C]", rows * C);
            this.maxLogitRows = maxLogitRows;
            logits = backend.alloc("logits [rows, V]", (long) maxLogitRows * V);
        } catch (RuntimeException e) {
            // the model owns its backend (close() closes it): one that fails to build releases it, so a caller's
            // `new DecoderModel(new ClBackend(...), ...)` leaks nothing when, say, the device runs out of memory
            throw Closing.afterFailure(e, backend);
        }
    }

    public ModelConfig config() {
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

    /** Layer {@code layer}'s key cache [maxBatch, Hkv, maxSequence, D]. */
    Buf keyCache(int layer) {
        return keyCache[layer];
    }

    /** Layer {@code layer}'s value cache [maxBatch, Hkv, maxSequence, D]. */
    Buf valueCache(int layer) {
        return valueCache[layer];
    }

    /**
     * Head interventions for the following forward steps ({@link Interventions#NONE} to stop): applied to each
     * layer's attention output [B, H, T, D] before the heads are merged and projected, masks first (a masked head's
     * attention is recomputed), then scales and ablations in the order given.
     *
     * @throws InputException when a layer or head is outside the model
     */
    public void setInterventions(Interventions interventions) {
        interventions.check(config);
        this.interventions = interventions;
    }

    public Interventions interventions() {
        return interventions;
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
        checkStep(tokens, start, length, T, logitRows);
        Pass pass = new Pass(tokens, start, length, T, logitRows, tap);
        pass.embed();
        for (int i = 0; i < layers.length; i++) {
            pass.beforeAttention(i);
            pass.attend(i);
            pass.afterAttention(i);
        }
        return pass.logits();
    }

    /**
     * One forward step taken phase by phase, for a caller that runs each layer's attention itself (context-parallel
     * prefill: {@link ContextParallel}); {@link #forward} takes the same phases in order. {@code logitRows} may be
     * empty: then {@link Pass#logits()} computes nothing and returns an empty array.
     */
    Pass pass(int[] tokens, int[] start, int[] length, int T, int[] logitRows, Tap tap) {
        checkStep(tokens, start, length, T, logitRows.length == 0 ? new int[] {0} : logitRows);
        return new Pass(tokens, start, length, T, logitRows, tap);
    }

    /** A forward step's state between its phases: embeddings, per layer (before, in, after attention), logits. */
    final class Pass {
        private final int[] tokens;
        private final int[] start;
        private final int[] length;
        private final int T;
        private final int[] logitRows;
        private final Tap tap;
        private final int B;
        private final int R;
        private final int sk;
        private final boolean padded;

        private Pass(int[] tokens, int[] start, int[] length, int T, int[] logitRows, Tap tap) {
            this.tokens = tokens;
            this.start = start;
            this.length = length;
            this.T = T;
            this.logitRows = logitRows;
            this.tap = tap;
            this.B = start.length;
            this.R = B * T;
            this.sk = Arrays.stream(length).max().orElse(0);
            this.padded = Arrays.stream(length).anyMatch(l -> l != sk);
            backend.beginStep(B, T);
        }

        /** Embeddings: token (+ learned position; rotary models rotate q and k instead). */
        void embed() {
            int[] positions = new int[R];
            for (int b = 0; b < B; b++) {
                for (int t = 0; t < T; t++) {
                    positions[b * T + t] = start[b] + t;
                }
            }
            backend.embed(residual, wte, wpe, tokens, positions, config.nEmbd());
            emit(tap, "embeddings", residual, R, config.nEmbd());
        }

        /** Layer i up to its attention: the norm, the q/k/v projections, q to heads, k and v into the cache. */
        void beforeAttention(int i) {
            int C = config.nEmbd();
            int H = config.nHead();
            int Hkv = config.nKvHead();
            int D = config.headDim();
            int Q = config.qDim();
            int KV = config.kvDim();
            LayerBufs l = layers[i];
            String p = "h." + i + ".";
            // attention: x = x + out(attention(norm(x)))
            norm(normed, residual, l.attnNormWeight(), l.attnNormBias(), R);
            emit(tap, p + "ln_1", normed, R, C);
            if (l.qkvWeight() != null) {
                backend.linear(qkv, normed, l.qkvWeight(), l.qkvBias(), null, R, Q + 2 * KV, C, Activation.NONE);
                emit(tap, p + "qkv", qkv, R, Q + 2 * KV);
                backend.toHeads(query, keyCache[i], valueCache[i], qkv, qkv, qkv,
                        new HeadSplit(B, T, H, Hkv, D, maxSequence, 0, Q + 2 * KV, Q, Q + KV, Q + 2 * KV), start,
                        config.rope());
            } else {
                backend.linear(qkv, normed, l.qWeight(), l.qBias(), null, R, Q, C, Activation.NONE);
                backend.linear(keys, normed, l.kWeight(), l.kBias(), null, R, KV, C, Activation.NONE);
                backend.linear(values, normed, l.vWeight(), l.vBias(), null, R, KV, C, Activation.NONE);
                emit(tap, p + "q", qkv, R, Q);
                emit(tap, p + "k", keys, R, KV);
                emit(tap, p + "v", values, R, KV);
                backend.toHeads(query, keyCache[i], valueCache[i], qkv, keys, values,
                        HeadSplit.separate(B, T, H, Hkv, D, maxSequence), start, config.rope());
            }
            if (tap.active() && tap.attentionInputs()) {
                emit(tap, p + "attn_q", query, B * H * T, D);
                emit(tap, p + "attn_k", keyCache[i], B * Hkv * maxSequence, D);
                emit(tap, p + "attn_v", valueCache[i], B * Hkv * maxSequence, D);
            }
        }

        /** Layer i's attention over this model's cache, then the interventions on it. */
        void attend(int i) {
            // Queries are the last T of Sk positions (bottom-right causal); shorter sequences mask their padding.
            AttentionProblem problem = new AttentionProblem(new AttentionShape(B, config.nHead(), config.nKvHead(), T,
                    sk, config.headDim()), true, config.attentionScale(), padded ? length.clone() : null);
            backend.attention(attended, lse, query, keyCache[i], valueCache[i], problem, maxSequence);
            if (!interventions.isEmpty()) {
                intervene(i, problem);
            }
        }

        /** Layer i after its attention: heads merged and projected, the MLP, both added to the residual. */
        void afterAttention(int i) {
            int C = config.nEmbd();
            int Q = config.qDim();
            int I = config.nInner();
            LayerBufs l = layers[i];
            String p = "h." + i + ".";
            // one token per sequence: [B, H, 1, D] already is [B, Q], so the heads need no merging
            Buf heads = T == 1 ? attended : merged;
            if (T > 1) {
                backend.mergeHeads(merged, attended, B, T, config.nHead(), config.headDim());
            }
            emit(tap, p + "attn_heads", heads, R, Q);
            backend.linear(residual, heads, l.attnOutWeight(), l.attnOutBias(), residual, R, C, Q, Activation.NONE);
            emit(tap, p + "resid_attn", residual, R, C);
            // MLP: x = x + down(act(up(norm(x)))), or x + down(silu(gate(norm(x))) · up(norm(x)))
            norm(normed, residual, l.mlpNormWeight(), l.mlpNormBias(), R);
            emit(tap, p + "ln_2", normed, R, C);
            switch (config.mlp()) {
                case SWIGLU -> {
                    backend.linear(gate, normed, l.gateWeight(), null, null, R, I, C, Activation.NONE);
                    backend.linear(hidden, normed, l.upWeight(), l.upBias(), null, R, I, C, Activation.NONE);
                    backend.swiglu(hidden, gate, hidden, R, I);
                }
                case GELU_TANH -> backend.linear(hidden, normed, l.upWeight(), l.upBias(), null, R, I, C, Activation.GELU_TANH);
                case GELU_ERF -> backend.linear(hidden, normed, l.upWeight(), l.upBias(), null, R, I, C, Activation.GELU_ERF);
            }
            emit(tap, p + "mlp_hidden", hidden, R, I);
            backend.linear(residual, hidden, l.downWeight(), l.downBias(), residual, R, C, I, Activation.NONE);
            emit(tap, p + "resid_block", residual, R, C);
        }

        /** The final norm and the output projection for the wanted rows only: logits [logitRows.length, V]. */
        float[] logits() {
            int C = config.nEmbd();
            int V = config.vocabSize();
            if (logitRows.length == 0) {
                return new float[0];
            }
            backend.gatherRows(selected, residual, logitRows, C);
            norm(normed, selected, finalNormWeight, finalNormBias, logitRows.length);
            emit(tap, "ln_f", normed, logitRows.length, C);
            backend.linear(logits, normed, outputWeight, null, null, logitRows.length, V, C, Activation.NONE);
            float[] out = new float[logitRows.length * V];
            backend.read(logits, 0, out, 0, out.length);
            if (tap.active()) {
                tap.accept("logits", logits, logitRows.length, V);
            }
            return out;
        }

        /** q [B, H, T, D] of the step (after beforeAttention). */
        Buf query() {
            return query;
        }

        /** Attention output [B, H, T, D], which the layer's later phases read. */
        Buf attended() {
            return attended;
        }

        /** Attention log-sum-exp [B, H, T]. */
        Buf lse() {
            return lse;
        }
    }

    /** Layer {@code layer}'s interventions on the attention output [B, H, T, D]: masks first, then scales. */
    private void intervene(int layer, AttentionProblem problem) {
        AttentionShape s = problem.shape();
        java.util.List<Interventions.HeadIntervention> here = interventions.ofLayer(layer);
        java.util.Map<Integer, java.util.List<Integer>> hiddenByHead = new java.util.TreeMap<>();
        for (Interventions.HeadIntervention h : here) {
            if (h.kind() == Interventions.HeadIntervention.Kind.MASK) {
                java.util.List<Integer> ranges = hiddenByHead.computeIfAbsent(h.head(), x -> new java.util.ArrayList<>());
                ranges.add(h.maskFrom());
                ranges.add(h.maskTo());
            }
        }
        hiddenByHead.forEach((head, ranges) -> backend.maskedHeadAttention(attended, query, keyCache[layer],
                valueCache[layer], problem, maxSequence, head, ranges.stream().mapToInt(Integer::intValue).toArray()));
        for (Interventions.HeadIntervention h : here) {
            switch (h.kind()) {
                case ABLATE -> backend.scaleHead(attended, s.batch(), s.heads(), s.queryLen(), s.headDim(), h.head(), 0f);
                case SCALE -> backend.scaleHead(attended, s.batch(), s.heads(), s.queryLen(), s.headDim(), h.head(), h.scale());
                case MASK -> { }
            }
        }
    }

    /** The model's norm over rows of C values: LayerNorm (weight and bias) or RMSNorm (weight). */
    private void norm(Buf y, Buf x, Buf weight, Buf bias, int rows) {
        if (config.norm() == ModelConfig.Norm.RMS_NORM) {
            backend.rmsNorm(y, x, weight, rows, config.nEmbd(), config.normEpsilon());
        } else {
            backend.layerNorm(y, x, weight, bias, rows, config.nEmbd(), config.normEpsilon());
        }
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
                        + " exceed the " + maxSequence + " this run holds (context length " + config.nPositions() + ")");
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

    /**
     * Copies the first {@code positions} cache rows of sequence slot {@code from} to slot {@code to}, every layer's
     * keys and values (a device copy): a batch engine moves a sequence to another slot so that its active sequences
     * stay in slots 0..k-1, which is where {@link #forward} reads batch row b from.
     */
    public void copyCacheSlot(int from, int to, int positions) {
        int Hkv = config.nKvHead();
        int D = config.headDim();
        if (from < 0 || from >= maxBatch || to < 0 || to >= maxBatch || positions < 0 || positions > maxSequence) {
            throw new IllegalArgumentException("slots " + from + " -> " + to + ", " + positions + " positions: outside "
                    + maxBatch + " slots of " + maxSequence);
        }
        for (int i = 0; i < layers.length; i++) {
            for (int h = 0; h < Hkv; h++) {
                long src = ((long) from * Hkv + h) * maxSequence * D;
                long dst = ((long) to * Hkv + h) * maxSequence * D;
                backend.copy(keyCache[i], src, keyCache[i], dst, (long) positions * D);
                backend.copy(valueCache[i], src, valueCache[i], dst, (long) positions * D);
            }
        }
    }
}
