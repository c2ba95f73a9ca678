package gpuinfer.testing;

import gpuinfer.tensor.RandomTensors;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * A random GPT-2 model with awkward dimensions, written as a Hugging Face folder (config.json + model.safetensors)
 * for tests. Weights are N(0, 0.3) so that every layer matters; LayerNorm weights and biases are not trivial.
 */
public final class TinyGpt2 {
    public static final int LAYERS = 2;
    public static final int HEADS = 3;
    public static final int EMBD = 48;
    public static final int POSITIONS = 40;
    public static final int VOCAB = 97;

    private TinyGpt2() {
    }

    public static Path write(Path dir, String dtype, boolean prefix, int inner) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), """
                {"model_type": "gpt2", "n_layer": %d, "n_head": %d, "n_embd": %d, "n_positions": %d, "vocab_size": %d,
                 "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new", "eos_token_id": %d, "n_inner": %d}
                """.formatted(LAYERS, HEADS, EMBD, POSITIONS, VOCAB, VOCAB - 1, inner));
        SafeTensorsWriter w = new SafeTensorsWriter();
        String p = prefix ? "transformer." : "";
        int C = EMBD;
        long[] seed = {1};
        w.put(p + "wte.weight", gaussian(VOCAB * C, 0.3f, seed), VOCAB, C);
        w.put(p + "wpe.weight", gaussian(POSITIONS * C, 0.1f, seed), POSITIONS, C);
        for (int i = 0; i < LAYERS; i++) {
            String h = p + "h." + i + ".";
            w.put(h + "ln_1.weight", around(C, 1f, seed), C);
            w.put(h + "ln_1.bias", gaussian(C, 0.1f, seed), C);
            w.put(h + "attn.c_attn.weight", gaussian(C * 3 * C, 0.3f, seed), C, 3 * C);
            w.put(h + "attn.c_attn.bias", gaussian(3 * C, 0.1f, seed), 3 * C);
            w.put(h + "attn.c_proj.weight", gaussian(C * C, 0.2f, seed), C, C);
            w.put(h + "attn.c_proj.bias", gaussian(C, 0.1f, seed), C);
            w.put(h + "ln_2.weight", around(C, 1f, seed), C);
            w.put(h + "ln_2.bias", gaussian(C, 0.1f, seed), C);
            w.put(h + "mlp.c_fc.weight", gaussian(C * inner, 0.3f, seed), C, inner);
            w.put(h + "mlp.c_fc.bias", gaussian(inner, 0.1f, seed), inner);
            w.put(h + "mlp.c_proj.weight", gaussian(inner * C, 0.2f, seed), inner, C);
            w.put(h + "mlp.c_proj.bias", gaussian(C, 0.1f, seed), C);
        }
        w.put(p + "ln_f.weight", around(C, 1f, seed), C);
        w.put(p + "ln_f.bias", gaussian(C, 0.1f, seed), C);
        w.write(dir.resolve("model.safetensors"), dtype);
        return dir;
    }

    /** Random token ids of the tiny vocabulary (never end-of-text). */
    public static int[] tokens(int n, long seed) {
        return new SplittableRandom(seed).ints(n, 0, VOCAB - 1).toArray();
    }

    /** n values N(0, std²), from seed[0] (which advances). */
    static float[] gaussian(int n, float std, long[] seed) {
        float[] v = RandomTensors.gaussian(seed[0]++, 0, n).data();
        for (int i = 0; i < n; i++) {
            v[i] *= std;
        }
        return v;
    }

    /** n values around center (std 0.2), as norm weights are. */
    static float[] around(int n, float center, long[] seed) {
        float[] v = gaussian(n, 0.2f, seed);
        for (int i = 0; i < n; i++) {
            v[i] += center;
        }
        return v;
    }
}
