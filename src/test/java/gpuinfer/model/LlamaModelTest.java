package gpuinfer.model;

import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.cl.ClContext;
import gpuinfer.ops.Backend;
import gpuinfer.ops.ClBackend;
import gpuinfer.ops.CpuBackend;
import gpuinfer.ops.Rope;
import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import gpuinfer.testing.TinyLlama;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Invariants of the Llama-family forward pass on random models with awkward sizes (C = 48, 6 query heads sharing 2
 * key/value heads of 10 values, MLP 70, Llama 3 rope scaling; Qwen2 with q/k/v biases and a tied head): OpenCL equals
 * the CPU reference; decoding with the (grouped, rotated) KV cache equals recomputing the sequence; a padded batch
 * equals each sequence alone; sharded safetensors load like one file; the two rotary pair orders give the same
 * logits when the q/k rows are permuted to match (what llama.cpp's converter does).
 */
@ExtendWith(NoLeaks.class)
class LlamaModelTest {
    /** As for GPT-2 (Gpt2ModelTest): float32 against double through 2 layers. */
    static final Tolerance FP32_LOGITS = new Tolerance(2e-4, 2e-4);

    @TempDir
    Path dir;

    private ModelWeights weights(String arch) throws IOException {
        return ModelWeights.loadFolder(TinyLlama.write(dir.resolve(arch), arch, false));
    }

    private static float[] fullForward(Backend backend, ModelWeights w, int[] tokens) {
        return ModelInvariants.fullForward(backend, w, tokens);
    }

    @Test
    void configAndWeightsFollowTheFamily() throws IOException {
        ModelWeights llama = weights("llama");
        ModelConfig c = llama.config;
        assertEquals("llama", c.architecture());
        assertEquals(6, c.nHead());
        assertEquals(2, c.nKvHead());
        assertEquals(10, c.headDim());
        assertEquals(ModelConfig.Norm.RMS_NORM, c.norm());
        assertEquals(ModelConfig.Mlp.SWIGLU, c.mlp());
        assertEquals(Rope.Order.HALVES, c.rope().order());
        assertFalse(llama.isTied());
        assertNull(llama.positionEmbedding);
        assertNull(llama.layers[0].qBias);
        // Llama 3 scaling with an original context of 32: the first pair keeps its frequency, the last is divided by 4
        assertEquals(1.0, c.rope().inverseFrequency()[0], 1e-15);
        assertEquals(Math.pow(500000, -0.8) / 4, c.rope().inverseFrequency()[4], 1e-15);
        ModelWeights qwen = weights("qwen2");
        assertTrue(qwen.isTied());
        assertTrue(qwen.config.qkvBias());
        assertNotNull(qwen.layers[1].vBias);
        long C = 48, Q = 60, KV = 20, I = 70, V = 97;
        long perLayer = 2 * C + Q * C + 2 * KV * C + C * Q + 3 * I * C;
        assertEquals(V * C + 2 * perLayer + C + V * C, llama.parameterCount());
        assertEquals(V * C + 2 * (perLayer + Q + 2 * KV) + C, qwen.parameterCount());
    }

    @ParameterizedTest
    @CsvSource({"llama, lwjgl", "llama, jocl", "qwen2, lwjgl", "qwen2, jocl"})
    void openClMatchesTheCpuReference(String arch, String binding) throws IOException {
        ModelWeights w = weights(arch);
        int[] tokens = TinyLlama.tokens(23, 1);
        float[] want = fullForward(new CpuBackend(), w, tokens);
        try (ClContext context = OpenClTestSupport.context(binding)) {
            check("logits", fullForward(new ClBackend(context), w, tokens), want);
        }
    }

    @ParameterizedTest
    @CsvSource({"llama, cpu", "llama, lwjgl", "qwen2, cpu", "qwen2, jocl"})
    void decodingWithTheCacheEqualsRecomputingTheSequence(String arch, String backendName) throws IOException {
        ModelWeights w = weights(arch);
        int[] tokens = TinyLlama.tokens(40, 2); // past the original context of 32: the scaled band matters
        try (ClContext context = backendName.equals("cpu") ? null : OpenClTestSupport.context(backendName)) {
            Backend backend = context == null ? new CpuBackend() : new ClBackend(context);
            ModelInvariants.decodingEqualsRecomputing(backend, w, tokens, 5, FP32_LOGITS);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu", "lwjgl"})
    void aPaddedBatchEqualsEachSequenceAlone(String backendName) throws IOException {
        ModelWeights w = weights("llama");
        int[][] prompts = {TinyLlama.tokens(7, 3), TinyLlama.tokens(3, 4), TinyLlama.tokens(5, 5)};
        int[] next = {11, 22, 33};
        try (ClContext context = backendName.equals("cpu") ? null : OpenClTestSupport.context(backendName)) {
            Backend backend = context == null ? new CpuBackend() : new ClBackend(context);
            ModelInvariants.aPaddedBatchEqualsEachSequenceAlone(backend, w, prompts, next, FP32_LOGITS);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2"})
    void fusedQkvProjectionsEqualSeparateOnes(String arch) throws IOException {
        ModelWeights separate = weights(arch);
        ModelWeights fused = separate.withFusedQkv();
        assertNull(fused.layers[0].qWeight);
        assertEquals(60 + 2 * 20, fused.layers[0].qkvWeight.rows());
        assertEquals(separate.parameterCount(), fused.parameterCount());
        int[] tokens = TinyLlama.tokens(12, 8);
        // the same products (rows are only stacked), so the same values exactly
        assertArrayEquals(fullForward(new CpuBackend(), separate, tokens), fullForward(new CpuBackend(), fused, tokens));
    }

    @Test
    void shardedSafetensorsLoadLikeOneFile() throws IOException {
        ModelWeights one = weights("llama");
        ModelWeights sharded = ModelWeights.loadFolder(TinyLlama.write(dir.resolve("sharded"), "llama", true));
        int[] tokens = TinyLlama.tokens(9, 7);
        assertArrayEquals(fullForward(new CpuBackend(), one, tokens), fullForward(new CpuBackend(), sharded, tokens));
    }

    /**
     * llama.cpp's converter permutes each q and k head's rows from halves to interleaved pairs and runs the rope
     * interleaved: the same model. Checked exactly on the CPU reference (the same products in another order).
     */
    @ParameterizedTest
    @ValueSource(strings = {"llama", "qwen2"})
    void interleavedPairsWithPermutedRowsEqualHalves(String arch) throws IOException {
        ModelWeights halves = weights(arch);
        ModelConfig c = halves.config;
        ModelConfig interleavedConfig = new ModelConfig(c.architecture(), c.nLayer(), c.nHead(), c.nKvHead(), c.nEmbd(),
                c.headDim(), c.nInner(), c.nPositions(), c.vocabSize(), c.norm(), c.normEpsilon(), c.mlp(),
                c.rope().withOrder(Rope.Order.INTERLEAVED), c.qkvBias(), c.blockBiases(), c.eosTokenId(), c.attentionScale());
        int[] qOrder = GgufExport.pairRowOrder(c.nHead(), c.headDim(), c.rope().dims(), Rope.Order.INTERLEAVED);
        int[] kOrder = GgufExport.pairRowOrder(c.nKvHead(), c.headDim(), c.rope().dims(), Rope.Order.INTERLEAVED);
        ModelWeights.Layer[] layers = new ModelWeights.Layer[c.nLayer()];
        for (int i = 0; i < layers.length; i++) {
            ModelWeights.Layer l = halves.layers[i].map(t -> t);
            l.qWeight = l.qWeight.rowsFrom(qOrder, "test");
            l.kWeight = l.kWeight.rowsFrom(kOrder, "test");
            if (l.qBias != null) {
                l.qBias = permute(l.qBias, qOrder);
                l.kBias = permute(l.kBias, kOrder);
            }
            layers[i] = l;
        }
        ModelWeights interleaved = new ModelWeights(interleavedConfig, halves.tokenEmbedding, null, layers,
                halves.finalNormWeight, null, halves.outputWeight, java.util.List.of());
        int[] tokens = TinyLlama.tokens(30, 9);
        float[] a = fullForward(new CpuBackend(), halves, tokens);
        float[] b = fullForward(new CpuBackend(), interleaved, tokens);
        check("interleaved against halves", b, a);
        // and the permutation is not the identity: unpermuted rows with interleaved pairs compute something else
        ModelWeights wrong = new ModelWeights(interleavedConfig, halves.tokenEmbedding, null, halves.layers,
                halves.finalNormWeight, null, halves.outputWeight, java.util.List.of());
        assertFalse(Validate.compare("unpermuted", fullForward(new CpuBackend(), wrong, tokens), a, FP32_LOGITS).passed());
    }

    private static float[] permute(float[] v, int[] from) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[from[i]];
        }
        return out;
    }

    private static void check(String what, float[] got, float[] want) {
        ModelInvariants.check(what, got, want, FP32_LOGITS);
    }
}
