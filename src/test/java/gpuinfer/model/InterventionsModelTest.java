package gpuinfer.model;

import gpuinfer.InputException;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.cl.ClContext;
import gpuinfer.ops.Backend;
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
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Head interventions in the forward pass (--ablate, --scale-head, --attend-mask) on the tiny GPT-2 (3 heads of 16)
 * and Llama (6 query heads sharing 2 key/value heads of 10, rotary) models: OpenCL equals the CPU reference with the
 * same intervention, over a prefill and decode steps (T = 1 reads the attention output unmerged); an intervention
 * changes the logits; the neutral ones do not; no interventions is bit for bit the plain forward.
 */
@ExtendWith(NoLeaks.class)
class InterventionsModelTest {
    private static final Tolerance TOLERANCE = Tolerance.FP32_MODEL;
    private static final int PROMPT = 20;
    private static final int TOTAL = 24;

    @TempDir
    Path dir;

    private ModelWeights weights(String arch) throws IOException {
        return ModelWeights.loadFolder(arch.equals("gpt2") ? TinyGpt2.write(dir.resolve(arch), "F32", false, 100)
                : TinyLlama.write(dir.resolve(arch), arch, false));
    }

    private static int[] tokens() {
        return TinyLlama.tokens(TOTAL, 3);
    }

    /** Logits of every prompt row, then of each of the decode steps: [PROMPT + (TOTAL - PROMPT), V]. */
    static float[] run(Backend backend, ModelWeights w, int[] tokens, Interventions interventions) {
        int V = w.config.vocabSize();
        float[] all = new float[TOTAL * V];
        try (DecoderModel model = new DecoderModel(backend, w, 1, TOTAL, PROMPT, PROMPT)) {
            model.setInterventions(interventions);
            int[] rows = new int[PROMPT];
            Arrays.setAll(rows, i -> i);
            float[] prefill = model.forward(Arrays.copyOf(tokens, PROMPT), new int[] {0}, new int[] {PROMPT}, PROMPT,
                    rows, Tap.NONE);
            System.arraycopy(prefill, 0, all, 0, prefill.length);
            for (int pos = PROMPT; pos < TOTAL; pos++) {
                float[] step = model.forward(new int[] {tokens[pos]}, new int[] {pos}, new int[] {pos + 1}, 1,
                        new int[] {0}, Tap.NONE);
                System.arraycopy(step, 0, all, pos * V, V);
            }
        }
        return all;
    }

    private static Interventions of(String kind, String value) {
        return switch (kind) {
            case "ablate" -> Interventions.parse(List.of(value), List.of(), List.of());
            case "scale" -> Interventions.parse(List.of(), List.of(value), List.of());
            case "mask" -> Interventions.parse(List.of(), List.of(), List.of(value));
            default -> throw new IllegalArgumentException(kind);
        };
    }

    @ParameterizedTest
    @CsvSource({"gpt2, ablate, 1.2", "gpt2, scale, 0.1=-1.5", "gpt2, mask, 1.0:0-4", "llama, ablate, 0.3",
            "llama, scale, 1.5=2.5", "llama, mask, 0.4:3-21", "llama, mask, 1.1:0-0"})
    void openClEqualsTheCpuReferenceWithTheSameIntervention(String arch, String kind, String value) throws IOException {
        ModelWeights w = weights(arch);
        Interventions interventions = of(kind, value);
        float[] plain = run(new CpuBackend(), w, tokens(), Interventions.NONE);
        float[] want = run(new CpuBackend(), w, tokens(), interventions);
        // the intervention matters: far outside the tolerance of the plain logits
        assertFalse(Validate.compare(kind + " against plain", want, plain, TOLERANCE).passed(), "no effect: " + value);
        try (ClContext context = OpenClTestSupport.context("lwjgl")) {
            float[] got = run(new ClBackend(context), w, tokens(), interventions);
            ModelInvariants.check(arch + " " + interventions.describe(), got, want, TOLERANCE);
        }
    }

    /** Two masks on one head hide both ranges; with a scale on the same head, the scale applies to the masked output. */
    @Test
    void combinedInterventionsOnOneHeadAgree() throws IOException {
        ModelWeights w = weights("llama");
        Interventions interventions = Interventions.parse(List.of("1.0"), List.of("0.2=0.5"),
                List.of("0.2:0-2", "0.2:10-12", "1.3:0-30"));
        float[] want = run(new CpuBackend(), w, tokens(), interventions);
        try (ClContext context = OpenClTestSupport.context("jocl")) {
            ModelInvariants.check("combined", run(new ClBackend(context), w, tokens(), interventions), want, TOLERANCE);
        }
        // masking every key of a head equals ablating it (a row left with no key outputs 0)
        float[] maskedAll = run(new CpuBackend(), w, tokens(), of("mask", "1.3:0-30"));
        float[] ablated = run(new CpuBackend(), w, tokens(), of("ablate", "1.3"));
        assertTrue(Arrays.equals(maskedAll, ablated));
    }

    @ParameterizedTest
    @ValueSource(strings = {"gpt2", "llama"})
    void neutralInterventionsChangeNothing(String arch) throws IOException {
        ModelWeights w = weights(arch);
        try (ClContext context = OpenClTestSupport.context("lwjgl")) {
            float[] plain = run(new ClBackend(context), w, tokens(), Interventions.NONE);
            // scale by 1 and a mask of keys no row sees (past the last position)
            ModelInvariants.check("scale by 1", run(new ClBackend(context), w, tokens(), of("scale", "1.1=1")), plain, TOLERANCE);
            ModelInvariants.check("empty mask", run(new ClBackend(context), w, tokens(), of("mask", "0.1:30-39")), plain, TOLERANCE);
            // no interventions: nothing is called, bit for bit the plain forward
            Interventions none = Interventions.parse(List.of(), List.of(), List.of());
            assertTrue(Arrays.equals(plain, run(new ClBackend(context), w, tokens(), none)));
        }
        float[] cpu = run(new CpuBackend(), w, tokens(), Interventions.NONE);
        assertTrue(Arrays.equals(cpu, run(new CpuBackend(), w, tokens(), Interventions.parse(List.of(), List.of(), List.of()))));
    }

    @Test
    void aHeadOutsideTheModelIsAnInputErrorNamingItsSize() throws IOException {
        ModelWeights w = weights("gpt2");
        try (DecoderModel model = new DecoderModel(new CpuBackend(), w, 1, 8, 8, 1)) {
            for (String bad : List.of("2.0", "0.3")) {
                InputException e = assertThrows(InputException.class, () -> model.setInterventions(of("ablate", bad)));
                assertTrue(e.getMessage().contains("2 layers of 3 heads"), e.getMessage());
            }
            InputException e = assertThrows(InputException.class, () -> model.setInterventions(of("mask", "1.5:0-1")));
            assertTrue(e.getMessage().contains("2 layers of 3 heads"), e.getMessage());
        }
    }
}
