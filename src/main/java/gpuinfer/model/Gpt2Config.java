package gpuinfer.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A GPT-2-family model's hyperparameters, from a Hugging Face {@code config.json}.
 *
 * @param nLayer           transformer blocks
 * @param nHead            attention heads
 * @param nEmbd            C, the residual width (a multiple of nHead)
 * @param nPositions       the longest sequence the position embedding covers
 * @param vocabSize        rows of the token embedding (and of the tied output projection)
 * @param layerNormEpsilon added to the variance in every LayerNorm
 * @param activation       "gelu_new" / "gelu_pytorch_tanh" / "gelu_fast" (tanh approximation) or "gelu" (erf)
 * @param eosTokenId       end-of-text id, or -1
 * @param nInner           width of the MLP's hidden layer (n_inner; 4C when config.json leaves it null)
 * @param scaleAttention   scale_attn_weights: divide scores by √D (GPT-2 does)
 */
public record Gpt2Config(int nLayer, int nHead, int nEmbd, int nPositions, int vocabSize, float layerNormEpsilon,
                         String activation, int eosTokenId, int nInner, boolean scaleAttention) {
    static final List<String> TANH_GELUS = List.of("gelu_new", "gelu_pytorch_tanh", "gelu_fast");

    public int headDim() {
        return nEmbd / nHead;
    }

    /** The score scale of every attention layer. */
    public float attentionScale() {
        return scaleAttention ? (float) (1.0 / Math.sqrt(headDim())) : 1f;
    }

    /** True for the tanh approximation of GELU (GPT-2's own), false for the exact erf form. */
    public boolean tanhGelu() {
        return TANH_GELUS.contains(activation);
    }

    public static Gpt2Config read(Path file) {
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
        String type = root.path("model_type").asText("gpt2");
        if (!type.equals("gpt2")) {
            throw new ModelFormatException(file, "model_type is '" + type + "'; gpu-infer runs GPT-2-family models (model_type gpt2)");
        }
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
        return new Gpt2Config(nLayer, nHead, nEmbd, nPositions, vocab, (float) eps, activation, eos, nInner, scaleAttention);
    }

    /**
     * The hyperparameters of a GGUF file of llama.cpp's {@code gpt2} architecture: {@code gpt2.block_count},
     * {@code .attention.head_count}, {@code .embedding_length}, {@code .context_length},
     * {@code .feed_forward_length}, {@code .attention.layer_norm_epsilon}; the vocabulary is the token embedding's
     * row count. llama.cpp's gpt2 always uses the tanh GELU and scales scores by 1/√D.
     */
    public static Gpt2Config fromGguf(gpuinfer.gguf.GgufFile file) {
        String arch = file.string("general.architecture");
        if (arch == null) {
            throw new ModelFormatException(file.file(), "has no general.architecture; it is not a model file");
        }
        if (!arch.equals("gpt2")) {
            throw new ModelFormatException(file.file(), "is a '" + arch + "' model; gpu-infer runs GPT-2-family models "
                    + "(general.architecture gpt2) from GGUF files");
        }
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
        return new Gpt2Config(nLayer, nHead, nEmbd, nPositions, (int) vocab, (float) eps, "gelu_new", (int) eos, nInner, true);
    }

    private static int positive(Path file, JsonNode root, String field, String alternative) {
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
