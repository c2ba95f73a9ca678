package gpuinfer.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.cl.ClContext;
import gpuinfer.ops.Backend;
import gpuinfer.ops.ClBackend;
import gpuinfer.ops.CpuBackend;
import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * gpu-infer against a plain PyTorch float64 implementation of the Llama family (tools/llama_reference.py, no
 * Hugging Face code) on the random llama-tiny (GQA 4/2, head_dim 16, Llama 3 rope scaling, untied head, sharded
 * safetensors) and qwen2-tiny (q/k/v biases, tied head) models of tools/golden_llama.sh, from their Hugging Face
 * folders and from GGUF files written by an independent NumPy writer (llama q/k rows permuted to interleaved pairs,
 * the scaling as rope_freqs): logits of every position of two 12-token prompts (b starts with BOS) and the 8-token
 * greedy continuation, on the CPU reference and OpenCL with both bindings. F16 and Q8_0 files are checked against
 * the float64 forward on those files' own (rounded) weights (tools/llama_gguf_float64_forward.py): gpu-infer keeps
 * activations in float32, so the only difference left is float32 arithmetic.
 *
 * <p>Measured, worst over prompts and backends (max |Δ logit| on logits up to ~6.3; the CPU reference about 1e-6):
 * Hugging Face folder 3.3e-6, GGUF F32 3.4e-6 (llama-tiny's file stores the rope factors in float32: 2.7e-7 of the
 * difference is the file's), F16 3.2e-6, Q8_0 3.8e-6. Limits: 1e-5 absolute + 1e-5 relative. A wrong pair order, a missing scaling band or a
 * missing bias moves logits by 1e-2 or more (LlamaModelTest checks the order is not a no-op).
 */
@ExtendWith(NoLeaks.class)
class LlamaReferenceGoldenTest {
    static final Path GOLDEN = Path.of("src/test/resources/golden/llama");
    static final Tolerance FP32_VS_FLOAT64 = new Tolerance(1e-5, 1e-5);
    static final int[] PROMPT_A = {84, 258, 263, 290, 32, 101, 330, 275, 44, 400, 265, 13};
    static final int[] PROMPT_B = {408, 40, 300, 270, 11, 350, 260, 99, 380, 17, 290, 71};

    /**
     * @param model     llama-tiny or qwen2-tiny
     * @param source    the folder, or a GGUF file name
     * @param reference the float64 logits' file stem under reference/
     */
    record Case(String model, String source, String reference) {
        @Override
        public String toString() {
            return source;
        }
    }

    static Stream<Arguments> cases() {
        List<Case> cases = new ArrayList<>();
        for (String model : List.of("llama-tiny", "qwen2-tiny")) {
            cases.add(new Case(model, model, model));
            cases.add(new Case(model, model + "-f32.gguf", model));
            cases.add(new Case(model, model + "-f16.gguf", model + "-f16.gguf-float64"));
            cases.add(new Case(model, model + "-q8_0.gguf", model + "-q8_0.gguf-float64"));
        }
        return OpenClTestSupport.onEveryBackend(cases);
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void logitsAndGreedyTokensMatchTheFloat64Reference(Case c, String backendName) throws IOException {
        LoadedModel model = LoadedModel.open(GOLDEN.resolve(c.source()), null);
        JsonNode greedy = new ObjectMapper().readTree(GOLDEN.resolve("reference/greedy.json").toFile());
        int V = model.config().vocabSize();
        // the folder's tokenizer.json and the file's tokenizer.ggml.* give llama.cpp's ids for its test text
        JsonNode tokenized = new ObjectMapper().readTree(GOLDEN.resolve("llama-cpp/" + c.model() + "-f32/greedy.json")
                .toFile()).get("tokenized");
        assertArrayEquals(LlamaCppGoldenTest.ints(tokenized.get("ids")), model.tokenizer().encode(tokenized.get("text").asText()),
                c.source() + ": ids of " + tokenized.get("text"));
        try (ClContext context = backendName.equals("cpu") ? null : OpenClTestSupport.context(backendName)) {
            Backend backend = context == null ? new CpuBackend() : new ClBackend(context);
            int steps = 8;
            try (DecoderModel decoder = new DecoderModel(backend, model.weights(), 1, PROMPT_A.length + steps,
                    PROMPT_A.length, PROMPT_A.length)) {
                for (String p : List.of("a", "b")) {
                    int[] prompt = p.equals("a") ? PROMPT_A : PROMPT_B;
                    int T = prompt.length;
                    double[] want = readFloat64(GOLDEN.resolve("reference/" + c.reference() + "." + p + ".npy"), T * V);
                    int[] rows = new int[T];
                    Arrays.setAll(rows, i -> i);
                    float[] got = decoder.forward(prompt, new int[] {0}, new int[] {T}, T, rows, Tap.NONE);
                    float[] wantF = new float[want.length];
                    for (int i = 0; i < want.length; i++) {
                        wantF[i] = (float) want[i];
                    }
                    Comparison cmp = Validate.compare(c.source() + " prompt " + p + " logits", got, wantF, FP32_VS_FLOAT64);
                    System.out.printf(Locale.ROOT, "%-22s %-6s prompt %s: max|d| %.2e  NMSE %.2e%n", c.source(),
                            backendName, p, cmp.maxAbsError(), cmp.nmse());
                    assertTrue(cmp.passed(), cmp::report);
                    // greedy, free-running: the reference's margins (>= 0.085) are far above float32 noise, so the
                    // tokens must be equal for the Hugging Face folder and every GGUF file alike
                    int[] expected = LlamaCppGoldenTest.ints(greedy.get(c.model() + "." + p).get("ids"));
                    int[] tokens = new int[steps];
                    float[] last = Arrays.copyOfRange(got, (T - 1) * V, T * V);
                    for (int s = 0; s < steps; s++) {
                        tokens[s] = LlamaCppGoldenTest.argmax(last, 0, V);
                        if (s + 1 < steps) {
                            last = decoder.forward(new int[] {tokens[s]}, new int[] {T + s}, new int[] {T + s + 1}, 1,
                                    new int[] {0}, Tap.NONE);
                        }
                    }
                    if (c.reference().equals(c.model())) {
                        assertArrayEquals(expected, tokens, c.source() + " prompt " + p + ": greedy tokens");
                    }
                }
            }
        }
    }

    /** A version 1.0 .npy file of little-endian float64 values ('<f8', C order) with {@code count} elements. */
    static double[] readFloat64(Path file, int count) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(1, bytes.get(6), file + ": .npy version 1.0");
        int headerLength = bytes.getShort(8) & 0xffff;
        String header = new String(bytes.array(), 10, headerLength, java.nio.charset.StandardCharsets.ISO_8859_1);
        assertTrue(header.contains("'<f8'") && header.contains("False"), file + ": float64 in C order, not " + header);
        assertEquals(10 + headerLength + 8L * count, bytes.capacity(), file + ": " + count + " values");
        double[] values = new double[count];
        bytes.position(10 + headerLength);
        bytes.asDoubleBuffer().get(values);
        return values;
    }
}
