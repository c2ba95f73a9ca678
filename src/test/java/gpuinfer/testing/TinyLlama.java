package gpuinfer.testing;


import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A random Llama-family model with awkward dimensions, written as a Hugging Face folder (config.json +
 * model.safetensors, or two shards with their index) for tests: grouped-query attention, an explicit head size,
 * Llama 3 rope scaling with a small original context (so the smooth band is exercised), untied head; or Qwen2's
 * q/k/v biases and tied head. Weights are N(0, 0.3) so that every layer matters.
 */
public final class TinyLlama {
    public static final int LAYERS = 2;
    public static final int EMBD = 48;
    public static final int HEADS = 6;
    public static final int KV_HEADS = 2;
    public static final int HEAD_DIM = 10;
    public static final int INNER = 70;
    public static final int POSITIONS = 64;
    public static final int VOCAB = 97;

    private TinyLlama() {
    }

    /**
     * @param arch    "llama" (GQA 6/2, head_dim 10, untied, llama3 scaling) or "qwen2" (q/k/v biases, tied, theta 1e6)
     * @param sharded two safetensors shards and model.safetensors.index.json instead of one file
     */
    public static Path write(Path dir, String arch, boolean sharded) throws IOException {
        Files.createDirectories(dir);
        boolean qwen = arch.equals("qwen2");
        String scaling = qwen ? "null" : """
                {"rope_type": "llama3", "factor": 4.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                 "original_max_position_embeddings": 32}""";
        Files.writeString(dir.resolve("config.json"), """
                {"model_type": "%s", "num_hidden_layers": %d, "hidden_size": %d, "num_attention_heads": %d,
                 "num_key_value_heads": %d, "head_dim": %d, "intermediate_size": %d, "max_position_embeddings": %d,
                 "vocab_size": %d, "rms_norm_eps": 1e-5, "hidden_act": "silu", "rope_theta": %s, "rope_scaling": %s,
                 "tie_word_embeddings": %s, "bos_token_id": 1, "eos_token_id": %d}
                """.formatted(arch, LAYERS, EMBD, HEADS, KV_HEADS, HEAD_DIM, INNER, POSITIONS, VOCAB,
                qwen ? "1000000.0" : "500000.0", scaling, qwen, VOCAB - 1));
        int C = EMBD;
        int Q = HEADS * HEAD_DIM;
        int KV = KV_HEADS * HEAD_DIM;
        long[] seed = {qwen ? 100 : 200};
        List<SafeTensorsWriter> shards = new ArrayList<>(List.of(new SafeTensorsWriter(), new SafeTensorsWriter()));
        List<String[]> index = new ArrayList<>();
        Putter put = (shard, name, values, shape) -> {
            shards.get(sharded ? shard : 0).put(name, values, shape);
            index.add(new String[] {name, "model-0000" + (shard + 1) + "-of-00002.safetensors"});
        };
        put.put(0, "model.embed_tokens.weight", TinyGpt2.gaussian(VOCAB * C, 0.5f, seed), VOCAB, C);
        for (int i = 0; i < LAYERS; i++) {
            String p = "model.layers." + i + ".";
            int shard = i % 2;
            put.put(shard, p + "input_layernorm.weight", TinyGpt2.around(C, 1f, seed), C);
            put.put(shard, p + "self_attn.q_proj.weight", TinyGpt2.gaussian(Q * C, 0.3f, seed), Q, C);
            put.put(shard, p + "self_attn.k_proj.weight", TinyGpt2.gaussian(KV * C, 0.3f, seed), KV, C);
            put.put(shard, p + "self_attn.v_proj.weight", TinyGpt2.gaussian(KV * C, 0.3f, seed), KV, C);
            if (qwen) {
                put.put(shard, p + "self_attn.q_proj.bias", TinyGpt2.gaussian(Q, 0.2f, seed), Q);
                put.put(shard, p + "self_attn.k_proj.bias", TinyGpt2.gaussian(KV, 0.2f, seed), KV);
                put.put(shard, p + "self_attn.v_proj.bias", TinyGpt2.gaussian(KV, 0.2f, seed), KV);
            }
            put.put(shard, p + "self_attn.o_proj.weight", TinyGpt2.gaussian(C * Q, 0.2f, seed), C, Q);
            put.put(shard, p + "post_attention_layernorm.weight", TinyGpt2.around(C, 1f, seed), C);
            put.put(shard, p + "mlp.gate_proj.weight", TinyGpt2.gaussian(INNER * C, 0.3f, seed), INNER, C);
            put.put(shard, p + "mlp.up_proj.weight", TinyGpt2.gaussian(INNER * C, 0.3f, seed), INNER, C);
            put.put(shard, p + "mlp.down_proj.weight", TinyGpt2.gaussian(C * INNER, 0.2f, seed), C, INNER);
        }
        put.put(1, "model.norm.weight", TinyGpt2.around(C, 1f, seed), C);
        if (!qwen) {
            put.put(1, "lm_head.weight", TinyGpt2.gaussian(VOCAB * C, 0.3f, seed), VOCAB, C);
        }
        if (!sharded) {
            shards.get(0).write(dir.resolve("model.safetensors"), "F32");
            return dir;
        }
        shards.get(0).write(dir.resolve("model-00001-of-00002.safetensors"), "F32");
        shards.get(1).write(dir.resolve("model-00002-of-00002.safetensors"), "F32");
        StringBuilder json = new StringBuilder("{\"metadata\": {}, \"weight_map\": {");
        for (int i = 0; i < index.size(); i++) {
            json.append(i == 0 ? "" : ", ").append('"').append(index.get(i)[0]).append("\": \"").append(index.get(i)[1]).append('"');
        }
        Files.writeString(dir.resolve("model.safetensors.index.json"), json.append("}}").toString());
        return dir;
    }

    private interface Putter {
        void put(int shard, String name, float[] values, int... shape);
    }

    /** Random token ids of the tiny vocabulary (never end-of-text). */
    public static int[] tokens(int n, long seed) {
        return new SplittableRandom(seed).ints(n, 0, VOCAB - 1).toArray();
    }
}
