package gpuinfer.selftest;

import gpuinfer.cl.ClContext;
import gpuinfer.testing.NoLeaksInClass;
import gpuinfer.testing.OpenClTestSupport;
import gpuinfer.variants.KernelSettings;
import gpuinfer.variants.Variants;
import gpuinfer.variants.Variants.Point;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The device self-test on the test device: every variant passes as gpu-infer ships them; a fault planted in one
 * variant (flash_tiled's causal mask, one key too many) is caught, named with its error, and disabled, so that its
 * decision point chooses the other variant. One context for the class: its programs are built once.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(NoLeaksInClass.class)
class DeviceSelfTestTest {
    private ClContext context;

    @BeforeAll
    void open() {
        context = OpenClTestSupport.context("lwjgl");
    }

    @AfterAll
    void close() {
        if (context != null) {
            context.close();
        }
    }

    @Test
    void everyVariantPassesAsShipped() {
        List<VariantResult> seen = new ArrayList<>();
        List<VariantResult> results;
        try (DeviceSelfTest test = new DeviceSelfTest(context, KernelSettings.defaults())) {
            results = test.all(seen::add);
        }
        assertEquals(results, seen, "each result is reported as soon as it is known");
        assertEquals(DeviceSelfTest.count(), results.size());
        List<String> failed = results.stream().filter(VariantResult::failed).map(r -> r.variant() + ": " + r.detail()).toList();
        assertEquals(List.of(), failed);
        // every name each point lists is tested, and the variant each point prefers on a CPU ran and passed
        for (Point point : DeviceSelfTest.points()) {
            for (String variant : point.cpuOrder()) {
                assertTrue(results.stream().anyMatch(r -> r.variant().equals(variant) && r.point().equals(point.name())),
                        variant + " of " + point.name() + " was not tested");
            }
            VariantResult preferred = find(results, point.cpuOrder().get(0));
            assertTrue(preferred.passed(), preferred.toString());
            assertTrue(preferred.maxAbsError() >= 0 && preferred.nmse() < 1e-10, preferred.toString());
        }
        for (String op : DeviceSelfTest.singleKernelOps()) {
            VariantResult r = find(results, op);
            assertTrue(r.passed(), r.toString());
            assertEquals(DeviceSelfTest.NO_ALTERNATIVE, r.point());
            assertFalse(r.hasAlternative());
        }
        // the awkward shapes are the ones run
        assertTrue(find(results, "linear_rows/f32").shapes().contains("R=1 N=1 K=33"));
        assertTrue(find(results, "linear_packed/q4_0").shapes().contains("R=65 N=17 K=288"));
        assertTrue(find(results, "flash_tiled").shapes().contains("causal kv-lens"));
        assertTrue(find(results, "flash_decode_split").shapes().contains("Sq=1 Sk=130"));
    }

    @Test
    void aPlantedFaultInFlashTiledIsCaughtNamedAndRoutedAround(@TempDir Path cache) {
        List<String> warnings = new ArrayList<>();
        KernelSettings planted = KernelSettings.defaults().withFamily(KernelSettings.Family.CPU)
                .withBuildOptions("flash_tiled", "-DPLANTED_CAUSAL_OFF_BY_ONE").withWarnings(warnings::add);
        SelfTestStore store = new SelfTestStore(cache.resolve("device.tsv"), new SelfTestStore.Key("test device",
                "driver 1", KernelSourcesHash.current()));
        ByteArrayOutputStream notices = new ByteArrayOutputStream();
        DeviceSetup.Outcome outcome = DeviceSetup.setUp(context, planted, store, true,
                new PrintStream(notices, true, StandardCharsets.UTF_8));

        VariantResult tiled = find(outcome.ran(), "flash_tiled");
        assertTrue(tiled.failed(), tiled.toString());
        assertTrue(tiled.maxAbsError() > 1e-2, "a whole key too many is a large error: " + tiled);
        assertTrue(tiled.detail().contains("causal") && tiled.detail().contains("outside"), tiled.detail());
        assertTrue(outcome.settings().disabled("flash_tiled"));
        assertEquals("flash_dsplit", Variants.FLASH_PREFILL.choose(outcome.settings(), context.device().info(), v -> true),
                "the prefill point chooses the other variant");
        // the fault is planted in flash_tiled's program only: the decode kernels are still right
        assertTrue(find(outcome.ran(), "flash_decode_split").passed());
        assertFalse(outcome.settings().disabled("flash_decode_split"));
        // the next variant of the prefill point was tested in its place
        assertTrue(outcome.ran().stream().anyMatch(r -> r.variant().equals("flash_dsplit")), outcome.ran().toString());

        String warning = warnings.stream().filter(w -> w.contains("flash_tiled")).findFirst().orElse("no warning names flash_tiled: " + warnings);
        assertTrue(warning.contains("max abs error") && warning.contains("NMSE") && warning.contains("disabled"), warning);
        assertTrue(warning.contains(tiled.errorSummary()), warning);
        String line = notices.toString(StandardCharsets.UTF_8);
        assertTrue(line.startsWith("gpu-infer: first use of " + context.device().info().name()), line);
        assertTrue(line.contains("disabled 1: flash_tiled"), line);
        assertEquals(1, line.lines().count(), "one line: " + line);
        // stored: the next context on this device and driver disables it without running anything
        List<String> later = new ArrayList<>();
        DeviceSetup.Outcome again = DeviceSetup.setUp(context, KernelSettings.defaults().withFamily(KernelSettings.Family.CPU)
                .withWarnings(later::add), store, true, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        assertEquals(List.of(), again.ran());
        assertTrue(again.settings().disabled("flash_tiled"));
    }

    @Test
    void theAutomaticRunTestsOnlyWhatTheFamilyMayUseAndTheUnplantedOnePasses(@TempDir Path cache) {
        SelfTestStore store = new SelfTestStore(cache.resolve("device.tsv"), new SelfTestStore.Key("test device",
                "driver 1", KernelSourcesHash.current()));
        List<String> warnings = new ArrayList<>();
        ByteArrayOutputStream notices = new ByteArrayOutputStream();
        DeviceSetup.Outcome outcome = DeviceSetup.setUp(context, KernelSettings.defaults().withFamily(KernelSettings.Family.CPU)
                .withWarnings(warnings::add), store, true, new PrintStream(notices, true, StandardCharsets.UTF_8));
        List<String> ran = outcome.ran().stream().map(VariantResult::variant).toList();
        List<String> expected = new ArrayList<>();
        DeviceSelfTest.points().forEach(p -> expected.add(p.cpuOrder().get(0)));
        expected.addAll(DeviceSelfTest.singleKernelOps());
        assertEquals(expected, ran, "each point's preferred CPU variant and every single-kernel op, nothing else");
        assertTrue(outcome.ran().stream().allMatch(VariantResult::passed), outcome.ran().toString());
        assertEquals(java.util.Set.of(), outcome.settings().disabled());
        assertEquals(List.of(), warnings);
        String line = notices.toString(StandardCharsets.UTF_8);
        assertTrue(line.contains("self-test of " + expected.size() + " kernel variants") && line.contains(expected.size()
                + " passed") && line.contains(DeviceSetup.SWITCH + "=0"), line);

        // the GPU family then tests only its own preferred variants; the single-kernel ops are known
        DeviceSetup.Outcome gpu = DeviceSetup.setUp(context, KernelSettings.defaults().withFamily(KernelSettings.Family.GPU)
                .withWarnings(warnings::add), store, true, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        Map<String, Point> firstGpu = DeviceSelfTest.points().stream().collect(Collectors.toMap(p -> p.gpuOrder().get(0), p -> p));
        for (VariantResult r : gpu.ran()) {
            boolean preferred = firstGpu.containsKey(r.variant());
            // a GPU-shaped variant this build or device cannot run is followed by the next one of its point
            assertTrue(preferred || r.hasAlternative() && gpu.ran().stream().anyMatch(p -> p.point().equals(r.point())
                    && !p.passed()), r + " was not needed");
        }
        assertFalse(gpu.ran().stream().anyMatch(r -> !r.hasAlternative()), "single-kernel ops are not tested twice");
        assertTrue(gpu.ran().stream().noneMatch(VariantResult::failed), gpu.ran().toString());
    }

    private static VariantResult find(List<VariantResult> results, String variant) {
        return results.stream().filter(r -> r.variant().equals(variant)).findFirst()
                .orElseThrow(() -> new AssertionError(variant + " not among " + results.stream().map(VariantResult::variant).toList()));
    }
}
