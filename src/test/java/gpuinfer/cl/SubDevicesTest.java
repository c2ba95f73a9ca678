package gpuinfer.cl;

import gpuinfer.InputException;
import gpuinfer.attention.AttentionImpls;
import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionResult;
import gpuinfer.attention.AttentionShape;
import gpuinfer.attention.ClAttention;
import gpuinfer.attention.CpuAttention;
import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.tensor.RandomTensors;
import gpuinfer.tensor.Tensor;
import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Sub-devices (clCreateSubDevices) on both bindings: each runs kernels, they are released on close. */
@ExtendWith(NoLeaks.class)
class SubDevicesTest {
    /** The test device, when it can be split in two; else the test is skipped loudly (and fails under CI=true). */
    private static ClDevice splittableDevice(String binding) {
        ClDevice device = OpenClTestSupport.device(binding);
        if (device.maxSubDevices() < 2 || device.info().computeUnits() < 2) {
            String message = "SKIPPED: '" + device.name() + "' cannot be split into 2 sub-devices (max "
                    + device.maxSubDevices() + ", " + device.info().computeUnits() + " compute units, types "
                    + device.partitionTypes() + ")";
            System.err.println(message);
            if (OpenClTestSupport.inCi()) {
                Assertions.fail("CI=true: " + message);
            }
            Assumptions.abort(message);
        }
        return device;
    }

    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void twoSubDevicesEachRunKernelsAndFlashAttention(String binding) {
        ClDevice device = splittableDevice(binding);
        int liveBefore = LiveObjects.count();
        try (SubDevices halves = device.partitionEqually(2)) {
            assertEquals(2, halves.size());
            assertEquals(liveBefore + 2, LiveObjects.count(), "each sub-device is counted as a live object");
            assertEquals(device.info().computeUnits(), halves.get(0).info().computeUnits() + halves.get(1).info().computeUnits());
            assertEquals(device.info().computeUnits() / 2, halves.get(0).info().computeUnits(), "partitioned equally");
            for (int s = 0; s < 2; s++) {
                ClDevice sub = halves.get(s);
                assertTrue(sub.isSubDevice());
                assertEquals(device, sub.parent());
                assertEquals(device.id() + "." + s, sub.id());
                assertEquals(device.name(), sub.name());
                try (ClContext context = ClRuntime.get(binding).createContext(sub, ProgramCache.defaultCache())) {
                    try (ClBuffer x = context.createBuffer(new float[1000], "x [1000]");
                         ClKernel add = context.program(ClLayerTest.ADD, "").kernel("add")) {
                        add.arg(0, x).arg(1, 1.5f + s).arg(2, 1000);
                        context.queue().launch(add, new long[] {1024}, new long[] {64});
                        float[] back = new float[1000];
                        context.queue().read(x, back);
                        for (float value : back) {
                            assertEquals(1.5f + s, value);
                        }
                    }
                    checkFlash(context, new AttentionShape(1, 2, 2, 70, 90, 32), 40 + s);
                }
            }
        }
        assertEquals(liveBefore, LiveObjects.count(), "closing released the sub-devices");
    }

    private static void checkFlash(ClContext context, AttentionShape shape, long seed) {
        AttentionProblem problem = AttentionProblem.of(shape, true);
        Tensor q = RandomTensors.gaussian(seed, 0, shape.queryShape());
        Tensor k = RandomTensors.gaussian(seed, 1, shape.keyValueShape());
        Tensor v = RandomTensors.gaussian(seed, 2, shape.keyValueShape());
        try (ClAttention flash = AttentionImpls.create("flash", context)) {
            AttentionResult got = flash.run(problem, q, k, v);
            AttentionResult want = new CpuAttention().run(problem, q, k, v);
            Comparison out = Validate.compare("out", got.out().data(), want.out().data(), Tolerance.FP32_ATTENTION);
            assertTrue(out.passed(), () -> context.device().describe() + "\n" + out.report());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void partitionByCountsGivesTheCountsAsked(String binding) {
        ClDevice device = splittableDevice(binding);
        Assumptions.assumeTrue(device.partitionTypes().contains("by counts"), "device cannot partition by counts");
        int units = device.info().computeUnits();
        try (SubDevices parts = device.partitionByCounts(1, units - 1)) {
            assertEquals(2, parts.size());
            assertEquals(1, parts.get(0).info().computeUnits());
            assertEquals(units - 1, parts.get(1).info().computeUnits());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void moreSubDevicesThanAllowedIsAClearError(String binding) {
        ClDevice device = splittableDevice(binding);
        int allowed = Math.min(device.maxSubDevices(), device.info().computeUnits());
        InputException e = assertThrows(InputException.class, () -> device.partitionEqually(allowed + 1));
        assertTrue(e.getMessage().contains(device.name()), e.getMessage());
        assertTrue(e.getMessage().contains("Use at most " + allowed + " ranks"), e.getMessage());
        assertTrue(e.getMessage().contains("CL_DEVICE_PARTITION_MAX_SUB_DEVICES " + device.maxSubDevices()), e.getMessage());
        assertThrows(InputException.class, () -> device.partitionEqually(0));
    }

    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void aReleasedSubDeviceCannotMakeContextsAndCloseTwiceIsHarmless(String binding) {
        ClDevice device = splittableDevice(binding);
        SubDevices halves = device.partitionEqually(2);
        ClDevice first = halves.get(0);
        halves.close();
        halves.close();
        assertTrue(first.isReleased());
        assertFalse(device.isReleased());
        assertThrows(IllegalStateException.class, () -> ClRuntime.get(binding).createContext(first, ProgramCache.disabled()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void programCacheKeysDifferBetweenADeviceAndItsSubDevices(String binding) {
        ClDevice device = splittableDevice(binding);
        try (SubDevices halves = device.partitionEqually(2)) {
            String root = ProgramCache.key(device, ClLayerTest.ADD, "");
            String sub = ProgramCache.key(halves.get(0), ClLayerTest.ADD, "");
            assertFalse(root.equals(sub), "a binary built for the whole device is not reused on a sub-device");
            assertEquals(sub, ProgramCache.key(halves.get(1), ClLayerTest.ADD, ""), "equal halves share binaries");
        }
    }

}
