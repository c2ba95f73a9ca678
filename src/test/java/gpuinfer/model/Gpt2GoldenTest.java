package gpuinfer.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.cl.ClContext;
import gpuinfer.generate.Sampler;
import gpuinfer.ops.Backend;
import gpuinfer.ops.ClBackend;
import gpuinfer.ops.CpuBackend;
import gpuinfer.tensor.Npy;
import gpuinfer.tensor.Tensor;
import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import gpuinfer.text.Gpt2Tokenizer;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The forward pass against an independent implementation: tools/gpt2_reference.py (PyTorch, float64, written
 * against the Hugging Face layout) wrote logits, 32-token greedy continuations and per-layer activations for fixed
 * prompts on the bundled model and on a small random model stored as F32, F16 and BF16. Checked on the Java CPU
 * reference and on OpenCL with both bindings.
 */
@ExtendWith(NoLeaks.class)
class Gpt2GoldenTest {
    /**
     * Logits in float32 against a float64 reference: a few ulps per op over a handful of layers. Measured maxima are
     * near 1e-5 on logits of magnitude up to ~20; the allowance is an order of magnitude above that.
     */
    static final Tolerance FP32_LOGITS = new Tolerance(2e-4, 2e-4);

    static final Path GOLDEN = Path.of("src/test/resources/golden/gpt2");

    /** A golden folder: its model folder and its prompts. */
    record Case(String name, Path model, Path golden) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<Case> cases() {
        List<Case> all = new ArrayList<>();
        for (String name : List.of("random-tiny", "random-tiny-f16", "random-tiny-bf16")) {
            all.add(new Case(name, GOLDEN.resolve(name), GOLDEN.resolve(name)));
        }
        if (Files.isDirectory(GOLDEN.resolve("gpt2-brown"))) {
            all.add(new Case("gpt2-brown (bundled)", ModelLocator.bundled(), GOLDEN.resolve("gpt2-brown")));
        }
        return all;
    }

    static Stream<Arguments> casesOnEveryBackend() {
        return OpenClTestSupport.onEveryBackend(cases());
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("casesOnEveryBackend")
    void logitsAndGreedyContinuationsMatchTheReference(Case c, String backendName) throws IOException {
        ModelWeights weights = ModelWeights.loadFolder(c.model());
        Gpt2Tokenizer tokenizer = Gpt2Tokenizer.fromModelDirectory(c.model());
        int V = weights.config.vocabSize();
        try (ClContext context = backendName.equals("cpu") ? null : OpenClTestSupport.context(backendName)) {
            for (int i = 0; Files.exists(c.golden().resolve("prompt" + i + ".json")); i++) {
                JsonNode golden = new ObjectMapper().readTree(c.golden().resolve("prompt" + i + ".json").toFile());
                int[] ids = ints(golden.get("ids"));
                int[] greedy = ints(golden.get("greedy_ids"));
                assertArrayEquals(ids, tokenizer.encode(golden.get("prompt").asText()), "the Java tokenizer agrees with tools/bpe.py");

                Backend backend = context == null ? new CpuBackend() : new ClBackend(context);
                try (DecoderModel model = new DecoderModel(backend, weights, 1, ids.length + greedy.length, ids.length, ids.length)) {
                    int T = ids.length;
                    int[] rows = new int[T];
                    java.util.Arrays.setAll(rows, r -> r);
                    float[] logits = model.forward(ids, new int[] {0}, new int[] {T}, T, rows, Tap.NONE);
                    Tensor want = Npy.read(c.golden().resolve("prompt" + i + "_logits.npy"));
                    assertArrayEquals(new int[] {T, V}, want.shape());
                    Comparison comparison = Validate.compare("prompt " + i + " logits", logits, want.data(), FP32_LOGITS);
                    assertTrue(comparison.passed(), comparison::report);
                    for (int t = 0; t < T; t++) {
                        assertEquals(Sampler.argmax(want.data(), t * V, V), Sampler.argmax(logits, t * V, V),
                                "argmax at position " + t);
                    }
                    // greedy continuation through the KV cache: the reference recomputed the whole sequence each step
                    int next = Sampler.argmax(logits, (T - 1) * V, V);
                    int[] got = new int[greedy.length];
                    for (int step = 0; step < greedy.length; step++) {
                        got[step] = next;
                        int pos = T + step;
                        float[] row = model.forward(new int[] {next}, new int[] {pos}, new int[] {pos + 1}, 1, new int[] {0}, Tap.NONE);
                        next = Sampler.argmax(row, 0, V);
                    }
                    assertArrayEquals(greedy, got, "greedy continuation of prompt " + i + " (" + golden.get("prompt") + ")");
                    assertEquals(golden.get("greedy_text").asText(), tokenizer.decode(got));
                }
            }
        }
    }

    static Stream<Arguments> backends() {
        return Stream.of(Arguments.of("cpu"), Arguments.of("lwjgl"), Arguments.of("jocl"));
    }

    /** Every tapped tensor of prompt 0 on the random model, so that a divergence names its layer and op. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void activationsMatchLayerByLayer(String backendName) throws IOException {
        Path dir = GOLDEN.resolve("random-tiny");
        ModelWeights weights = ModelWeights.loadFolder(dir);
        int[] ids = ints(new ObjectMapper().readTree(dir.resolve("prompt0.json").toFile()).get("ids"));
        int T = ids.length;
        Map<String, float[]> taps = new HashMap<>();
        try (ClContext context = backendName.equals("cpu") ? null : OpenClTestSupport.context(backendName)) {
            Backend backend = context == null ? new CpuBackend() : new ClBackend(context);
            try (DecoderModel model = new DecoderModel(backend, weights, 1, T, T, T)) {
                int[] rows = new int[T];
                java.util.Arrays.setAll(rows, r -> r);
                model.forward(ids, new int[] {0}, new int[] {T}, T, rows, (name, buf, r, cols) -> {
                    float[] values = new float[r * cols];
                    backend.read(buf, 0, values, 0, values.length);
                    taps.put(name, values);
                });
            }
        }
        Map<String, String> files = new java.util.LinkedHashMap<>();
        files.put("embeddings", "act_embeddings.npy");
        for (int i = 0; i < weights.config.nLayer(); i++) {
            files.put("h." + i + ".ln_1", "act_ln_1_layer" + i + ".npy");
            files.put("h." + i + ".qkv", "act_qkv_layer" + i + ".npy");
            files.put("h." + i + ".resid_attn", "act_resid_attn_layer" + i + ".npy");
            files.put("h." + i + ".ln_2", "act_ln_2_layer" + i + ".npy");
            files.put("h." + i + ".mlp_hidden", "act_mlp_hidden_layer" + i + ".npy");
            files.put("h." + i + ".resid_block", "act_resid_block_layer" + i + ".npy");
        }
        files.put("ln_f", "act_ln_f.npy");
        for (Map.Entry<String, String> e : files.entrySet()) {
            Tensor want = Npy.read(dir.resolve(e.getValue()));
            float[] got = taps.get(e.getKey());
            assertEquals(want.size(), got.length, e.getKey());
            Comparison comparison = Validate.compare(e.getKey(), got, want.data(), FP32_LOGITS);
            assertTrue(comparison.passed(), comparison::report);
        }
    }

    private static int[] ints(JsonNode array) {
        int[] values = new int[array.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = array.get(i).asInt();
        }
        return values;
    }
}
