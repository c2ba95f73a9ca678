package gpuinfer.viz;

import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionShape;
import gpuinfer.attention.CpuAttention;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.cl.ClContext;
import gpuinfer.model.DecoderModel;
import gpuinfer.model.Interventions;
import gpuinfer.model.ModelConfig;
import gpuinfer.model.ModelWeights;
import gpuinfer.model.Tap;
import gpuinfer.ops.Backend;
import gpuinfer.ops.Buf;
import gpuinfer.ops.ClBackend;
import gpuinfer.ops.CpuBackend;
import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import gpuinfer.testing.TinyGpt2;
import gpuinfer.testing.TinyLlama;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Attention maps captured from an OpenCL run: equal to the probabilities the CPU reference computes from its own
 * queries and keys; rows sum to 1 with exact causal zeros; P·V of the captured weights is the attention output the
 * device computed ("attn_heads"), also for a head whose keys are masked; a capture of some rows over chunked steps
 * equals the full capture's rows.
 */
@ExtendWith(NoLeaks.class)
class AttentionCaptureTest {
    /**
     * Probabilities from float32 queries and keys of two backends (different rounding of the projections and rotary
     * embeddings, a few ulps each) against each other: measured 8.6e-7 absolute at most (GPT-2, layer 0).
     */
    static final Tolerance PROBABILITIES = new Tolerance(1e-5, 1e-4);
    private static final int S = 21;

    @TempDir
    Path dir;

    private ModelWeights weights(String arch) throws IOException {
        return ModelWeights.loadFolder(arch.equals("gpt2") ? TinyGpt2.write(dir.resolve(arch), "F32", false, 100)
                : TinyLlama.write(dir.resolve(arch), arch, false));
    }

    /** A capture plus a copy of every tapped tensor (the last one of each name). */
    private static final class Recording implements Tap {
        final Backend backend;
        final AttentionCapture capture;
        final Map<String, float[]> tensors = new HashMap<>();

        Recording(Backend backend, ModelConfig config, Interventions interventions, int[] rows) {
            this.backend = backend;
            this.capture = new AttentionCapture(backend, config, interventions, rows);
        }

        @Override
        public boolean attentionInputs() {
            return true;
        }

        @Override
        public void accept(String name, Buf buf, int rows, int cols) {
            capture.accept(name, buf, rows, cols);
            float[] values = new float[rows * cols];
            backend.read(buf, 0, values, 0, values.length);
            tensors.put(name, values);
        }
    }

    /** The sequence forwarded in steps of {@code chunk} tokens (the first step prefills, later ones may be 1). */
    private static Recording run(Backend backend, ModelWeights w, int[] tokens, Interventions interventions, int[] rows,
                                 int... steps) {
        Recording recording = new Recording(backend, w.config, interventions, rows);
        int longest = Arrays.stream(steps).max().orElseThrow();
        try (DecoderModel model = new DecoderModel(backend, w, 1, tokens.length, longest, 1)) {
            model.setInterventions(interventions);
            int pos = 0;
            for (int T : steps) {
                model.forward(Arrays.copyOfRange(tokens, pos, pos + T), new int[] {pos}, new int[] {pos + T}, T,
                        new int[] {T - 1}, recording);
                pos += T;
            }
            assertEquals(tokens.length, pos);
        }
        return recording;
    }

    private static AttentionMaps maps(Recording r, int[] tokens) {
        List<String> text = new ArrayList<>();
        for (int id : tokens) {
            text.add("t" + id);
        }
        return r.capture.maps("tiny", text, tokens);
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama"})
    void openClWeightsEqualTheCpuReferenceProbabilities(String arch) throws IOException {
        ModelWeights w = weights(arch);
        ModelConfig c = w.config;
        int[] tokens = TinyLlama.tokens(S, 5);
        // the reference: the CPU path's own queries and keys, through CpuAttention's probabilities
        Recording cpu = run(new CpuBackend(), w, tokens, Interventions.NONE, null, S);
        try (ClContext context = OpenClTestSupport.context("lwjgl")) {
            AttentionMaps got = maps(run(new ClBackend(context), w, tokens, Interventions.NONE, null, S), tokens);
            assertEquals(S, got.rows().length);
            AttentionProblem problem = new AttentionProblem(new AttentionShape(1, c.nHead(), c.nKvHead(), S, S, c.headDim()),
                    true, c.attentionScale());
            for (int layer = 0; layer < c.nLayer(); layer++) {
                float[] scores = new float[c.nHead() * S * S];
                float[] want = new float[c.nHead() * S * S];
                CpuAttention.scoresAndProbabilities(scores, want, cpu.tensors.get("h." + layer + ".attn_q"),
                        cpu.tensors.get("h." + layer + ".attn_k"), problem);
                float[] flat = new float[c.nHead() * S * S];
                for (int h = 0; h < c.nHead(); h++) {
                    for (int i = 0; i < S; i++) {
                        float[] row = got.row(layer, h, i);
                        System.arraycopy(row, 0, flat, (h * S + i) * S, S);
                        double sum = 0;
                        for (int j = 0; j < S; j++) {
                            sum += row[j];
                            if (j > i) {
                                assertEquals(0f, row[j], "causal zero at layer " + layer + " head " + h + " row " + i);
                            }
                        }
                        assertEquals(1.0, sum, 1e-6);
                    }
                }
                var comparison = Validate.compare(arch + " layer " + layer + " probabilities", flat, want, PROBABILITIES);
                assertTrue(comparison.passed(), comparison::report);
            }
        }
    }

    /**
     * P·V of the captured weights (with the captured value cache) is the attention output the device computed and
     * the model went on with, for every head: a plain run, and one where a head's keys 2..6 are masked (its output came
     * from the masked-attention kernel, its weights from the capture's own masking).
     */
    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama"})
    void weightsTimesValuesIsTheTappedAttentionOutput(String arch) throws IOException {
        ModelWeights w = weights(arch);
        ModelConfig c = w.config;
        int[] tokens = TinyLlama.tokens(S, 6);
        int H = c.nHead();
        int D = c.headDim();
        int group = H / c.nKvHead();
        for (Interventions interventions : List.of(Interventions.NONE,
                Interventions.parse(List.of(), List.of(), List.of("1.1:2-6", "0." + (H - 1) + ":0-0")))) {
            try (ClContext context = OpenClTestSupport.context("jocl")) {
                Recording r = run(new ClBackend(context), w, tokens, interventions, null, S);
                AttentionMaps m = maps(r, tokens);
                for (int layer = 0; layer < c.nLayer(); layer++) {
                    float[] v = r.tensors.get("h." + layer + ".attn_v");     // [Hkv, S, D]
                    float[] heads = r.tensors.get("h." + layer + ".attn_heads"); // [S, H*D]
                    float[] pv = new float[S * H * D];
                    for (int h = 0; h < H; h++) {
                        for (int i = 0; i < S; i++) {
                            float[] p = m.row(layer, h, i);
                            for (int d = 0; d < D; d++) {
                                double acc = 0;
                                for (int j = 0; j < S; j++) {
                                    acc += (double) p[j] * v[((h / group) * S + j) * D + d];
                                }
                                pv[i * H * D + h * D + d] = (float) acc;
                            }
                        }
                    }
                    var comparison = Validate.compare(arch + " " + interventions.describe() + " layer " + layer + " P·V",
                            pv, heads, Tolerance.FP32_MODEL);
                    assertTrue(comparison.passed(), comparison::report);
                }
                if (!interventions.isEmpty()) {
                    float[] row = m.row(1, 1, S - 1);
                    for (int j = 2; j <= 6; j++) {
                        assertEquals(0f, row[j]);
                    }
                    assertTrue(row[0] > 0 && row[7] > 0);
                    assertEquals(0f, m.row(0, H - 1, 5)[0]);
                    // row 0 of the head whose only key is hidden sees nothing: all zeros
                    assertArrayEquals(new float[S], m.row(0, H - 1, 0));
                    assertEquals(interventions.describe(), m.interventions());
                }
            }
        }
    }

    /** The last rows, captured over a chunked prefill and single-token steps, equal those rows of the full capture. */
    @Test
    void someRowsOverSeveralStepsEqualTheFullCapture() throws IOException {
        ModelWeights w = weights("llama");
        int[] tokens = TinyLlama.tokens(S, 7);
        try (ClContext context = OpenClTestSupport.context("lwjgl")) {
            AttentionMaps full = maps(run(new ClBackend(context), w, tokens, Interventions.NONE, null, S), tokens);
            int[] last = AttentionCapture.lastRows(S, 4);
            assertArrayEquals(new int[] {17, 18, 19, 20}, last);
            int[] wanted = {3, 17, 18, 19, 20};
            AttentionMaps some = maps(run(new ClBackend(context), w, tokens, Interventions.NONE, wanted, 8, 8, 3, 1, 1),
                    tokens);
            assertArrayEquals(wanted, some.rows());
            for (int layer = 0; layer < 2; layer++) {
                for (int h = 0; h < w.config.nHead(); h++) {
                    for (int i : wanted) {
                        var comparison = Validate.compare("row " + i, some.row(layer, h, i), full.row(layer, h, i),
                                PROBABILITIES);
                        assertTrue(comparison.passed(), comparison::report);
                    }
                }
            }
            // only the wanted rows are held: a row that was not asked for is refused
            assertFalse(Arrays.stream(some.rows()).anyMatch(r -> r == 10));
        }
    }
}
