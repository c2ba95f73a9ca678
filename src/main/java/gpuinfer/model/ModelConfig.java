package gpuinfer.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import gpuinfer.ops.Rope;
import java.util.List;

/**
 * A decoder-only transformer's hyperparameters, for every family gpu-infer runs: GPT-2 (learned positions,
 * LayerNorm with bias, GELU MLP, biases everywhere, tied head) and the Llama family — Llama 2/3, TinyLlama, SmolLM,
 * Mistral, Qwen2 (rotary positions, RMSNorm, SwiGLU MLP, grouped-query attention, no biases but Qwen2's on q/k/v,
 * tied or untied head). One {@link DecoderModel} runs them all; the family only changes which op each step uses.
 *
 * @param architecture   "gpt2", "llama" or "qwen2" (llama.cpp's names; Mistral runs as llama)
 * @param nLayer         transformer blocks
 * @param nHead          query heads
 * @param nKvHead        key/value heads (nHead, or a divisor of it for grouped-query attention)
 * @param nEmbd          C, the residual width
 * @param headDim        D, values per head (nEmbd / nHead unless the model says otherwise)
 * @param nInner         width of the MLP's hidden layer
 * @param nPositions     the longest sequence the model was trained for (n_positions, max_position_embeddings,
 *                       context_length)
 * @param vocabSize      rows of the token embedding and of the output head
 * @param norm           LayerNorm (with bias) or RMSNorm
 * @param normEpsilon    added to the variance (or mean square) in every norm
 * @param mlp            GELU (tanh or erf) or SwiGLU
 * @param rope           rotary embeddings of q and k, or null for a learned position table
 * @param qkvBias        q, k and v projections have biases
 * @param blockBiases    the attention output and MLP projections have biases, and norms have a bias (GPT-2)
 * @param eosTokenId     end-of-text id, or -1
 * @param attentionScale the score scale of every attention layer (1/√D, or 1 for GPT-2 without scale_attn_weights)
 */
public record ModelConfig(String architecture, int nLayer, int nHead, int nKvHead, int nEmbd, int headDim, int nInner,
                          int nPositions, int vocabSize, Norm norm, float normEpsilon, Mlp mlp, Rope rope,
                          boolean qkvBias, boolean blockBiases, int eosTokenId, float attentionScale) {
    static final List<String> TANH_GELUS = List.of("gelu_new", "gelu_pytorch_tanh", "gelu_fast");

    /** The normalisation before attention, before the MLP and before the output head. */
    public enum Norm {
        /** (x - mean) / sqrt(var + eps) · weight + bias */
        LAYER_NORM,
        /** x / sqrt(mean(x²) + eps) · weight */
        RMS_NORM
    }

    /** The MLP's nonlinearity. */
    public enum Mlp {
        /** down(gelu_tanh(up(x))): GPT-2 */
        GELU_TANH,
        /** down(gelu_erf(up(x))) */
        GELU_ERF,
        /** down(silu(gate(x)) · up(x)): the Llama family */
        SWIGLU
    }

    public ModelConfig {
        if (nLayer < 1 || nHead < 1 || nKvHead < 1 || nHead % nKvHead != 0 || nEmbd < 1 || headDim < 1 || nInner < 1
                || nPositions < 1 || vocabSize < 1) {
            throw new IllegalArgumentException("model shape: layers " + nLayer + ", heads " + nHead + "/" + nKvHead
                    + ", width " + nEmbd + ", head size " + headDim + ", MLP " + nInner + ", context " + nPositions
                    + ", vocabulary " + vocabSize);
        }
        if (rope != null && rope.dims() > headDim) {
            throw new IllegalArgumentException("rope over " + rope.dims() + " values of a head of " + headDim);
        }
    }

    /** GPT-2's configuration: learned positions, LayerNorm, GELU, biases, multi-head attention. */
    public static ModelConfig gpt2(int nLayer, int nHead, int nEmbd, int nPositions, int vocabSize, float eps,
                                   boolean tanhGelu, int eosTokenId, int nInner, boolean scaleAttention) {
        int D = nEmbd / nHead;
        return new ModelConfig("gpt2", nLayer, nHead, nHead, nEmbd, D, nInner, nPositions, vocabSize, Norm.LAYER_NORM,
                eps, tanhGelu ? Mlp.GELU_TANH : Mlp.GELU_ERF, null, true, true, eosTokenId,
                scaleAttention ? (float) (1.0 / Math.sqrt(D)) : 1f);
    }

    /** Query values per token: H·D. */
    public int qDim() {
        return nHead * headDim;
    }

    /** Key (and value) values per token: Hkv·D. */
    public int kvDim() {
        return nKvHead * headDim;
    }

    /** Whether positions come from a learned table (GPT-2) rather than rotary embeddings. */
    public boolean learnedPositions() {
        return rope == null;
    }

    /** True for the tanh approximation of GELU (GPT-2's own). */
    public boolean tanhGelu() {
        return mlp == Mlp.GELU_TANH;
    }

    /** Whether scores are divided by √D (GPT-2's scale_attn_weights, and every other family). */
    public boolean scaleAttention() {
        return attentionScale != 1f || headDim == 1;
    }

    /** One line for logs: "llama, 22 layers, d 2048, 32/4 heads of 64, MLP 5632 SwiGLU, RMSNorm, rope ...". */
    public String describe() {
        return architecture + ", " + nLayer + " layers, d " + nEmbd + ", " + nHead + (nKvHead != nHead ? "/" + nKvHead : "")
                + " heads of " + headDim + ", MLP " + nInner + " " + mlp.name().toLowerCase().replace('_', ' ') + ", "
                + (norm == Norm.RMS_NORM ? "RMSNorm" : "LayerNorm") + ", " + (rope == null ? "learned positions" : rope)
                + ", context " + nPositions + ", vocabulary " + vocabSize;
    }

    /** Reads a Hugging Face {@code config.json}: GPT-2 ({@code model_type} gpt2) or the Llama family. */
    public static ModelConfig read(Path file) {
        JsonNode root = json(file);
        String type = root.path("model_type").asText("gpt2");
        if (LlamaFamily.MODEL_TYPES.contains(type)) {
            return LlamaFamily.config(file, root);
        }
        if (!type.equals("gpt2")) {
            throw new ModelFormatException(file, "model_type is '" + type + "'; gpu-infer runs gpt2, "
                    + String.join(", ", LlamaFamily.MODEL_TYPES) + " models");
        }
        return gpt2(file, root);
    }

    /** A JSON object from a file, or a {@link ModelFormatException} that says what is wrong with it. */
    static JsonNode json(Path file) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(Files.readString(file));
        } catch (java.nio.file.NoSuchFileException e) {
            throw new ModelFormatException(file, "no such file: a model folder needs config.json (Hugging Face layout)");
        } catch (IOException e) {
            throw new ModelFormatException(file, "is not valid JSON: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw new ModelFormatException(file, "is not a JSON object");
        }
        return root;
    }

    /**
     * The hyperparameters of a GGUF file: llama.cpp's {@code gpt2}, {@code llama} or {@code qwen2} architecture.
     */
    public static ModelConfig fromGguf(gpuinfer.gguf.GgufFile file) {
        String arch = file.string("general.architecture");
        if (arch == null) {
            throw new ModelFormatException(file.file(), "has no general.architecture; it is not a model file");
        }
        if (LlamaFamily.ARCHITECTURES.contains(arch)) {
            return LlamaFamily.config(file);
        }
        if (!arch.equals("gpt2")) {
            throw new ModelFormatException(file.file(), "is a '" + arch + "' model; gpu-infer runs the GGUF architectures gpt2, "
                    + String.join(", ", LlamaFamily.ARCHITECTURES));
        }
        return gpt2(file);
    }

    private static ModelConfig gpt2(Path file, JsonNode root) {
        int nLayer = positive(file, root, "n_layer", null);
        int nHead = positive(file, root, "n_head", null);
        int nEmbd = positive(file, root, "n_embd", null);
        int nPositions = positive(file, root, "n_positions", "n_ctx");
        int vocab = positive(file, root, "vocab_size", null);
        double eps = root.path("layer_norm_epsilon").asDouble(1e-5);
        if (!(eps > 0 && eps < 1)) {
            throw new ModelFormatException(file, "layer_norm_epsilon " + root.path("layer_norm_epsilon") + " must be in (0, 1)");
        }
        if (nEmbd % nHead != 0) {
            throw new ModelFormatException(file, "n_embd " + nEmbd + " is not a multiple of n_head " + nHead);
        }
        String activation = root.path("activation_function").asText("gelu_new");
        if (!TANH_GELUS.contains(activation) && !activation.equals("gelu")) {
            throw new ModelFormatException(file, "activation_function '" + activation + "' is not supported: use gelu_new "
                    + "(GPT-2's tanh approximation), gelu_pytorch_tanh, gelu_fast or gelu");
        }
        int eos = root.path("eos_token_id").isInt() ? root.path("eos_token_id").asInt() : -1;
        if (eos >= vocab) {
            throw new ModelFormatException(file, "eos_token_id " + eos + " is outside the vocabulary of " + vocab);
        }
        JsonNode inner = root.path("n_inner");
        int nInner = inner.isMissingNode() || inner.isNull() ? 4 * nEmbd : positive(file, root, "n_inner", null);
        for (String unsupported : List.of("scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn")) {
            if (root.path(unsupported).asBoolean(false)) {
                throw new ModelFormatException(file, unsupported + " is true; gpu-infer implements GPT-2's attention "
                        + "without that variation");
            }
        }
        boolean scaleAttention = root.path("scale_attn_weights").asBoolean(true);
        return gpt2(nLayer, nHead, nEmbd, nPositions, vocab, (float) eps, TANH_GELUS.contains(activation), eos, nInner,
                scaleAttention);
    }

    /**
     * llama.cpp's {@code gpt2} architecture: {@code gpt2.block_count}, {@code .attention.head_count},
     * {@code .embedding_length}, {@code .context_length}, {@code .feed_forward_length},
     * {@code .attention.layer_norm_epsilon}; the vocabulary is the token embedding's row count. llama.cpp's gpt2
     * always uses the tanh GELU and scales scores by 1/√D.
     */
    private static ModelConfig gpt2(gpuinfer.gguf.GgufFile file) {
        int nLayer = file.positiveInt("gpt2.block_count");
        int nHead = file.positiveInt("gpt2.attention.head_count");
        int nEmbd = file.positiveInt("gpt2.embedding_length");
        int nPositions = file.positiveInt("gpt2.context_length");
        int nInner = file.positiveInt("gpt2.feed_forward_length");
        if (file.value("gpt2.attention.head_count_kv") != null
                && file.integer("gpt2.attention.head_count_kv", nHead) != nHead) {
            throw new ModelFormatException(file.file(), "gpt2.attention.head_count_kv differs from head_count; GPT-2 has "
                    + "no grouped-query attention");
        }
        double eps = file.number("gpt2.attention.layer_norm_epsilon", 1e-5);
        if (!(eps > 0 && eps < 1)) {
            throw new ModelFormatException(file.file(), "gpt2.attention.layer_norm_epsilon " + eps + " must be in (0, 1)");
        }
        if (nEmbd % nHead != 0) {
            throw new ModelFormatException(file.file(), "gpt2.embedding_length " + nEmbd + " is not a multiple of "
                    + "gpt2.attention.head_count " + nHead);
        }
        gpuinfer.gguf.GgufFile.TensorInfo wte = file.tensors().get("token_embd.weight");
        if (wte == null || wte.dims().length != 2) {
            throw new ModelFormatException(file.file(), "has no 2-D tensor 'token_embd.weight' (the token embedding)");
        }
        long vocab = wte.dims()[1];
        if (vocab > Integer.MAX_VALUE) {
            throw new ModelFormatException(file.file(), "token_embd.weight has " + vocab + " rows");
        }
        long eos = file.integer("tokenizer.ggml.eos_token_id", -1);
        if (eos >= vocab) {
            throw new ModelFormatException(file.file(), "tokenizer.ggml.eos_token_id " + eos + " is outside the vocabulary of " + vocab);
        }
        return gpt2(nLayer, nHead, nEmbd, nPositions, (int) vocab, (float) eps, true, (int) eos, nInner, true);
    }

    static int positive(Path file, JsonNode root, String field, String alternative) {
        JsonNode node = root.get(field);
        if (node == null && alternative != null) {
            node = root.get(alternative);
        }
        if (node == null) {
            throw new ModelFormatException(file, "has no '" + field + "' field");
        }
        if (!node.canConvertToInt() || !node.isIntegralNumber() || node.asInt() < 1) {
            throw new ModelFormatException(file, "field '" + field + "' must be a positive integer, not " + node);
        }
        return node.asInt();
    }
}
