package gpuinfer.model;

import com.fasterxml.jackson.databind.JsonNode;
import gpuinfer.gguf.GgufFile;
import gpuinfer.ops.Rope;
import gpuinfer.weights.WeightTensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Llama family as files describe it: Llama 2 and 3.x, TinyLlama, SmolLM, Mistral (Hugging Face
 * {@code model_type} llama / mistral, GGUF architecture {@code llama}) and Qwen2 ({@code qwen2}): RMSNorm, rotary
 * embeddings, grouped-query attention, SwiGLU, no biases but Qwen2's on q/k/v, tied or untied head.
 *
 * <p>The rotary pair order follows the file: Hugging Face checkpoints use {@code rotate_half} (halves); llama.cpp's
 * converter permutes the q and k rows of {@code llama} models to interleaved pairs, and leaves {@code qwen2} in
 * halves (llama.cpp runs it with NEOX rope). Llama 3's frequency scaling comes from {@code rope_scaling} in
 * config.json, or from the {@code rope_freqs} tensor of a GGUF file.
 */
final class LlamaFamily {
    /** Hugging Face model types run as this family. */
    static final List<String> MODEL_TYPES = List.of("llama", "mistral", "qwen2");
    /** GGUF architectures run as this family. */
    static final List<String> ARCHITECTURES = List.of("llama", "qwen2");

    private LlamaFamily() {
    }

    // ------------------------------------------------------------------------------------------ Hugging Face config

    static ModelConfig config(Path file, JsonNode root) {
        String type = root.path("model_type").asText();
        String arch = type.equals("qwen2") ? "qwen2" : "llama";
        int nLayer = ModelConfig.positive(file, root, "num_hidden_layers", null);
        int nHead = ModelConfig.positive(file, root, "num_attention_heads", null);
        int nEmbd = ModelConfig.positive(file, root, "hidden_size", null);
        int nInner = ModelConfig.positive(file, root, "intermediate_size", null);
        int vocab = ModelConfig.positive(file, root, "vocab_size", null);
        int nPositions = ModelConfig.positive(file, root, "max_position_embeddings", null);
        int nKvHead = root.hasNonNull("num_key_value_heads") ? ModelConfig.positive(file, root, "num_key_value_heads", null) : nHead;
        if (nHead % nKvHead != 0) {
            throw new ModelFormatException(file, "num_attention_heads " + nHead + " is not a multiple of num_key_value_heads "
                    + nKvHead + "; grouped-query attention shares each key/value head among a whole number of query heads");
        }
        int headDim;
        if (root.hasNonNull("head_dim")) {
            headDim = ModelConfig.positive(file, root, "head_dim", null);
        } else {
            if (nEmbd % nHead != 0) {
                throw new ModelFormatException(file, "hidden_size " + nEmbd + " is not a multiple of num_attention_heads "
                        + nHead + " and there is no head_dim");
            }
            headDim = nEmbd / nHead;
        }
        String act = root.path("hidden_act").asText("silu");
        if (!act.equals("silu")) {
            throw new ModelFormatException(file, "hidden_act is '" + act + "'; the Llama family's MLP is SwiGLU (silu)");
        }
        double eps = root.path("rms_norm_eps").asDouble(1e-6);
        if (!(eps > 0 && eps < 1)) {
            throw new ModelFormatException(file, "rms_norm_eps " + root.path("rms_norm_eps") + " must be in (0, 1)");
        }
        if (root.path("mlp_bias").asBoolean(false)) {
            throw new ModelFormatException(file, "mlp_bias is true; gpu-infer runs Llama-family MLPs without biases");
        }
        boolean attentionBias = root.path("attention_bias").asBoolean(false);
        if (attentionBias) {
            throw new ModelFormatException(file, "attention_bias is true (biases on q, k, v and o); gpu-infer runs q/k/v "
                    + "biases for qwen2 only, and no bias on the attention output");
        }
        boolean qkvBias = arch.equals("qwen2");
        double theta = root.path("rope_theta").asDouble(10000);
        Rope rope = rope(file, root.get("rope_scaling"), headDim, Rope.Order.HALVES, theta);
        // a sliding window no shorter than the context is no window at all; a shorter one limits the context
        int window = slidingWindow(root, type);
        if (window > 0 && window < nPositions) {
            nPositions = window;
        }
        int eos = firstInt(root.get("eos_token_id"));
        return new ModelConfig(arch, nLayer, nHead, nKvHead, nEmbd, headDim, nInner, nPositions, vocab,
                ModelConfig.Norm.RMS_NORM, (float) eps, ModelConfig.Mlp.SWIGLU, rope, qkvBias, false,
                eos < vocab ? eos : -1, (float) (1.0 / Math.sqrt(headDim)));
    }

    /** The sliding window that limits attention (Mistral 7B v0.1: 4096), or 0 for none. */
    private static int slidingWindow(JsonNode root, String type) {
        JsonNode w = root.get("sliding_window");
        if (w == null || !w.isIntegralNumber()) {
            return 0;
        }
        if (type.equals("qwen2") && !root.path("use_sliding_window").asBoolean(false)) {
            return 0;
        }
        return w.asInt();
    }

    /** An id, or the first of a list of ids (generation configs list several end-of-turn ids); -1 when absent. */
    static int firstInt(JsonNode node) {
        if (node == null || node.isNull()) {
            return -1;
        }
        if (node.isArray()) {
            return node.size() == 0 ? -1 : node.get(0).asInt(-1);
        }
        return node.isIntegralNumber() ? node.asInt() : -1;
    }

    private static Rope rope(Path file, JsonNode scaling, int headDim, Rope.Order order, double theta) {
        if (!(theta > 1)) {
            throw new ModelFormatException(file, "rope_theta " + theta + " must be greater than 1");
        }
        if (scaling == null || scaling.isNull()) {
            return Rope.of(headDim, order, theta, 1, null);
        }
        String kind = scaling.has("rope_type") ? scaling.path("rope_type").asText() : scaling.path("type").asText();
        double factor = scaling.path("factor").asDouble(1);
        try {
            return switch (kind) {
                case "default" -> Rope.of(headDim, order, theta, 1, null);
                case "linear" -> Rope.of(headDim, order, theta, factor, null);
                case "llama3" -> Rope.of(headDim, order, theta, 1, new Rope.Llama3Scaling(factor,
                        scaling.path("low_freq_factor").asDouble(1), scaling.path("high_freq_factor").asDouble(4),
                        scaling.path("original_max_position_embeddings").asInt(8192)));
                default -> throw new ModelFormatException(file, "rope_scaling type '" + kind + "' is not supported: "
                        + "gpu-infer implements none, linear and llama3 (dynamic NTK, yarn and longrope scale differently)");
            };
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file, "rope_scaling " + scaling + ": " + e.getMessage());
        }
    }

    // -------------------------------------------------------------------------------------------------- GGUF config

    static ModelConfig config(GgufFile file) {
        String arch = file.string("general.architecture");
        String k = arch + ".";
        int nLayer = file.positiveInt(k + "block_count");
        int nHead = file.positiveInt(k + "attention.head_count");
        int nEmbd = file.positiveInt(k + "embedding_length");
        int nPositions = file.positiveInt(k + "context_length");
        int nInner = file.positiveInt(k + "feed_forward_length");
        long kv = file.integer(k + "attention.head_count_kv", nHead);
        if (kv < 1 || kv > nHead || nHead % kv != 0) {
            throw new ModelFormatException(file.file(), k + "attention.head_count_kv " + kv + " does not divide "
                    + k + "attention.head_count " + nHead);
        }
        int nKvHead = (int) kv;
        long keyLength = file.integer(k + "attention.key_length", nEmbd % nHead == 0 ? nEmbd / nHead : -1);
        long valueLength = file.integer(k + "attention.value_length", keyLength);
        if (keyLength < 1 || keyLength != valueLength) {
            throw new ModelFormatException(file.file(), "head size: " + k + "attention.key_length " + keyLength
                    + " and value_length " + valueLength + " must be equal and positive (embedding_length " + nEmbd
                    + ", head_count " + nHead + ")");
        }
        int headDim = (int) keyLength;
        double eps = file.number(k + "attention.layer_norm_rms_epsilon", 1e-5);
        if (!(eps > 0 && eps < 1)) {
            throw new ModelFormatException(file.file(), k + "attention.layer_norm_rms_epsilon " + eps + " must be in (0, 1)");
        }
        long dims = file.integer(k + "rope.dimension_count", headDim);
        if (dims < 2 || dims > headDim || dims % 2 != 0) {
            throw new ModelFormatException(file.file(), k + "rope.dimension_count " + dims + " must be even and at most the "
                    + "head size " + headDim);
        }
        double theta = file.number(k + "rope.freq_base", 10000);
        String scaling = file.string(k + "rope.scaling.type");
        double factor = 1;
        if (scaling != null && !scaling.equals("none")) {
            if (!scaling.equals("linear")) {
                throw new ModelFormatException(file.file(), k + "rope.scaling.type '" + scaling + "' is not supported: "
                        + "gpu-infer implements none, linear and Llama 3's (stored as the rope_freqs tensor)");
            }
            factor = file.number(k + "rope.scaling.factor", 1);
        }
        // llama.cpp's converter permutes llama's q/k rows to interleaved pairs; qwen2 keeps Hugging Face's halves
        Rope.Order order = arch.equals("llama") ? Rope.Order.INTERLEAVED : Rope.Order.HALVES;
        Rope rope;
        try {
            rope = Rope.of((int) dims, order, theta, factor, null);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file.file(), "rope: " + e.getMessage());
        }
        GgufFile.TensorInfo freqs = file.tensors().get("rope_freqs.weight");
        if (freqs != null) {
            if (freqs.elementCount() != dims / 2) {
                throw new ModelFormatException(file.file(), "rope_freqs.weight has " + freqs.elementCount() + " values; "
                        + "the rope over " + dims + " values needs " + dims / 2);
            }
            rope = rope.dividedBy(file.tensor("rope_freqs.weight").toFloats());
        }
        GgufFile.TensorInfo wte = file.tensors().get("token_embd.weight");
        if (wte == null || wte.dims().length != 2) {
            throw new ModelFormatException(file.file(), "has no 2-D tensor 'token_embd.weight' (the token embedding)");
        }
        long vocab = wte.dims()[1];
        long eos = file.integer("tokenizer.ggml.eos_token_id", -1);
        return new ModelConfig(arch, nLayer, nHead, nKvHead, nEmbd, headDim, nInner, nPositions, (int) vocab,
                ModelConfig.Norm.RMS_NORM, (float) eps, ModelConfig.Mlp.SWIGLU, rope, arch.equals("qwen2"), false,
                eos < vocab ? (int) eos : -1, (float) (1.0 / Math.sqrt(headDim)));
    }

    // ------------------------------------------------------------------------------------------------------ weights

    /** A source of named tensors with their shapes checked: a set of safetensors shards, or a GGUF file. */
    private interface Tensors {
        /** The [rows, cols] matrix of that name; null when absent and {@code optional}. */
        WeightTensor matrix(String name, int rows, int cols, boolean optional);

        float[] vector(String name, int length, boolean optional);
    }

    /** Tensor names of one file format, for block {@code i}. */
    private record Names(String prefix, String embed, String finalNorm, String output, String attnNorm, String q,
                         String k, String v, String o, String mlpNorm, String gate, String up, String down, String weight,
                         String bias) {
    }

    private static final Names HF = new Names("model.layers.", "model.embed_tokens", "model.norm", "lm_head",
            "input_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
            "post_attention_layernorm", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj", ".weight", ".bias");
    private static final Names GGUF = new Names("blk.", "token_embd", "output_norm", "output", "attn_norm", "attn_q",
            "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down", ".weight", ".bias");

    private static ModelWeights weights(ModelConfig c, Tensors t, Names n) {
        int C = c.nEmbd();
        int Q = c.qDim();
        int KV = c.kvDim();
        int I = c.nInner();
        WeightTensor embed = t.matrix(n.embed() + n.weight(), c.vocabSize(), C, false);
        ModelWeights.Layer[] layers = new ModelWeights.Layer[c.nLayer()];
        for (int i = 0; i < layers.length; i++) {
            String p = n.prefix() + i + ".";
            ModelWeights.Layer l = new ModelWeights.Layer();
            l.attnNormWeight = t.vector(p + n.attnNorm() + n.weight(), C, false);
            l.qWeight = t.matrix(p + n.q() + n.weight(), Q, C, false);
            l.kWeight = t.matrix(p + n.k() + n.weight(), KV, C, false);
            l.vWeight = t.matrix(p + n.v() + n.weight(), KV, C, false);
            if (c.qkvBias()) {
                l.qBias = t.vector(p + n.q() + n.bias(), Q, false);
                l.kBias = t.vector(p + n.k() + n.bias(), KV, false);
                l.vBias = t.vector(p + n.v() + n.bias(), KV, false);
            }
            l.attnOutWeight = t.matrix(p + n.o() + n.weight(), C, Q, false);
            l.mlpNormWeight = t.vector(p + n.mlpNorm() + n.weight(), C, false);
            l.gateWeight = t.matrix(p + n.gate() + n.weight(), I, C, false);
            l.upWeight = t.matrix(p + n.up() + n.weight(), I, C, false);
            l.downWeight = t.matrix(p + n.down() + n.weight(), C, I, false);
            layers[i] = l;
        }
        float[] finalNorm = t.vector(n.finalNorm() + n.weight(), C, false);
        WeightTensor output = t.matrix(n.output() + n.weight(), c.vocabSize(), C, true);
        return new ModelWeights(c, embed, null, layers, finalNorm, null, output == null ? embed : output, List.of());
    }

    /**
     * Maps the tensors of a Hugging Face folder: {@code model.safetensors}, or the shards its
     * {@code model.safetensors.index.json} names. The files are closed again; the tensors stay mapped.
     */
    static ModelWeights weights(ModelConfig config, Path dir) {
        Map<String, SafeTensors> byTensor = new LinkedHashMap<>();
        List<SafeTensors> opened = new ArrayList<>();
        try {
            Path single = dir.resolve("model.safetensors");
            Path index = dir.resolve("model.safetensors.index.json");
            if (Files.exists(single)) {
                SafeTensors file = SafeTensors.open(single);
                opened.add(file);
                file.entries().keySet().forEach(name -> byTensor.put(name, file));
            } else if (Files.exists(index)) {
                JsonNode map = ModelConfig.json(index).path("weight_map");
                if (!map.isObject() || map.isEmpty()) {
                    throw new ModelFormatException(index, "has no weight_map object naming the shard of each tensor");
                }
                Map<String, SafeTensors> shards = new LinkedHashMap<>();
                for (var it = map.fields(); it.hasNext(); ) {
                    var e = it.next();
                    String shardName = e.getValue().asText();
                    if (shardName.contains("/") || shardName.contains("\\") || shardName.isEmpty()) {
                        throw new ModelFormatException(index, "names the shard '" + shardName + "' for tensor '"
                                + e.getKey() + "'; shards are files in the model folder");
                    }
                    SafeTensors shard = shards.computeIfAbsent(shardName, s -> {
                        SafeTensors f = SafeTensors.open(dir.resolve(s));
                        opened.add(f);
                        return f;
                    });
                    if (shard.entry(e.getKey()) == null) {
                        throw new ModelFormatException(shard.file(), "has no tensor '" + e.getKey() + "', which "
                                + index.getFileName() + " places in it");
                    }
                    byTensor.put(e.getKey(), shard);
                }
            } else {
                throw new ModelFormatException(single, "no such file, and no model.safetensors.index.json for a sharded "
                        + "checkpoint: gpu-infer reads weights from safetensors files");
            }
            return weights(config, new Tensors() {
                SafeTensors.Entry entry(String name, int[] shape, boolean optional) {
                    SafeTensors file = byTensor.get(name);
                    if (file == null) {
                        if (optional) {
                            return null;
                        }
                        throw new ModelFormatException(dir, "has no tensor '" + name + "', which a " + config.architecture()
                                + " model with " + config.nLayer() + " layers needs");
                    }
                    SafeTensors.Entry entry = file.entry(name);
                    if (!Arrays.equals(entry.shape(), shape)) {
                        throw ModelWeights.mismatch(file.file(), name, Arrays.toString(entry.shape()),
                                Arrays.toString(shape), config, "config.json");
                    }
                    return entry;
                }

                @Override
                public WeightTensor matrix(String name, int rows, int cols, boolean optional) {
                    SafeTensors.Entry e = entry(name, new int[] {rows, cols}, optional);
                    return e == null ? null : byTensor.get(name).tensor(e).named(name);
                }

                @Override
                public float[] vector(String name, int length, boolean optional) {
                    SafeTensors.Entry e = entry(name, new int[] {length}, optional);
                    return e == null ? null : byTensor.get(name).read(e);
                }
            }, HF);
        } finally {
            opened.forEach(SafeTensors::close);
        }
    }

    /** Maps the tensors of a GGUF file of architecture {@code llama} or {@code qwen2}, as stored. */
    static ModelWeights weights(ModelConfig config, GgufFile file) {
        return weights(config, new Tensors() {
            GgufFile.TensorInfo info(String name, long[] shape, boolean optional) {
                GgufFile.TensorInfo info = file.tensors().get(name);
                if (info == null) {
                    if (optional) {
                        return null;
                    }
                    throw new ModelFormatException(file.file(), "has no tensor '" + name + "', which a "
                            + config.architecture() + " model with " + config.nLayer() + " blocks needs; the file has "
                            + file.tensors().size() + " tensors");
                }
                if (!Arrays.equals(info.shape(), shape)) {
                    throw ModelWeights.mismatch(file.file(), name, Arrays.toString(info.shape()), Arrays.toString(shape),
                            config, "the metadata");
                }
                return info;
            }

            @Override
            public WeightTensor matrix(String name, int rows, int cols, boolean optional) {
                return info(name, new long[] {rows, cols}, optional) == null ? null : file.tensor(name);
            }

            @Override
            public float[] vector(String name, int length, boolean optional) {
                return info(name, new long[] {length}, optional) == null ? null : file.tensor(name).toFloats();
            }
        }, GGUF);
    }
}
