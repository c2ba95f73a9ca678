package gpuinfer.model;

import gpuinfer.InputException;
import gpuinfer.cl.ClContext;
import gpuinfer.generate.Generator;
import gpuinfer.generate.SamplingOptions;
import gpuinfer.ops.Backend;
import gpuinfer.ops.ClBackend;
import gpuinfer.ops.CpuBackend;
import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Context-parallel prefill gives the single-model run's logits at every prompt position and leaves the whole prompt's
 * keys and values in rank 0's cache, so the continuation decoded from it is the single-model one: GPT-2 (learned
 * positions, fused qkv) and a Llama with grouped heads and rotary positions, N = 1 to 4, prompt lengths that do
 * not divide by N and a prompt of exactly N tokens, on the CPU reference and on OpenCL (a context per rank).
 */
@ExtendWith(NoLeaks.class)
class ContextParallelTest {
    private static final Path GPT2 = ModelLocator.bundled();
    private static final double ATOL = 2e-5;
    private static final double RTOL = 1e-4;

    private static LoadedModel tinyLlama() throws IOException {
        return LoadedModel.open(Path.of("src/test/resources/golden/llama/llama-tiny-f32.gguf"), null);
    }

    @ParameterizedTest(name = "{0}: N={1}, {2} tokens")
    @CsvSource({"gpt2, 1, 9", "gpt2, 2, 23", "gpt2, 3, 23", "gpt2, 4, 4", "gpt2, 4, 31",
            "llama, 2, 17", "llama, 3, 29", "llama, 4, 30"})
    void cpuRanksGiveTheSingleModelsLogitsCacheAndContinuation(String family, int n, int length) throws IOException {
        LoadedModel m = family.equals("gpt2") ? LoadedModel.open(GPT2, null) : tinyLlama();
        List<Backend> backends = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            backends.add(new CpuBackend());
        }
        compare(m, new CpuBackend(), backends, n, length, 0);
    }

    @ParameterizedTest(name = "N={0}, {1} tokens")
    @CsvSource({"2, 21", "3, 16"})
    void openClRanksOnTheirOwnContextsGiveTheSingleDevicesLogits(int n, int length) throws IOException {
        String binding = OpenClTestSupport.bindings().get(0);
        List<ClContext> contexts = new ArrayList<>();
        try {
            for (int r = 0; r <= n; r++) {
                contexts.add(OpenClTestSupport.context(binding));
            }
            compare(tinyLlama(), new ClBackend(contexts.get(0)), backendsOn(contexts, n), n, length, 1);
            compare(LoadedModel.open(GPT2, null), new ClBackend(contexts.get(0)), backendsOn(contexts, n), n, length, 1);
        } finally {
            contexts.forEach(ClContext::close);
        }
    }

    private static List<Backend> backendsOn(List<ClContext> contexts, int n) {
        List<Backend> backends = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            backends.add(new ClBackend(contexts.get(r + 1)));
        }
        return backends;
    }

    /** Prefill of {@code length} tokens on one model and over the ranks; logits, rank 0's cache and 6 greedy tokens. */
    private static void compare(LoadedModel m, Backend single, List<Backend> rankBackends, int n, int length, long seed) {
        int[] prompt = new int[length];
        for (int i = 0; i < length; i++) {
            prompt[i] = (int) ((i * 37L + 11 + seed * 5) % m.config().vocabSize());
        }
        int decode = 6;
        ModelConfig c = m.config();
        List<DecoderModel> ranks = new ArrayList<>();
        int[][] split = ContextParallel.split(length, n);
        try (DecoderModel one = new DecoderModel(single, m.weights(), 1, length + decode, length, length)) {
            for (int r = 0; r < n; r++) {
                int steps = split[1][r];
                int positions = r == 0 ? length + decode : split[0][r] + steps;
                ranks.add(new DecoderModel(rankBackends.get(r), m.weights(), 1, positions, steps, steps));
            }
            ContextParallel cp = new ContextParallel(ranks, length);
            SamplingOptions greedy = new SamplingOptions(0, 0, 1, 0);
            Generator.Result want = Generator.generate(one, m.tokenizer(), List.of(prompt), new int[1], new int[0],
                    decode, greedy, true, null, s -> Tap.NONE, m.tokenizer()::continuationDecoder);
            IntFunction<Tap> none = r -> Tap.NONE;
            Generator.Result got = Generator.generate(ranks.get(0), m.tokenizer(), List.of(prompt), new int[1],
                    new int[0], decode, greedy, true, null, s -> Tap.NONE, m.tokenizer()::continuationDecoder,
                    (p, all) -> cp.prefill(p, all, none));
            validate("logits", got.promptLogits(), want.promptLogits());
            int kv = c.nKvHead() * c.headDim();
            for (int layer = 0; layer < c.nLayer(); layer++) {
                validate("layer " + layer + " keys", cacheRows(ranks.get(0), ranks.get(0).keyCache(layer), length),
                        cacheRows(one, one.keyCache(layer), length));
                validate("layer " + layer + " values", cacheRows(ranks.get(0), ranks.get(0).valueCache(layer), length),
                        cacheRows(one, one.valueCache(layer), length));
            }
            assertTrue(kv > 0);
            assertArrayEquals(want.completions().get(0).generatedIds(), got.completions().get(0).generatedIds(),
                    "the continuation decoded from rank 0's gathered cache");
            // the work: causal blocks at or before each rank's own are computed, later ones skipped
            for (ContextParallel.RankWork w : cp.work()) {
                assertEquals(w.rank() + 1, w.blocks() / c.nLayer());
                assertEquals(n - 1 - w.rank(), w.skipped() / c.nLayer());
                assertEquals(split[1][w.rank()], w.tokens());
            }
            long blockBytes = 4L * 2 * c.nKvHead() * split[1][0] * c.headDim();
            assertEquals((long) n * (n - 1) * c.nLayer() * blockBytes, cp.transferredBytes());
        } finally {
            ranks.forEach(DecoderModel::close);
        }
    }

    /** Positions 0 .. length-1 of sequence 0 of a cache [maxBatch, Hkv, maxSequence, D], as [Hkv, length, D]. */
    private static float[] cacheRows(DecoderModel model, gpuinfer.ops.Buf cache, int length) {
        ModelConfig c = model.config();
        int d = c.headDim();
        float[] rows = new float[c.nKvHead() * length * d];
        for (int h = 0; h < c.nKvHead(); h++) {
            model.backend().read(cache, (long) h * model.maxSequence() * d, rows, h * length * d, length * d);
        }
        return rows;
    }

    private static void validate(String name, float[] got, float[] want) {
        assertEquals(want.length, got.length, name + ": length");
        for (int i = 0; i < want.length; i++) {
            double tol = ATOL + RTOL * Math.abs(want[i]);
            if (!(Math.abs(got[i] - want[i]) <= tol)) {
                throw new AssertionError(name + "[" + i + "]: got " + got[i] + ", want " + want[i] + " (atol " + ATOL
                        + ", rtol " + RTOL + ")");
            }
        }
    }

    @Test
    void aPromptShorterThanTheRanksOrAnInterventionIsRefusedWithTheFix() {
        LoadedModel m = LoadedModel.open(GPT2, null);
        List<DecoderModel> ranks = new ArrayList<>();
        try {
            for (int r = 0; r < 3; r++) {
                ranks.add(new DecoderModel(new CpuBackend(), m.weights(), 1, 8, 4, 4));
            }
            InputException shortPrompt = assertThrows(InputException.class, () -> new ContextParallel(ranks, 2));
            assertTrue(shortPrompt.getMessage().contains("Use at most 2 ranks"), shortPrompt.getMessage());
            ranks.get(1).setInterventions(Interventions.parse(List.of("0.1"), List.of(), List.of()));
            InputException intervened = assertThrows(InputException.class, () -> new ContextParallel(ranks, 6));
            assertTrue(intervened.getMessage().contains("--ablate"), intervened.getMessage());
        } finally {
            ranks.forEach(DecoderModel::close);
        }
    }
}
