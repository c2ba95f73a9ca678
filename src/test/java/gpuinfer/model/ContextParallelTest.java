package gpuinfer.model;

import gpuinfer.InputException;
import gpuinfer.attention.ring.RingLayout;
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

    @ParameterizedTest(name = "{0}: N={1}, {2} tokens, {3}")
    @CsvSource({"gpt2, 1, 9, contiguous", "gpt2, 1, 9, zigzag", "gpt2, 2, 23, contiguous", "gpt2, 2, 23, zigzag",
            "gpt2, 3, 23, zigzag", "gpt2, 4, 4, contiguous", "gpt2, 4, 8, zigzag", "gpt2, 4, 31, zigzag",
            "llama, 2, 17, contiguous", "llama, 2, 17, zigzag", "llama, 3, 29, zigzag", "llama, 4, 30, contiguous",
            "llama, 4, 32, zigzag"})
    void cpuRanksGiveTheSingleModelsLogitsCacheAndContinuation(String family, int n, int length, String layout)
            throws IOException {
        LoadedModel m = family.equals("gpt2") ? LoadedModel.open(GPT2, null) : tinyLlama();
        List<Backend> backends = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            backends.add(new CpuBackend());
        }
        compare(m, new CpuBackend(), backends, n, length, RingLayout.parse(layout), 0);
    }

    @ParameterizedTest(name = "N={0}, {1} tokens, {2}")
    @CsvSource({"2, 21, zigzag", "3, 16, contiguous", "3, 19, zigzag"})
    void openClRanksOnTheirOwnContextsGiveTheSingleDevicesLogits(int n, int length, String layout) throws IOException {
        String binding = OpenClTestSupport.bindings().get(0);
        List<ClContext> contexts = new ArrayList<>();
        try {
            for (int r = 0; r <= n; r++) {
                contexts.add(OpenClTestSupport.context(binding));
            }
            RingLayout lay = RingLayout.parse(layout);
            compare(tinyLlama(), new ClBackend(contexts.get(0)), backendsOn(contexts, n), n, length, lay, 1);
            compare(LoadedModel.open(GPT2, null), new ClBackend(contexts.get(0)), backendsOn(contexts, n), n, length, lay, 1);
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
    private static void compare(LoadedModel m, Backend single, List<Backend> rankBackends, int n, int length,
                                RingLayout layout, long seed) {
        int[] prompt = new int[length];
        for (int i = 0; i < length; i++) {
            prompt[i] = (int) ((i * 37L + 11 + seed * 5) % m.config().vocabSize());
        }
        int decode = 6;
        ModelConfig c = m.config();
        List<DecoderModel> ranks = new ArrayList<>();
        ContextParallel.Plan plan = ContextParallel.Plan.of(length, n, layout);
        try (DecoderModel one = new DecoderModel(single, m.weights(), 1, length + decode, length, length)) {
            for (int r = 0; r < n; r++) {
                int rows = plan.batch(r) * plan.step(r);
                int positions = r == 0 ? Math.max(length + decode, plan.positions(0)) : plan.positions(r);
                ranks.add(new DecoderModel(rankBackends.get(r), m.weights(), plan.batch(r), positions, plan.step(r), rows));
            }
            ContextParallel cp = new ContextParallel(ranks, plan);
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
            // the work: chunk pairs at or below the diagonal are computed once each, the others skipped
            int tokens = 0;
            for (ContextParallel.RankWork w : cp.work()) {
                int r = w.rank();
                int computed = layout == RingLayout.CONTIGUOUS ? r + 1 : 2 * n + 1;
                int pairs = layout == RingLayout.CONTIGUOUS ? n : 4 * n;
                assertEquals(computed, w.blocks() / c.nLayer(), "rank " + r);
                assertEquals(pairs - computed, w.skipped() / c.nLayer(), "rank " + r);
                tokens += w.tokens();
            }
            assertEquals(length, tokens);
            int chunks = layout == RingLayout.CONTIGUOUS ? n : 2 * n;
            if (layout == RingLayout.ZIGZAG && length % chunks == 0) {
                assertEquals(1.0, cp.workImbalance(), "zigzag gives every rank the same causal work");
            }
            int maxChunk = (length + chunks - 1) / chunks;
            long chunkBytes = 4L * 2 * c.nKvHead() * maxChunk * c.headDim();
            assertEquals((long) n * (n - 1) * c.nLayer() * chunkBytes * (chunks / n), cp.transferredBytes());
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
                ranks.add(new DecoderModel(new CpuBackend(), m.weights(), 2, 8, 4, 8));
            }
            InputException shortPrompt = assertThrows(InputException.class,
                    () -> ContextParallel.Plan.of(2, 3, RingLayout.CONTIGUOUS));
            assertTrue(shortPrompt.getMessage().contains("Use at most 2 ranks"), shortPrompt.getMessage());
            InputException zigzag = assertThrows(InputException.class, () -> ContextParallel.Plan.of(5, 3, RingLayout.ZIGZAG));
            assertTrue(zigzag.getMessage().contains("cuts the prompt into 6 chunks")
                    && zigzag.getMessage().contains("--ring-layout contiguous"), zigzag.getMessage());
            ranks.get(1).setInterventions(Interventions.parse(List.of("0.1"), List.of(), List.of()));
            InputException intervened = assertThrows(InputException.class,
                    () -> new ContextParallel(ranks, ContextParallel.Plan.of(6, 3, RingLayout.CONTIGUOUS)));
            assertTrue(intervened.getMessage().contains("--ablate"), intervened.getMessage());
        } finally {
            ranks.forEach(DecoderModel::close);
        }
    }
}
