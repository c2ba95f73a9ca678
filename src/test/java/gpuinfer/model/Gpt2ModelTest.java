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
import java.util.Arrays;

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

    /** Logits of every position of a sequence run in one step. */
    private static float[] fullForward(Backend backend, ModelWeights w, int[] tokens) {
        try (DecoderModel model = new DecoderModel(backend, w, 1, tokens.length, tokens.length, tokens.length)) {
            int[] rows = new int[tokens.length];
            Arrays.setAll(rows, i -> i);
            return model.forward(tokens, new int[] {0}, new int[] {tokens.length}, tokens.length, rows, Tap.NONE);
        }
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

    @ParameterizedTest
    @ValueSource(strings = {"cpu", "lwjgl", "jocl"})
    void decodingWithTheCacheEqualsRecomputingTheSequence(String backendName) throws IOException {
        ModelWeights w = weights();
        int[] tokens = TinyGpt2.tokens(12, 2);
        float[] full = fullForward(new CpuBackend(), w, tokens);
        int V = TinyGpt2.VOCAB;
        try (ClContext context = backendName.equals("cpu") ? null : OpenClTestSupport.context(backendName)) {
            Backend backend = context == null ? new CpuBackend() : new ClBackend(context);
            try (DecoderModel model = new DecoderModel(backend, w, 1, tokens.length, 5, 1)) {
                int prefill = 5;
                float[] logits = model.forward(Arrays.copyOf(tokens, prefill), new int[] {0}, new int[] {prefill}, prefill,
                        new int[] {prefill - 1}, Tap.NONE);
                check("prefill last row", logits, Arrays.copyOfRange(full, (prefill - 1) * V, prefill * V));
                for (int pos = prefill; pos < tokens.length; pos++) {
                    logits = model.forward(new int[] {tokens[pos]}, new int[] {pos}, new int[] {pos + 1}, 1, new int[] {0}, Tap.NONE);
                    check("decode position " + pos, logits, Arrays.copyOfRange(full, pos * V, (pos + 1) * V));
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"cpu", "lwjgl"})
    void aPaddedBatchEqualsEachSequenceAlone(String backendName) throws IOException {
        ModelWeights w = weights();
        int[][] prompts = {TinyGpt2.tokens(7, 3), TinyGpt2.tokens(3, 4), TinyGpt2.tokens(5, 5)};
        int[] next = {11, 22, 33};
        int V = TinyGpt2.VOCAB;
        int B = prompts.length;
        int T = 7;
        try (ClContext context = backendName.equals("cpu") ? null : OpenClTestSupport.context(backendName)) {
            Backend backend = context == null ? new CpuBackend() : new ClBackend(context);
            try (DecoderModel model = new DecoderModel(backend, w, B, T + 1, T, B)) {
                int[] tokens = new int[B * T];
                int[] lengths = new int[B];
                int[] lastRows = new int[B];
                for (int b = 0; b < B; b++) {
                    Arrays.fill(tokens, b * T, (b + 1) * T, 5); // padding with a real token: it must not leak in
                    System.arraycopy(prompts[b], 0, tokens, b * T, prompts[b].length);
                    lengths[b] = prompts[b].length;
                    lastRows[b] = b * T + prompts[b].length - 1;
                }
                float[] batch = model.forward(tokens, new int[B], lengths, T, lastRows, Tap.NONE);
                // one decode step for every sequence, each at its own position
                int[] start = lengths.clone();
                int[] after = Arrays.stream(lengths).map(l -> l + 1).toArray();
                float[] decoded = model.forward(next, start, after, 1, new int[] {0, 1, 2}, Tap.NONE);
                for (int b = 0; b < B; b++) {
                    int[] alone = Arrays.copyOf(prompts[b], prompts[b].length + 1);
                    alone[prompts[b].length] = next[b];
                    float[] want = fullForward(new CpuBackend(), w, alone);
                    int L = prompts[b].length;
                    check("sequence " + b + " prefill", Arrays.copyOfRange(batch, b * V, (b + 1) * V),
                            Arrays.copyOfRange(want, (L - 1) * V, L * V));
                    check("sequence " + b + " decode", Arrays.copyOfRange(decoded, b * V, (b + 1) * V),
                            Arrays.copyOfRange(want, L * V, (L + 1) * V));
                }
            }
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
        Comparison c = Validate.compare(what, got, want, FP32_LOGITS);
        assertTrue(c.passed(), c::report);
    }
}
