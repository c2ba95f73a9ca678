package gpuinfer.batch;

import gpuinfer.generate.Generator;
import gpuinfer.generate.SamplingOptions;
import gpuinfer.model.DecoderModel;
import gpuinfer.model.LoadedModel;
import gpuinfer.model.ModelWeights;
import gpuinfer.model.Tap;
import gpuinfer.ops.Backend;
import gpuinfer.ops.CpuBackend;
import gpuinfer.testing.NoLeaksInClass;
import gpuinfer.text.Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Continuous batching gives every request exactly what running it alone gives: the same token ids and text, for a
 * mix of prompt lengths, token budgets, greedy and seeded sampling, on the CPU reference and on OpenCL, with GPT-2
 * (the bundled model) and a Llama with grouped-query attention.
 */
@ExtendWith(NoLeaksInClass.class)
class BatchEngineTest {
    @TempDir
    static Path dir;
    private static BatchTestModels models;

    @BeforeAll
    static void writeModel() throws IOException {
        models = new BatchTestModels(dir);
    }

    @AfterAll
    static void close() {
        models.close();
    }

    static Stream<Arguments> cases() {
        return BatchTestModels.cases();
    }



    /** Requests of awkward prompt lengths and budgets, greedy and sampled with their own seeds. */
    static List<BatchRequest> requests(int vocab, int count, List<String> stop) {
        int[] lengths = {1, 3, 7, 12, 2, 17, 5, 9, 4, 20, 6, 11};
        int[] budgets = {6, 1, 12, 3, 9, 5, 14, 2, 8, 7, 10, 4};
        List<BatchRequest> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int[] prompt = new SplittableRandom(i + 1).ints(lengths[i % lengths.length], 0, vocab - 1).toArray();
            SamplingOptions sampling = i % 3 == 0 ? SamplingOptions.greedy()
                    : new SamplingOptions(i % 3 == 1 ? 0.9 : 1.3, i % 2 == 0 ? 0 : 20, i % 2 == 0 ? 1 : 0.9, 1000 + i);
            out.add(new BatchRequest(i, prompt, budgets[i % budgets.length], sampling, stop));
        }
        return out;
    }

    private static List<BatchCompletion> runBatch(Supplier<Backend> backend, LoadedModel m, ModelWeights weights,
                                                  List<BatchRequest> requests, int batch) {
        int longest = requests.stream().mapToInt(r -> r.prompt().length).max().orElseThrow();
        int sequence = requests.stream().mapToInt(r -> r.prompt().length + r.maxTokens()).max().orElseThrow();
        BatchCompletion[] byKey = new BatchCompletion[requests.size()];
        try (DecoderModel model = new DecoderModel(backend.get(), weights, batch, sequence, longest, batch)) {
            new BatchEngine(model, stopIds(m, weights), m.tokenizer()::continuationDecoder)
                    .run(requests.iterator(), c -> byKey[(Integer) c.request().key()] = c);
        }
        return List.of(byKey);
    }

    private static int[] stopIds(LoadedModel m, ModelWeights weights) {
        return new int[] {weights == m.weights() ? m.tokenizer().eosId().orElseThrow() : weights.config.eosTokenId()};
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void everyRequestGetsWhatRunningItAloneGives(String modelName, String backendName) {
        Supplier<Backend> backend = models.backends(backendName);
        LoadedModel m = BatchTestModels.gpt2();
        ModelWeights weights = modelName.equals("gpt2") ? m.weights() : models.llama();
        Tokenizer tokenizer = m.tokenizer(); // the tiny Llama's ids are GPT-2's byte tokens
        List<BatchRequest> requests = requests(weights.config.vocabSize(), 12, List.of());
        List<BatchCompletion> batched = runBatch(backend, m, weights, requests, 4);
        int stop = stopIds(m, weights)[0];
        for (BatchRequest r : requests) {
            Generator.Result alone;
            int L = r.prompt().length;
            try (DecoderModel model = new DecoderModel(backend.get(), weights, 1, L + r.maxTokens(), L, 1)) {
                alone = Generator.generate(model, tokenizer, List.of(r.prompt()), new int[1], new int[] {stop},
                        r.maxTokens(), r.sampling(), false, null, s -> Tap.NONE, tokenizer::continuationDecoder);
            }
            Generator.Completion expected = alone.completions().get(0);
            BatchCompletion got = batched.get((Integer) r.key());
            String what = "request " + r.key() + " (" + L + " prompt tokens, " + r.maxTokens() + " max)";
            assertArrayEquals(expected.generatedIds(), got.generated(), what);
            assertEquals(expected.text(), got.text(), what);
            assertEquals(expected.stopReason(), got.finishReason(), what);
        }
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void stopTextsEndARequestTheSameWayInAnyBatch(String modelName, String backendName) {
        Supplier<Backend> backend = models.backends(backendName);
        LoadedModel m = BatchTestModels.gpt2();
        ModelWeights weights = modelName.equals("gpt2") ? m.weights() : models.llama();
        List<BatchRequest> requests = requests(weights.config.vocabSize(), 9, List.of("e", "th"));
        List<BatchCompletion> one = runBatch(backend, m, weights, requests, 1);
        List<BatchCompletion> three = runBatch(backend, m, weights, requests, 3);
        boolean anyStopped = false;
        for (int i = 0; i < requests.size(); i++) {
            assertArrayEquals(one.get(i).generated(), three.get(i).generated(), "request " + i);
            assertEquals(one.get(i).text(), three.get(i).text(), "request " + i);
            assertEquals(one.get(i).finishReason(), three.get(i).finishReason(), "request " + i);
            if (one.get(i).finishReason().equals(BatchCompletion.STOP_TEXT)) {
                anyStopped = true;
                assertTrue(!one.get(i).text().contains("e") && !one.get(i).text().contains("th"), one.get(i).text());
            }
        }
        assertTrue(anyStopped || !modelName.equals("gpt2"), "the bundled model writes an 'e' within a few tokens");
    }

    @Test
    void aStopTextIsCutAndTheTokenThatCompletedItIsKept() {
        LoadedModel m = BatchTestModels.gpt2();
        int[] prompt = m.tokenizer().encode("The man said that");
        BatchRequest free = new BatchRequest(0, prompt, 30, SamplingOptions.greedy(), List.of());
        String text = runBatch(CpuBackend::new, m, m.weights(), List.of(free), 1).get(0).text();
        assertTrue(text.length() > 6, text);
        String stopText = text.substring(3, 6);
        BatchRequest stopped = new BatchRequest(0, prompt, 30, SamplingOptions.greedy(), List.of(stopText));
        BatchCompletion c = runBatch(CpuBackend::new, m, m.weights(), List.of(stopped), 1).get(0);
        assertEquals(BatchCompletion.STOP_TEXT, c.finishReason());
        assertEquals(text.substring(0, text.indexOf(stopText)), c.text());
        String decoded = m.tokenizer().decode(c.generated());
        assertTrue(decoded.startsWith(c.text() + stopText) || decoded.contains(stopText), decoded);
    }
}
