package gpuinfer.hardening;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.cli.Main;
import gpuinfer.gguf.GgufFile;
import gpuinfer.gguf.GgufValue;
import gpuinfer.gguf.GgufWriter;
import gpuinfer.model.GgufExport;
import gpuinfer.model.LoadedModel;
import gpuinfer.model.ModelLocator;
import gpuinfer.tensor.Half;
import gpuinfer.testing.OpenClTestSupport;
import gpuinfer.weights.WeightTensor;
import gpuinfer.weights.WeightType;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A 1.1-billion-parameter GPT-2-shaped model (20 blocks of width 2048, GPT-2's 50,257-row vocabulary) as a 1.2 GB
 * Q8_0 GGUF file generates text in a JVM whose heap is 512 MiB: weights are memory-mapped and uploaded in their
 * stored format, never held as floats on the heap (as float32 they would be 4.4 GB).
 */
class LargeModelTest {
    static final int LAYERS = 20;
    static final int WIDTH = 2048;
    static final int HEADS = 16;
    static final int POSITIONS = 1024;
    static final int VOCAB = 50257;

    @TempDir
    Path dir;

    @Test
    void aBillionParameterQ8_0FileRunsWithAHalfGigabyteHeap() throws Exception {
        OpenClTestSupport.device("lwjgl");
        // the 1.2 GB file and room to spare; a machine without it says so (the one precondition not about OpenCL)
        long needed = 2L << 30;
        Assumptions.assumeTrue(Files.getFileStore(dir).getUsableSpace() > needed,
                "the 1.2 GB model file needs " + (needed >> 30) + " GiB free in " + dir);
        Path model = dir.resolve("gpt2-1b.Q8_0.gguf");
        long parameters = write(model);
        assertTrue(parameters > 1_000_000_000L, "parameters: " + parameters);

        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-Xmx512m",
                "-Dgpuinfer.cacheDir=" + System.getProperty("gpuinfer.cacheDir", dir.toString()),
                "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "run", "--model", model.toString(), "--prompt", "The meaning of life is", "--max-tokens", "3",
                "--temperature", "0", "--json")
                .redirectError(dir.resolve("err.txt").toFile()).redirectOutput(dir.resolve("out.json").toFile()).start();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "the run ended");
        String err = Files.readString(dir.resolve("err.txt"), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), err);
        JsonNode out = new ObjectMapper().readTree(dir.resolve("out.json").toFile());
        assertEquals(3, out.get("completions").get(0).get("generatedIds").size(), out::toString);
        assertTrue(out.get("weights").asText().startsWith("Q8_0 ×81"), out.get("weights").asText());
        assertTrue(out.get("deviceBytes").asLong() > 1_150_000_000L, "the weights are on the device in Q8_0: " + out);
        assertTrue(out.get("deviceBytes").asLong() < 1_400_000_000L, "and not as float32: " + out);
    }

    /**
     * Writes the model: random Q8_0 blocks (scales about 0.02/127, as GPT-2's N(0, 0.02) initialisation would
     * quantise), LayerNorm weights 1 and biases 0, the bundled tokenizer padded to GPT-2's vocabulary. Nothing is
     * held in memory: each tensor's rows are generated as they are written.
     */
    private static long write(Path file) throws IOException {
        // the metadata and tokenizer of the bundled model, resized
        Path small = file.resolveSibling("small.gguf");
        GgufExport.write(LoadedModel.openAsStored(ModelLocator.bundled()), WeightType.Q8_0, "gpt2-1b", small, b -> { });
        GgufWriter w = new GgufWriter();
        long parameters = 0;
        try (GgufFile source = GgufFile.open(small)) {
            source.metadata().forEach(w::put);
        }
        String[] tokens = new String[VOCAB];
        int[] types = new int[VOCAB];
        try (GgufFile source = GgufFile.open(small)) {
            String[] bundled = source.strings("tokenizer.ggml.tokens");
            long[] bundledTypes = source.integers("tokenizer.ggml.token_type");
            for (int i = 0; i < VOCAB; i++) {
                tokens[i] = i < bundled.length ? bundled[i] : "[PAD" + i + "]";
                types[i] = i < bundled.length ? (int) bundledTypes[i] : 5;
            }
        }
        Files.delete(small);
        w.put("tokenizer.ggml.tokens", GgufValue.strings(tokens));
        w.put("tokenizer.ggml.token_type", GgufValue.int32s(types));
        w.put("gpt2.block_count", GgufValue.uint32(LAYERS));
        w.put("gpt2.context_length", GgufValue.uint32(POSITIONS));
        w.put("gpt2.embedding_length", GgufValue.uint32(WIDTH));
        w.put("gpt2.feed_forward_length", GgufValue.uint32(4 * WIDTH));
        w.put("gpt2.attention.head_count", GgufValue.uint32(HEADS));
        parameters += add(w, random("token_embd.weight", VOCAB, WIDTH));
        parameters += add(w, WeightTensor.ofFloats("position_embd.weight", new float[POSITIONS * WIDTH], POSITIONS, WIDTH)
                .to(WeightType.F16).named("position_embd.weight"));
        for (int i = 0; i < LAYERS; i++) {
            String p = "blk." + i + ".";
            parameters += add(w, vector(p + "attn_norm.weight", WIDTH, 1f));
            parameters += add(w, vector(p + "attn_norm.bias", WIDTH, 0f));
            parameters += add(w, random(p + "attn_qkv.weight", 3 * WIDTH, WIDTH));
            parameters += add(w, vector(p + "attn_qkv.bias", 3 * WIDTH, 0f));
            parameters += add(w, random(p + "attn_output.weight", WIDTH, WIDTH));
            parameters += add(w, vector(p + "attn_output.bias", WIDTH, 0f));
            parameters += add(w, vector(p + "ffn_norm.weight", WIDTH, 1f));
            parameters += add(w, vector(p + "ffn_norm.bias", WIDTH, 0f));
            parameters += add(w, random(p + "ffn_up.weight", 4 * WIDTH, WIDTH));
            parameters += add(w, vector(p + "ffn_up.bias", 4 * WIDTH, 0f));
            parameters += add(w, random(p + "ffn_down.weight", WIDTH, 4 * WIDTH));
            parameters += add(w, vector(p + "ffn_down.bias", WIDTH, 0f));
        }
        parameters += add(w, vector("output_norm.weight", WIDTH, 1f));
        parameters += add(w, vector("output_norm.bias", WIDTH, 0f));
        w.write(file, b -> { });
        return parameters;
    }

    private static long add(GgufWriter w, WeightTensor t) {
        w.add(t);
        return t.elementCount();
    }

    private static WeightTensor vector(String name, int n, float value) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, value);
        return WeightTensor.ofFloats(name, v, n);
    }

    private static WeightTensor random(String name, int rows, int cols) {
        short scale = Half.fromFloat(0.02f / 127 * 2);
        return WeightTensor.computed(name, WeightType.Q8_0, new long[] {rows, cols}, (first, count, dst) -> {
            for (long r = first; r < first + count; r++) {
                SplittableRandom random = new SplittableRandom(name.hashCode() * 1_000_003L + r);
                for (int b = 0; b < cols / 32; b++) {
                    dst.putShort(scale);
                    for (int j = 0; j < 32; j += 4) {
                        dst.putInt(random.nextInt() & 0x7f7f7f7f ^ (random.nextInt() & 0x80808080));
                    }
                }
            }
        }, "random");
    }
}
