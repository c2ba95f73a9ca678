package gpuinfer.model;

import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.gguf.GgufFile;
import gpuinfer.ops.CpuBackend;
import gpuinfer.ops.Rope;
import gpuinfer.weights.WeightType;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * gpu-infer convert on Llama-family folders: the golden llama-tiny (rows permuted to interleaved pairs, Llama 3
 * scaling written as rope_freqs) and qwen2-tiny (biases, tied head, halves kept) become GGUF files whose metadata,
 * tensors and tokenizer llama.cpp's converter would write: the file runs to the folder's logits, tokenizes as the
 * folder does, carries the chat template, and an F32 file converted again gives back the same bytes' worth of model.
 */
class LlamaConvertTest {
    static final Path GOLDEN = Path.of("src/test/resources/golden/llama");

    @TempDir
    Path dir;

    private static float[] logits(ModelWeights w, int[] tokens) {
        try (DecoderModel model = new DecoderModel(new CpuBackend(), w, 1, tokens.length, tokens.length, tokens.length)) {
            int[] rows = new int[tokens.length];
            Arrays.setAll(rows, i -> i);
            return model.forward(tokens, new int[] {0}, new int[] {tokens.length}, tokens.length, rows, Tap.NONE);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama-tiny", "qwen2-tiny"})
    void aConvertedFolderRunsAndTokenizesAsTheFolder(String name) throws IOException {
        LoadedModel folder = LoadedModel.openAsStored(GOLDEN.resolve(name));
        Path out = dir.resolve(name + ".gguf");
        GgufExport.Summary summary = GgufExport.write(folder, WeightType.F32, name, out, bytes -> { });
        LoadedModel file = LoadedModel.open(out, null);
        assertEquals(folder.config().architecture(), file.config().architecture());
        assertEquals(name.startsWith("llama") ? Rope.Order.INTERLEAVED : Rope.Order.HALVES, file.config().rope().order());
        assertEquals(folder.chatTemplate(), file.chatTemplate());
        assertEquals(folder.weights().isTied(), file.weights().isTied());
        try (GgufFile gguf = GgufFile.open(out)) {
            assertEquals(name.startsWith("llama"), gguf.tensors().containsKey("rope_freqs.weight"), "llama3 scaling as rope_freqs");
            assertTrue(summary.notes().stream().anyMatch(n -> n.contains("reordered")) == name.startsWith("llama"));
        }
        int[] tokens = LlamaReferenceGoldenTest.PROMPT_B;
        // only the rope factors' float32 rounding in the file separates the two (see LlamaReferenceGoldenTest)
        Comparison c = Validate.compare(name + " converted", logits(file.weights(), tokens), logits(folder.weights(), tokens),
                new Tolerance(2e-6, 2e-6));
        assertTrue(c.passed(), c::report);
        for (String text : new String[] {"Hello world, it's 2024!", "  spaces\tand\nlines  ", "ünïcödé 😀 <|im_end|>"}) {
            assertArrayEquals(folder.tokenizer().encode(text), file.tokenizer().encode(text), text);
        }
        if (folder.tokenizer().bosId().isPresent()) { // else config.json's, as llama.cpp's converter writes it
            assertEquals(folder.tokenizer().bosId(), file.tokenizer().bosId());
        }
        assertEquals(folder.tokenizer().eosId(), file.tokenizer().eosId());
        assertEquals(folder.tokenizer().addBos(), file.tokenizer().addBos());

        // Q8_0: every matrix quantised, the model still runs close to the folder
        Path q8 = dir.resolve(name + "-q8_0.gguf");
        GgufExport.write(folder, WeightType.Q8_0, name, q8, bytes -> { });
        LoadedModel quantised = LoadedModel.open(q8, null);
        assertNotNull(quantised.weights().layers[0].qkvWeight, "q, k and v fused at load");
        assertEquals(WeightType.Q8_0, quantised.weights().layers[0].qkvWeight.type());
        Comparison q = Validate.compare(name + " Q8_0", logits(quantised.weights(), tokens), logits(folder.weights(), tokens),
                new Tolerance(0.3, 0));
        assertTrue(q.passed(), q::report);
        assertTrue(q.nmse() < 1.5e-3, () -> "NMSE " + q.nmse()); // measured 3.0e-4 and 4.9e-4 (logits of random weights)

        // the tensors are those of the independent NumPy writer (tools/llama_gguf_writer.py, whose Q8_0 equals
        // llama-quantize's): same names, types, shapes and bytes, for F32 and Q8_0
        sameTensors(out, GOLDEN.resolve(name + "-f32.gguf"));
        sameTensors(q8, GOLDEN.resolve(name + "-q8_0.gguf"));
    }

    private static void sameTensors(Path ours, Path theirs) {
        try (GgufFile a = GgufFile.open(ours); GgufFile b = GgufFile.open(theirs)) {
            assertEquals(b.tensors().keySet(), a.tensors().keySet(), ours + " tensors");
            for (String tensor : b.tensors().keySet()) {
                GgufFile.TensorInfo x = a.tensors().get(tensor);
                GgufFile.TensorInfo y = b.tensors().get(tensor);
                assertEquals(y.type(), x.type(), tensor);
                assertArrayEquals(y.dims(), x.dims(), tensor);
                if (tensor.equals("rope_freqs.weight")) {
                    // the converter forms Llama 3's factors in float32 arithmetic, gpu-infer in double: within an ulp
                    assertArrayEquals(b.tensor(tensor).toFloats(), a.tensor(tensor).toFloats(), 3e-7f, tensor);
                    continue;
                }
                assertEquals(b.tensor(tensor).buffer().orElseThrow(), a.tensor(tensor).buffer().orElseThrow(),
                        ours.getFileName() + ": bytes of " + tensor);
            }
            for (String key : new String[] {"llama.rope.freq_base", "qwen2.rope.freq_base", "tokenizer.ggml.model",
                    "tokenizer.ggml.pre", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                    "tokenizer.ggml.add_bos_token", "tokenizer.chat_template"}) {
                assertEquals(String.valueOf(b.value(key)), String.valueOf(a.value(key)), key);
            }
        }
    }
}
