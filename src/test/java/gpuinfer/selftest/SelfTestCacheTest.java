package gpuinfer.selftest;

import gpuinfer.cl.ClContext;
import gpuinfer.testing.NoLeaksInClass;
import gpuinfer.testing.OpenClTestSupport;
import gpuinfer.testing.SystemProperty;
import gpuinfer.variants.KernelSettings;
import gpuinfer.variants.Variants;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The self-test's results are stored per device, driver and kernel sources: a second context on the same device
 * runs nothing; another driver version, changed kernel sources or a damaged file test again; with the automatic run
 * switched off, stored results still apply and nothing runs.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(NoLeaksInClass.class)
class SelfTestCacheTest {
    private ClContext context;
    private final KernelSettings cpuFamily = KernelSettings.defaults().withFamily(KernelSettings.Family.CPU)
            .withWarnings(message -> { });

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

    private DeviceSetup.Outcome setUp(SelfTestStore store, boolean run, ByteArrayOutputStream notices) {
        return DeviceSetup.setUp(context, cpuFamily, store, run, new PrintStream(notices, true, StandardCharsets.UTF_8));
    }

    @Test
    void aSecondContextRunsNothingAndAnotherDriverOrKernelRunsAgain(@TempDir Path cache) throws IOException {
        Path file = cache.resolve("device.tsv");
        SelfTestStore.Key key = new SelfTestStore.Key("test device", "driver 1.0", KernelSourcesHash.current());
        ByteArrayOutputStream first = new ByteArrayOutputStream();
        DeviceSetup.Outcome ran = setUp(new SelfTestStore(file, key), true, first);
        assertFalse(ran.ran().isEmpty());
        assertTrue(Files.isRegularFile(file));
        assertTrue(first.toString(StandardCharsets.UTF_8).contains("first use"), first::toString);

        ByteArrayOutputStream second = new ByteArrayOutputStream();
        DeviceSetup.Outcome cached = setUp(new SelfTestStore(file, key), true, second);
        assertEquals(List.of(), cached.ran(), "the stored results are used");
        assertEquals("", second.toString(StandardCharsets.UTF_8), "nothing is said when nothing runs");
        assertEquals(ran.used().stream().map(VariantResult::variant).toList(),
                cached.used().stream().map(VariantResult::variant).toList());

        DeviceSetup.Outcome otherDriver = setUp(new SelfTestStore(file, new SelfTestStore.Key(key.device(), "driver 1.1",
                key.kernelSources())), true, new ByteArrayOutputStream());
        assertEquals(ran.ran().size(), otherDriver.ran().size(), "another driver version is tested again");

        String changedKernels = KernelSourcesHash.of(Map.of("linear.cl", "changed".getBytes(StandardCharsets.UTF_8)));
        DeviceSetup.Outcome otherKernels = setUp(new SelfTestStore(file, new SelfTestStore.Key(key.device(), "driver 1.1",
                changedKernels)), true, new ByteArrayOutputStream());
        assertEquals(ran.ran().size(), otherKernels.ran().size(), "changed kernel sources are tested again");

        Files.writeString(file, "gpu-infer device self-test v1\ndevice\ttest dev");
        DeviceSetup.Outcome damaged = setUp(new SelfTestStore(file, key), true, new ByteArrayOutputStream());
        assertEquals(ran.ran().size(), damaged.ran().size(), "a damaged file is tested again");
        assertEquals(List.of(), setUp(new SelfTestStore(file, key), true, new ByteArrayOutputStream()).ran(),
                "and written anew");
    }

    @Test
    void aProcessTestsADeviceOnceEvenWhenItsCacheDirectoryChanges(@TempDir Path first, @TempDir Path second) {
        try (SystemProperty cacheDir = SystemProperty.set("gpuinfer.cacheDir", first.toString())) {
            SelfTestStore store = SelfTestStore.forDevice(context.device().info());
            assertTrue(store.file().startsWith(first), store.file().toString());
            setUp(store, true, new ByteArrayOutputStream());
            assertFalse(store.load().isEmpty());
            System.setProperty("gpuinfer.cacheDir", second.toString()); // restored by cacheDir
            ByteArrayOutputStream notices = new ByteArrayOutputStream();
            DeviceSetup.Outcome again = setUp(SelfTestStore.forDevice(context.device().info()), true, notices);
            assertEquals(List.of(), again.ran(), "what this process measured on the device is remembered");
            assertEquals("", notices.toString(StandardCharsets.UTF_8));
        }
    }

    @Test
    void storedFailuresApplyWhenTheAutomaticRunIsOffAndMissingResultsAreNotRun(@TempDir Path cache) throws IOException {
        SelfTestStore store = new SelfTestStore(cache.resolve("device.tsv"), new SelfTestStore.Key("test device",
                "driver 2", KernelSourcesHash.current()));
        ByteArrayOutputStream notices = new ByteArrayOutputStream();
        DeviceSetup.Outcome nothing = setUp(store, false, notices);
        assertEquals(List.of(), nothing.ran());
        assertEquals(List.of(), nothing.used());
        assertEquals(java.util.Set.of(), nothing.settings().disabled());
        assertEquals("", notices.toString(StandardCharsets.UTF_8));

        VariantResult wrong = new VariantResult("linear_rows/q8_0", "linear decode/q8_0", VariantResult.Status.FAILED,
                "R=1 N=1 K=32", 3.5, 0.8, "atol 2.0e-05, rtol 1.0e-04", 12, "y: max abs 3.5 ...: FAIL");
        VariantResult layernorm = new VariantResult("layernorm", DeviceSelfTest.NO_ALTERNATIVE, VariantResult.Status.FAILED,
                "R=1 C=1", 2, 1, "atol 2.0e-05, rtol 1.0e-04", 3, "y: FAIL");
        store.save(List.of(wrong, layernorm));
        List<String> warnings = new ArrayList<>();
        DeviceSetup.Outcome stored = DeviceSetup.setUp(context, cpuFamily.withWarnings(warnings::add), store, false,
                new PrintStream(notices, true, StandardCharsets.UTF_8));
        assertEquals(List.of(), stored.ran());
        assertTrue(stored.settings().disabled("linear_rows/q8_0"));
        assertFalse(stored.settings().disabled("layernorm"), "an op without alternative is not disabled: nothing replaces it");
        // the op without alternative is named on every run, with what to do
        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).contains("layernorm") && warnings.get(0).contains("no alternative")
                && warnings.get(0).contains("--device cpu") && warnings.get(0).contains("gpu-infer compare"), warnings.get(0));
        assertEquals("linear_matvec/q8_0", Variants.linearDecode("q8_0").choose(stored.settings(), context.device().info(),
                v -> true));
        assertTrue(warnings.get(1).contains("using linear_matvec/q8_0 instead of linear_rows/q8_0"), warnings.toString());
    }

    @Test
    void resultsSurviveTheFileAndOtherKeysAreIgnored(@TempDir Path cache) throws IOException {
        Path file = cache.resolve("sub").resolve("device.tsv");
        SelfTestStore.Key key = new SelfTestStore.Key("Device\twith tab", "1.0\n", "abc");
        VariantResult failed = new VariantResult("flash_tiled", "flash prefill", VariantResult.Status.FAILED, "B=1 H=2",
                Double.POSITIVE_INFINITY, Double.NaN, "atol 2.0e-05, rtol 1.0e-04", 12.34, "line one\nline\ttwo");
        VariantResult notRun = new VariantResult("flash_dsplit", "flash prefill", VariantResult.Status.NOT_RUN, "", Double.NaN,
                Double.NaN, "atol 2.0e-05, rtol 1.0e-04", 0.5, "the op runs flash_tiled");
        new SelfTestStore(file, key).save(List.of(failed, notRun));
        Map<String, VariantResult> back = new SelfTestStore(file, key).load();
        assertEquals(List.of("flash_tiled", "flash_dsplit"), List.copyOf(back.keySet()));
        VariantResult f = back.get("flash_tiled");
        assertEquals(VariantResult.Status.FAILED, f.status());
        assertEquals(Double.POSITIVE_INFINITY, f.maxAbsError());
        assertTrue(Double.isNaN(f.nmse()));
        assertEquals(12.3, f.millis(), 1e-9);
        assertEquals("line one line two", f.detail(), "one line per variant");
        assertEquals(VariantResult.Status.NOT_RUN, back.get("flash_dsplit").status());
        assertEquals(Map.of(), new SelfTestStore(file, new SelfTestStore.Key(key.device(), key.driver(), "abd")).load());
        assertEquals(Map.of(), new SelfTestStore(cache.resolve("absent.tsv"), key).load());
    }

    @Test
    void theKernelSourcesHashCoversEverySourceAndHeader() {
        String current = KernelSourcesHash.current();
        assertTrue(current.matches("[0-9a-f]{64}"), current);
        assertEquals(current, KernelSourcesHash.current());
        Map<String, byte[]> a = Map.of("linear.cl", new byte[] {1, 2}, "weights.h", new byte[] {3});
        assertEquals(KernelSourcesHash.of(a), KernelSourcesHash.of(Map.of("weights.h", new byte[] {3}, "linear.cl", new byte[] {1, 2})));
        assertNotEquals(KernelSourcesHash.of(a), KernelSourcesHash.of(Map.of("linear.cl", new byte[] {1, 2}, "weights.h", new byte[] {4})));
        assertNotEquals(KernelSourcesHash.of(a), KernelSourcesHash.of(Map.of("linear.cl", new byte[] {1, 2})));
        assertNotEquals(KernelSourcesHash.of(Map.of("a.cl", new byte[] {1}, "b.h", new byte[] {2})),
                KernelSourcesHash.of(Map.of("a.cl", new byte[] {1, 2}, "b.h", new byte[] {})), "file boundaries count");
    }
}
