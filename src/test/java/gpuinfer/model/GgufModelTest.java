package gpuinfer.model;

import gpuinfer.InputException;
import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.cl.ClContext;
import gpuinfer.gguf.GgufFile;
import gpuinfer.gguf.GgufValue;
import gpuinfer.gguf.GgufWriter;
import gpuinfer.ops.Backend;
import gpuinfer.ops.ClBackend;
import gpuinfer.ops.CpuBackend;
import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import gpuinfer.weights.WeightTensor;
import gpuinfer.weights.WeightType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPT-2 from GGUF files that gpu-infer converted from the bundled model: the same model gives the same logits from
 * its Hugging Face folder and from its GGUF file; quantised files run on the device as the CPU reference runs them;
 * the tokenizer carried in the file is the folder's; and files that do not describe a runnable GPT-2 are refused
 * with the reason. (llama.cpp's own reading of these files is LlamaCppGoldenTest's.)
 */
@ExtendWith(NoLeaks.class)
class GgufModelTest {
    private static final int[] PROMPT = {464, 3616, 286, 1204, 318, 11, 290, 257, 1738};
    private static final Map<WeightType, Path> FILES = new LinkedHashMap<>();

    @TempDir
    static Path dir;

    @TempDir
    Path scratch;

    @BeforeAll
    static void convert() throws IOException {
        LoadedModel bundled = LoadedModel.openAsStored(ModelLocator.bundled());
        for (WeightType type : WeightType.targets()) {
            Path file = dir.resolve("brown." + type.label + ".gguf");
            GgufExport.write(bundled, type, "gpt2-brown", file, bytes -> { });
            FILES.put(type, file);
        }
    }

    /** Logits of every prompt position. */
    private static float[] logits(Backend backend, ModelWeights weights) {
        int T = PROMPT.length;
        int[] rows = new int[T];
        java.util.Arrays.setAll(rows, i -> i);
        try (DecoderModel model = new DecoderModel(backend, weights, 1, T, T, T)) {
            return model.forward(PROMPT, new int[] {0}, new int[] {T}, T, rows, Tap.NONE);
        }
    }

    private static float[] onDevice(ModelWeights weights) {
        try (ClContext context = OpenClTestSupport.context(OpenClTestSupport.bindings().get(0))) {
            return logits(new ClBackend(context), weights);
        }
    }

    @Test
    void theSameModelGivesTheSameLogitsFromItsFolderAndFromItsGgufFile() {
        LoadedModel folder = LoadedModel.open(ModelLocator.bundled(), null);
        LoadedModel f32 = LoadedModel.open(FILES.get(WeightType.F32), null);
        assertEquals(folder.config(), f32.config());
        assertEquals("GGUF v3", f32.source());
        assertArrayEquals(logits(new CpuBackend(), folder.weights()), logits(new CpuBackend(), f32.weights()),
                "CPU reference, bit for bit");
        assertArrayEquals(onDevice(folder.weights()), onDevice(f32.weights()), "OpenCL, bit for bit");
        // a format converted at load (--weights) and the same format written to a file are the same weights
        for (WeightType type : new WeightType[] {WeightType.F16, WeightType.Q8_0, WeightType.Q4_0}) {
            LoadedModel converted = LoadedModel.open(ModelLocator.bundled(), type);
            LoadedModel file = LoadedModel.open(FILES.get(type), null);
            assertArrayEquals(onDevice(converted.weights()), onDevice(file.weights()), type + ": --weights and the file agree");
        }
    }

    @Test
    void quantisedFilesRunOnTheDeviceAsTheCpuReferenceRunsThem() {
        for (WeightType type : WeightType.targets()) {
            LoadedModel model = LoadedModel.open(FILES.get(type), null);
            assertTrue(model.weights().formats().startsWith(type.toString()), model.weights().formats());
            Comparison c = Validate.compare(type + " logits", onDevice(model.weights()), logits(new CpuBackend(), model.weights()),
                    Tolerance.FP32_MODEL);
            assertTrue(c.passed(), c::report);
        }
    }

    @Test
    void theTokenizerInTheFileIsTheFolders() {
        LoadedModel folder = LoadedModel.open(ModelLocator.bundled(), null);
        LoadedModel file = LoadedModel.open(FILES.get(WeightType.Q4_0), null);
        for (String text : new String[] {"The meaning of life is", "  spaces\tand\nlines  ", "ünïcödé 😀 <|endoftext|> x",
                "1234567 numbers, punctuation!?"}) {
            assertArrayEquals(folder.tokenizer().encode(text), file.tokenizer().encode(text), text);
        }
        assertEquals(folder.tokenizer().eosId(), file.tokenizer().eosId());
    }

    @Test
    void filesThatAreNotARunnableGpt2AreRefusedWithTheReason() throws IOException {
        Path f32 = FILES.get(WeightType.F32);
        refused(rewrite(f32, m -> m.put("general.architecture", GgufValue.string("falcon")), null), "'falcon' model");
        refused(rewrite(f32, m -> m.remove("gpt2.block_count"), null), "gpt2.block_count");
        refused(rewrite(f32, m -> m.put("gpt2.block_count", GgufValue.uint32(5)), null), "has no tensor 'blk.4.attn_norm.weight'");
        refused(rewrite(f32, m -> m.put("gpt2.feed_forward_length", GgufValue.uint32(500)), null),
                "'blk.0.ffn_up.weight' has shape [512, 128] but the metadata implies [500, 128]");
        refused(rewrite(f32, m -> m.put("tokenizer.ggml.model", GgufValue.string("llama")), null), "lacks tokenizer.ggml.scores");
        refused(rewrite(f32, m -> m.put("tokenizer.ggml.pre", GgufValue.string("falcon")), null), "'falcon'");
        refused(rewrite(f32, m -> m.put("gpt2.attention.head_count", GgufValue.string("4")), null), "is STRING, expected an integer");
        refused(rewrite(f32, m -> m.put("tokenizer.ggml.merges", GgufValue.strings("Ġ t", "x y")), null),
                "tokenizer.ggml.merges entry 1", "\"xy\" is not in the vocabulary");
        refused(rewrite(f32, m -> { }, "token_embd.weight"), "token_embd.weight");
    }

    @Test
    void modelsLlamaCppsGpt2CannotExpressAreNotConverted() throws IOException {
        Path folder = scratch.resolve("erf");
        Files.createDirectories(folder);
        for (String name : new String[] {"model.safetensors", "vocab.json", "merges.txt"}) {
            Files.copy(ModelLocator.bundled().resolve(name), folder.resolve(name));
        }
        String config = Files.readString(ModelLocator.bundled().resolve("config.json"));
        Files.writeString(folder.resolve("config.json"), config.replace("\"gelu_new\"", "\"gelu\""));
        InputException e = assertThrows(InputException.class, () -> GgufExport.write(LoadedModel.openAsStored(folder),
                WeightType.F16, "x", scratch.resolve("x.gguf"), b -> { }));
        assertTrue(e.getMessage().contains("tanh approximation"), e.getMessage());
        assertTrue(Files.notExists(scratch.resolve("x.gguf")));
    }

    private void refused(Path file, String... fragments) {
        InputException e = assertThrows(InputException.class, () -> LoadedModel.open(file, null));
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), "'" + fragment + "' missing from: " + e.getMessage());
        }
    }

    /** A copy of a GGUF file with its metadata edited and, optionally, one tensor left out. */
    private Path rewrite(Path source, Consumer<Map<String, GgufValue>> edit, String dropTensor) throws IOException {
        Path out = Files.createTempFile(scratch, "edited", ".gguf");
        try (GgufFile in = GgufFile.open(source)) {
            Map<String, GgufValue> metadata = new LinkedHashMap<>(in.metadata());
            edit.accept(metadata);
            GgufWriter w = new GgufWriter();
            metadata.forEach(w::put);
            for (String name : in.tensors().keySet()) {
                if (!name.equals(dropTensor)) {
                    WeightTensor t = in.tensor(name);
                    w.add(t);
                }
            }
            w.write(out, b -> { });
        }
        return out;
    }
}
