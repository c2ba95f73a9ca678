package gpuinfer.tune;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.GpuInferException;
import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionShape;
import gpuinfer.attention.FlashAttention;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.DeviceInfo;
import gpuinfer.selftest.DeviceSetup;
import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import gpuinfer.testing.SystemProperty;
import gpuinfer.variants.KernelSettings;
import gpuinfer.variants.Variants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * Tuning which kernel variant a decision point runs: every variant forced in turn, validated against the CPU
 * reference, timed; a wrong one rejected (the default included) and never chosen; the choice stored and run by the
 * ops built with the device's settings afterwards. Small shapes, one or two timed runs: seconds.
 */
@ExtendWith(NoLeaks.class)
class VariantTargetTest {
    private static final AttentionShape PREFILL = new AttentionShape(1, 4, 4, 128, 128, 32);
    private static final AttentionShape DECODE = new AttentionShape(1, 4, 4, 1, 1024, 32);
    private static final KernelSettings CPU = KernelSettings.defaults().withFamily(KernelSettings.Family.CPU);

    private static String chosen(Tuner.Result result) {
        return result.best().candidate().params().get(Variants.TUNED_NAME);
    }

    @Test
    void everyVariantOfThePointIsACandidateWithTheFamilysPreferenceAsTheDefaults() {
        DeviceInfo device = OpenClTestSupport.device("lwjgl").info();
        VariantTarget prefill = VariantTarget.linearPrefill(CPU);
        assertEquals("variant/linear prefill/f32", prefill.key());
        assertEquals(Map.of("VARIANT", "linear_packed/f32"), prefill.defaults(device));
        assertEquals(List.of(Map.of("VARIANT", "linear_nt/f32"), Map.of("VARIANT", "linear_tiled/f32")),
                prefill.candidates(device, 24, 1).stream().map(Tuner.Candidate::params).toList());
        assertEquals(1, prefill.candidates(device, 1, 1).size(), "the budget limits them too");
        VariantTarget gpu = VariantTarget.flashDecode(CPU.withFamily(KernelSettings.Family.GPU), DECODE);
        assertEquals(Map.of("VARIANT", "flash_decode_dsplit"), gpu.defaults(device));
    }

    @Test
    void onACpuRuntimeTheCpuShapedVariantsWinSoTheChoiceIsTheDefault() {
        try (ClContext context = OpenClTestSupport.context("lwjgl")) {
            DeviceInfo device = context.device().info();
            assumeFalse(device.isGpu(), "CPU-shaped variants are expected to win on CPU runtimes only");
            for (VariantTarget target : List.of(VariantTarget.flashPrefill(CPU, PREFILL), VariantTarget.flashDecode(CPU, DECODE),
                    VariantTarget.linearDecode(CPU))) {
                Tuner.Result result = Tuner.tune(context, target, target.candidates(device, 24, 1), 1, 3, o -> { });
                assertEquals(target.point().cpuOrder().size(), result.outcomes().size(), result::toString);
                assertTrue(result.outcomes().stream().allMatch(Tuner.Outcome::accepted), result::toString);
                assertEquals(target.point().cpuOrder().get(0), chosen(result), result::toString);
                assertEquals(result.defaults(), result.best(), "defaults kept");
                assertEquals(1.0, result.speedup(), 0.0);
            }
        }
    }

    @Test
    void aWrongDefaultVariantIsRejectedAndTheStoredChoiceIsWhatTheOpsRunAfterwards(@TempDir Path cache) throws Exception {
        // the planted fault is the tuner's to find here, not the self-test's
        try (SystemProperty cacheDir = SystemProperty.set("gpuinfer.cacheDir", cache.toString());
             SystemProperty noSelfTest = SystemProperty.set("gpuinfer.selftest", "0");
             ClContext context = openAfterReload()) {
            DeviceInfo device = context.device().info();
            AttentionProblem prefill = AttentionProblem.of(PREFILL, true);
            AttentionProblem decode = AttentionProblem.of(DECODE, true);
            try (FlashAttention before = new FlashAttention(context, DeviceSetup.settings(context, KernelSettings.Family.CPU), Map.of())) {
                assertEquals("flash_tiled", before.variant(prefill), "nothing stored yet: the CPU family's first");
            }

            KernelSettings planted = CPU.withBuildOptions("flash_tiled", "-DPLANTED_CAUSAL_OFF_BY_ONE");
            VariantTarget target = VariantTarget.flashPrefill(planted, PREFILL);
            List<Tuner.Candidate> candidates = new ArrayList<>(target.candidates(device, 24, 1));
            candidates.add(Tuner.Candidate.of(Map.of("VARIANT", "linear_rows/f32")));   // not a variant of this point
            List<Tuner.Outcome> seen = new ArrayList<>();
            Tuner.Result result = Tuner.tune(context, target, candidates, 0, 1, seen::add);

            assertEquals(Map.of("VARIANT", "flash_tiled"), seen.get(0).candidate().params(), "the defaults come first");
            assertFalse(seen.get(0).accepted());
            assertTrue(seen.get(0).reason().startsWith("wrong result"), seen.get(0).reason());
            assertTrue(seen.stream().anyMatch(o -> !o.accepted() && o.reason().contains("is not a variant of flash prefill")),
                    seen::toString);
            assertTrue(result.defaultsRejected());
            assertTrue(Double.isNaN(result.speedup()));
            assertEquals("flash_dsplit", chosen(result), "the other variant, the only correct one");

            TuningStore.save(device, result.key(), result.best().candidate().params(), result.evidence());
            JsonNode entry = new ObjectMapper().readTree(TuningStore.file(device).toFile()).get("kernels").get("variant/flash prefill");
            assertEquals("flash_dsplit", entry.get("params").get("VARIANT").asText());
            assertTrue(entry.get("evidence").get("defaultMs").isNull(), entry::toString);
            assertTrue(entry.get("evidence").get("defaultsRejected").asText().startsWith("wrong result"), entry::toString);
            assertEquals(3, entry.get("evidence").get("candidates").asInt());
            assertEquals(2, entry.get("evidence").get("rejected").asInt());

            try (FlashAttention after = new FlashAttention(context, DeviceSetup.settings(context, KernelSettings.Family.CPU), Map.of())) {
                assertEquals("flash_dsplit", after.variant(prefill), "the stored choice runs");
                assertEquals("flash_decode_split", after.variant(decode), "decode was not tuned: the family's first");
            }
        } finally {
            TuningStore.reload();
        }
    }

    @Test
    void whenEveryVariantIsWrongTheSearchFailsInsteadOfChoosingOne() {
        try (ClContext context = OpenClTestSupport.context("lwjgl")) {
            KernelSettings bothWrong = CPU.withBuildOptions("flash_tiled", "-DPLANTED_CAUSAL_OFF_BY_ONE")
                    .withBuildOptions("flash_dsplit", "-DPLANTED_CAUSAL_OFF_BY_ONE");
            VariantTarget target = VariantTarget.flashPrefill(bothWrong, PREFILL);
            GpuInferException e = assertThrows(GpuInferException.class,
                    () -> Tuner.tune(context, target, target.candidates(context.device().info(), 24, 1), 0, 1, o -> { }));
            assertTrue(e.getMessage().contains("Every candidate of variant/flash prefill was rejected"), e.getMessage());
        }
    }

    /** A context opened after the tuning store forgot what it read (the cache directory just changed). */
    private static ClContext openAfterReload() {
        TuningStore.reload();
        return OpenClTestSupport.context("lwjgl");
    }
}
