package gpuinfer.tune;

import gpuinfer.attention.AttentionShape;
import gpuinfer.attention.FlashAttention;
import gpuinfer.attention.FlashConfig;
import gpuinfer.selftest.DeviceSetup;
import gpuinfer.variants.KernelSettings;
import java.util.ArrayList;
import java.util.List;
import gpuinfer.attention.PlantedBugs;
import gpuinfer.cl.ClContext;
import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import gpuinfer.testing.SystemProperty;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

@ExtendWith(NoLeaks.class)
class TunerTest {
    private static final AttentionShape TIMED = new AttentionShape(1, 2, 2, 128, 128, 32);
    private static final String PLANTED = "-DPLANTED_CAUSAL_OFF_BY_ONE";

    /** FlashTarget whose extra build options may plant the off-by-one mask. */
    private static FlashTarget plantable() {
        return new FlashTarget(TIMED, (context, params) -> params.getValue().isEmpty()
                ? new FlashAttention(context, KernelSettings.defaults(), params.getKey()) : PlantedBugs.flashWithOffByOneCausalMask(context));
    }

    @Test
    void aFastButWrongKernelIsRejectedAndNeverSelected() {
        try (ClContext context = OpenClTestSupport.context("lwjgl")) {
            FlashTarget target = plantable();
            Map<String, String> defaults = target.defaults(context.device().info());
            List<Tuner.Candidate> candidates = new ArrayList<>();
            candidates.add(new Tuner.Candidate(defaults, PLANTED));                      // wrong results
            Map<String, String> invalid = new LinkedHashMap<>(defaults);
            invalid.put("VEC", "3");                                                     // refused before building
            candidates.add(Tuner.Candidate.of(invalid));
            Map<String, String> tooMany = new LinkedHashMap<>(defaults);
            tooMany.put("QB", "9");
            candidates.add(Tuner.Candidate.of(tooMany));
            candidates.addAll(Tuner.sample(target.space(context.device().info()), 2, 5)); // genuine alternatives

            List<Tuner.Outcome> seen = new ArrayList<>();
            Tuner.Result result = Tuner.tune(context, target, candidates, 0, 2, seen::add);

            Tuner.Outcome planted = seen.stream().filter(o -> o.candidate().extraOptions().equals(PLANTED)).findFirst().orElseThrow();
            assertFalse(planted.accepted());
            assertTrue(planted.reason().startsWith("wrong result"), planted.reason());
            assertTrue(Double.isNaN(planted.millis()), "a rejected candidate is never timed");
            assertTrue(seen.stream().anyMatch(o -> !o.accepted() && o.reason().contains("VEC must be 1, 2, 4, 8 or 16")), seen::toString);
            assertTrue(seen.stream().anyMatch(o -> !o.accepted() && o.reason().contains("at most 8")), seen::toString);
            assertTrue(result.best().accepted());
            assertNotEquals(PLANTED, result.best().candidate().extraOptions(), "the planted kernel is never selected");
            assertTrue(result.best().millis() <= result.defaults().millis());
            assertTrue(result.speedup() >= 1.0);
        }
    }

    @Test
    void tunedValuesAreStoredPerDeviceAndUsedAutomatically(@TempDir Path cache) throws Exception {
        try (SystemProperty cacheDir = SystemProperty.set("gpuinfer.cacheDir", cache.toString());
             ClContext context = openAfterReload()) {
            Map<String, String> tuned = new LinkedHashMap<>(FlashTarget.of(TIMED).defaults(context.device().info()));
            tuned.put("WG", "4");
            tuned.put("QB", "2");
            TuningStore.save(context.device().info(), FlashAttention.tuningKey(32), tuned, Map.of("bestMs", 1.0));
            try (FlashAttention op = new FlashAttention(context, DeviceSetup.settings(context), Map.of())) {
                assertEquals(4, op.config(32).wg(), "stored values apply to D=32");
                assertEquals(2, op.config(32).qb());
                assertNotEquals(4, op.config(64).wg(), "and only to D=32");
            }
            try (FlashAttention untuned = new FlashAttention(context)) {
                assertNotEquals(4, untuned.config(32).wg(), "an op built without the device's settings sees no stored value");
            }
            // a stored value this version rejects (VEC=3): the defaults, and a warning naming the key and the fix
            tuned.put("VEC", "3");
            TuningStore.save(context.device().info(), FlashAttention.tuningKey(32), tuned, Map.of("bestMs", 1.0));
            List<String> warnings = new ArrayList<>();
            KernelSettings settings = DeviceSetup.settings(context).withWarnings(warnings::add);
            try (FlashAttention op = new FlashAttention(context, settings, Map.of())) {
                assertEquals(FlashConfig.defaults(context.device().info(), 32), op.config(32));
            }
            assertEquals(1, warnings.size(), warnings.toString());
            assertTrue(warnings.get(0).contains("flash/D=32") && warnings.get(0).contains("gpu-infer tune"), warnings.get(0));
            assertTrue(TuningStore.file(context.device().info()).startsWith(cache));
        } finally {
            TuningStore.reload();
        }
    }

    /** A context opened after the tuning store forgot what it read (the cache directory just changed). */
    private static ClContext openAfterReload() {
        TuningStore.reload();
        return OpenClTestSupport.context("lwjgl");
    }

    @Test
    void searchSpacesRespectTheDevicesLimits() {
        OpenClTestSupport.device("lwjgl");
        var info = OpenClTestSupport.device("lwjgl").info();
        for (Map<String, String> p : FlashTarget.of(new AttentionShape(1, 12, 12, 1024, 1024, 80)).space(info)) {
            int vec = Integer.parseInt(p.get("VEC"));
            assertEquals(0, 80 % vec, p.toString());
            assertEquals(0, (80 / vec) % Integer.parseInt(p.get("CB")), p.toString());
        }
        assertFalse(LinearTarget.decode().space(info).isEmpty());
        assertTrue(LinearTarget.decode().space(info).stream().allMatch(p -> p.get("MB").equals("1")));
    }
}
