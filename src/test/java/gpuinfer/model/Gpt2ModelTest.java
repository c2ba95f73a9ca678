package gpuinfer.model;

import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.cl.ClContext;
import gpuinfer.ops.Backend;
import gpuinfer.ops.ClBackend;
import gpuinfer.ops.CpuBackend;
import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import gpuinfer.testing.TinyGpt2;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Invariants of the forward pass on a random model with awkward sizes (C = 48, 3 heads of 16, n_inner = 100):
 * OpenCL equals the CPU reference; decoding with the KV cache equals recomputing the whole sequence; a padded
 * batch equals each sequence alone; F16 and BF16 files load to the same values as their F32 rounding.
 */
@ExtendWith(NoLeaks.class)
class Gpt2ModelTest {
    /**
     * float32 forward against the double-accumulating reference, through 2 layers: errors of ~1e-6 relative per op
     * compound to ~1e-5 on logits of magnitude ~10; a hundredfold margin on the absolute term.
     */
    static final Tolerance FP32_LOGITS = new Tolerance(2e-4, 2e-4);

    @TempDir
    Path dir;

    private ModelWeights weights() throws IOException {
        return ModelWeights.loadFolder(TinyGpt2.write(dir.resolve("m"), "F32", false, 100));
    }

    private static float[] fullForward(Backend backend, ModelWeights w, int[] tokens) {
        return ModelInvariants.fullForward(backend, w, tokens);
    }

    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void openClMatchesTheCpuReference(String binding) throws IOException {
        ModelWeights w = weights();
        int[] tokens = TinyGpt2.tokens(23, 1);
        float[] want = fullForward(new CpuBackend(), w, tokens);
        try (ClContext context = OpenClTestSupport.context(binding)) {
            float[] got = fullForward(new ClBackend(context), w, tokens);
            Comparison c = Validate.compare("logits", got, want, FP32_LOGITS);
            assertTrue(c.passed(), c::report);
        }
    }

    /** A model that fails to build (here: a logits buffer no device can allocate) releases its backend's buffers. */
    @org.junit.jupiter.api.Test
    void aModelThatFailsToBuildReleasesItsBackend() throws IOException {
        ModelWeights w = weights();
        try (ClContext context = OpenClTestSupport.context("lwjgl")) {
            long before = context.allocatedBytes();
            RuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class,
                    () -> new DecoderModel(new ClBackend(context), w, 1, 8, 8, Integer.MAX_VALUE));
            assertTrue(e.getMessage().contains("logits"), e.getMessage());
            org.junit.jupiter.api.Assertions.assertEquals(before, context.allocatedBytes(), "weights and activations released");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu", "lwjgl", "jocl"})
    void decodingWithTheCacheEqualsRecomputingTheSequence(String backendName) throws IOException {
        ModelWeights w = weights();
        int[] tokens = TinyGpt2.tokens(12, 2);
        try (ClContext context = backendName.equals("cpu") ? null : OpenClTestSupport.context(backendName)) {
            Backend backend = context == null ? new CpuBackend() : new ClBackend(context);
            ModelInvariants.decodingEqualsRecomputing(backend, w, tokens, 5, FP32_LOGITS);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu", "lwjgl"})
    void aPaddedBatchEqualsEachSequenceAlone(String backendName) throws IOException {
        ModelWeights w = weights();
        int[][] prompts = {TinyGpt2.tokens(7, 3), TinyGpt2.tokens(3, 4), TinyGpt2.tokens(5, 5)};
        int[] next = {11, 22, 33};
        try (ClContext context = backendName.equals("cpu") ? null : OpenClTestSupport.context(backendName)) {
            Backend backend = context == null ? new CpuBackend() : new ClBackend(context);
            ModelInvariants.aPaddedBatchEqualsEachSequenceAlone(backend, w, prompts, next, FP32_LOGITS);
        }
    }

    @Test
    void halfAndBfloat16FilesLoadToTheirRoundedValues() throws IOException {
        ModelWeights f32 = ModelWeights.loadFolder(TinyGpt2.write(dir.resolve("f32"), "F32", true, 100));
        for (String dtype : new String[] {"F16", "BF16"}) {
            ModelWeights half = ModelWeights.loadFolder(TinyGpt2.write(dir.resolve(dtype), dtype, true, 100));
            float[] a = f32.layers[1].upWeight.toFloats();
            float[] b = half.layers[1].upWeight.toFloats();
            assertEquals(dtype, half.layers[1].upWeight.type().name(), "the matrix keeps its stored format");
            double tolerance = dtype.equals("F16") ? 0x1p-11 : 0x1p-8; // half an ulp of the format, relative
            for (int i = 0; i < a.length; i++) {
                assertEquals(a[i], b[i], Math.abs(a[i]) * tolerance + 1e-7, dtype + " value " + i);
            }
            assertEquals(f32.parameterCount(), half.parameterCount());
        }
    }

    private static void check(String what, float[] got, float[] want) {
        ModelInvariants.check(what, got, want, FP32_LOGITS);
    }
}
