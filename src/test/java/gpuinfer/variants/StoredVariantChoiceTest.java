package gpuinfer.variants;

import gpuinfer.cl.ClContext;
import gpuinfer.cl.DeviceInfo;
import gpuinfer.ops.Linear;
import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import gpuinfer.weights.WeightType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A variant choice stored by {@code gpu-infer tune --kernel variants} ("variant/flash prefill" = {VARIANT:
 * flash_dsplit}) is tried first at its decision point, still subject to the self-test's disabled set and the device's
 * limits; a stored name that is no variant of the point is reported and ignored.
 */
@ExtendWith(NoLeaks.class)
class StoredVariantChoiceTest {
    private final List<String> warnings = new ArrayList<>();

    private KernelSettings cpuWithStored(String point, String variant) {
        return KernelSettings.defaults().withFamily(KernelSettings.Family.CPU).withWarnings(warnings::add)
                .withTuned(Map.of(Variants.tuningKey(point), Map.of(Variants.TUNED_NAME, variant)));
    }

    private static DeviceInfo device() {
        return OpenClTestSupport.device("lwjgl").info();
    }

    @Test
    void aStoredChoiceIsTriedFirstAndReplacesTheFamilysPreferenceWithoutAWarning() {
        Variants.Point point = Variants.FLASH_PREFILL;
        assertEquals("variant/flash prefill", point.tuningKey());
        KernelSettings plain = KernelSettings.defaults().withFamily(KernelSettings.Family.CPU).withWarnings(warnings::add);
        assertEquals("flash_tiled", point.choose(plain, device(), v -> true), "without a stored choice: the family's first");
        assertEquals("flash_dsplit", point.choose(cpuWithStored("flash prefill", "flash_dsplit"), device(), v -> true));
        KernelSettings gpu = cpuWithStored("flash prefill", "flash_tiled").withFamily(KernelSettings.Family.GPU);
        assertEquals("flash_tiled", point.choose(gpu, device(), v -> true), "also against the GPU family's preference");
        assertEquals(List.of(), warnings);
        // a choice stored for one point leaves the others alone
        assertEquals("flash_decode_split", Variants.FLASH_DECODE.choose(cpuWithStored("flash prefill", "flash_dsplit"),
                device(), v -> true));
    }

    @Test
    void aStoredChoiceTheSelfTestDisabledOrThatDoesNotFitFallsBackInTheFamilysOrder() {
        KernelSettings disabled = cpuWithStored("linear prefill/f32", "linear_tiled/f32").withDisabled(Set.of("linear_tiled/f32"));
        assertEquals("linear_packed/f32", Variants.linearPrefill("f32").choose(disabled, device(), v -> true));
        assertEquals(1, warnings.size(), warnings::toString);
        assertTrue(warnings.get(0).contains("instead of linear_tiled/f32") && warnings.get(0).contains("self-test"), warnings.get(0));

        warnings.clear();
        KernelSettings stored = cpuWithStored("linear prefill/f32", "linear_tiled/f32");
        assertEquals("linear_packed/f32", Variants.linearPrefill("f32").choose(stored, device(), v -> !v.startsWith("linear_tiled")));
        assertEquals(1, warnings.size(), warnings::toString);
        assertTrue(warnings.get(0).contains("does not fit"), warnings.get(0));
    }

    @Test
    void aStoredNameThatIsNoVariantOfThePointIsReportedAndIgnored() {
        KernelSettings stale = cpuWithStored("flash prefill", "linear_rows/f32");
        assertEquals("flash_tiled", Variants.FLASH_PREFILL.choose(stale, device(), v -> true));
        assertEquals(1, warnings.size(), warnings::toString);
        assertTrue(warnings.get(0).contains("variant/flash prefill") && warnings.get(0).contains("gpu-infer tune"), warnings.get(0));
    }

    @Test
    void theLinearOpRunsTheStoredVariantForItsFormatOnly() {
        try (ClContext context = OpenClTestSupport.context("lwjgl")) {
            KernelSettings stored = cpuWithStored("linear decode/f32", "linear_matvec/f32");
            try (Linear.OnDevice op = new Linear.OnDevice(context, stored, Map.of())) {
                assertEquals("linear_matvec/f32", op.variant(1, WeightType.F32));
                assertEquals("linear_rows/q8_0", op.variant(1, WeightType.Q8_0), "the choice was stored for f32 only");
            }
            assertEquals(List.of(), warnings);
        }
    }
}
