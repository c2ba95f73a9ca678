package gpuinfer.cl;

import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The OpenCL layer itself, on both bindings: transfers, launches, profiling events, releases. */
@ExtendWith(NoLeaks.class)
class ClLayerTest {
    static final KernelSource ADD = KernelSource.of("add.cl", """
            __kernel void add(__global float* x, const float y, const int n) {
                const int i = get_global_id(0);
                if (i < n) x[i] += y;
            }
            """);

    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void transfersLargerThanTheStagingBufferRoundTrip(String binding) {
        try (ClContext context = OpenClTestSupport.context(binding)) {
            float[] data = new float[(16 << 20) / 4 * 2 + 12345];
            for (int i = 0; i < data.length; i++) {
                data[i] = i * 0.5f;
            }
            try (ClBuffer buffer = context.createBuffer(data, "data")) {
                float[] back = new float[data.length];
                context.queue().read(buffer, back);
                assertArrayEquals(data, back);
                float[] middle = new float[10];
                context.queue().read(buffer, 4_000_000, middle, 0, 10);
                assertEquals(2_000_000f, middle[0]);
                context.queue().zero(buffer);
                context.queue().read(buffer, back);
                for (float x : back) {
                    assertEquals(0f, x);
                }
            }
            assertEquals(0, context.allocatedBytes());
            assertTrue(context.peakAllocatedBytes() >= 4L * data.length);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void recordedLaunchesReportDeviceTimesAndReleaseTheirEvents(String binding) {
        try (ClContext context = OpenClTestSupport.context(binding);
             ClBuffer x = context.createBuffer(new float[1000], "x [1000]");
             ClKernel add = context.program(ADD, "").kernel("add")) {
            ClQueue queue = context.queue();
            int liveBefore = LiveObjects.count();
            queue.startRecording();
            for (int i = 0; i < 5; i++) {
                add.arg(0, x).arg(1, 1.5f).arg(2, 1000);
                queue.launch(add, new long[] {1024}, new long[] {64});
            }
            assertEquals(liveBefore + 5, LiveObjects.count(), "one event per recorded launch");
            List<KernelTiming> timings = queue.stopRecording();
            assertEquals(liveBefore, LiveObjects.count(), "events released");
            assertEquals(5, timings.size());
            for (KernelTiming t : timings) {
                assertEquals("add", t.kernel());
                assertTrue(t.queuedNs() <= t.submitNs() && t.submitNs() <= t.startNs() && t.startNs() <= t.endNs(), t.toString());
                assertArrayEquals(new long[] {1024}, t.global());
            }
            float[] result = new float[1000];
            queue.read(x, result);
            assertEquals(7.5f, result[999]);
            queue.launch(add, new long[] {1024}, null);
            queue.finish();
            assertEquals(liveBefore, LiveObjects.count(), "an unrecorded launch keeps no event");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void errorsNameTheKernelTheShapeAndTheStatus(String binding) {
        try (ClContext context = OpenClTestSupport.context(binding);
             ClKernel add = context.program(ADD, "").kernel("add")) {
            ClException missing = assertThrows(ClException.class, () -> context.program(ADD, "").kernel("nope"));
            assertTrue(missing.getMessage().contains("CL_INVALID_KERNEL_NAME"), missing.getMessage());
            // Arguments not set: the driver refuses the launch, and the message says which kernel and sizes.
            ClException launch = assertThrows(ClException.class, () -> context.queue().launch(add, new long[] {64}, new long[] {64}));
            assertTrue(launch.getMessage().contains("'add'") && launch.getMessage().contains("[64]"), launch.getMessage());
            assertTrue(launch.getMessage().contains("CL_INVALID_KERNEL_ARGS"), launch.getMessage());
            assertThrows(IllegalArgumentException.class, () -> context.queue().launch(add, new long[] {100}, new long[] {64}));
        }
    }

    static final KernelSource LOCAL = KernelSource.of("local.cl", """
            __kernel void scratch(__global float* x, __local float* tmp) {
                tmp[get_local_id(0)] = x[get_global_id(0)];
                barrier(CLK_LOCAL_MEM_FENCE);
                x[get_global_id(0)] = tmp[get_local_size(0) - 1 - get_local_id(0)];
            }
            """);

    /**
     * PoCL 3.1 aborts the whole process on a launch whose local memory exceeds the device's: gpu-infer refuses the
     * launch first, with CL_OUT_OF_RESOURCES, the kernel, its options and the sizes.
     */
    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void copiesBetweenBuffersOnTheDeviceAndRefusesAnotherContextsBuffer(String binding) {
        try (ClContext context = OpenClTestSupport.context(binding);
             ClContext other = OpenClTestSupport.context(binding);
             ClBuffer a = context.createBuffer(new float[] {1, 2, 3, 4, 5, 6}, "a");
             ClBuffer b = context.createBuffer(new float[] {0, 0, 0, 0, 0, 0}, "b");
             ClBuffer elsewhere = other.createBuffer(new float[] {0, 0}, "elsewhere")) {
            context.queue().copy(a, 4, b, 8, 12); // a[1..3] -> b[2..4]
            float[] back = new float[6];
            context.queue().read(b, back);
            assertArrayEquals(new float[] {0, 0, 2, 3, 4, 0}, back);
            assertThrows(IllegalArgumentException.class, () -> context.queue().copy(a, 0, elsewhere, 0, 8));
            assertThrows(IllegalArgumentException.class, () -> context.queue().copy(a, 16, b, 0, 12), "past the end of a");
        }
    }

    /**
     * One queue waits for another through a marker, without the host waiting: queue a's copy is held back (batching)
     * until a.finish(); queue b's copy of its result, enqueued before that, still reads the copied values. The copy's
     * event carries its device times.
     */
    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void aQueueWaitsForAnotherQueuesMarkerAndACopyReportsItsEvent(String binding) {
        try (ClContext context = OpenClTestSupport.context(binding);
             ClQueue a = context.createQueue("a");
             ClQueue b = context.createQueue("b");
             ClBuffer src = context.createBuffer(new float[] {1, 2, 3, 4}, "src");
             ClBuffer mid = context.createBuffer(new float[] {0, 0, 0, 0}, "mid");
             ClBuffer dst = context.createBuffer(new float[] {0, 0, 0, 0}, "dst")) {
            a.setBatching(true);
            try (ClEvent copied = a.copyWithEvent(src, 0, mid, 0, 16, "src -> mid");
                 ClEvent done = a.marker("a done")) {
                b.waitFor(done);
                b.copy(mid, 0, dst, 0, 16);
                a.finish();
                b.finish();
                assertTrue(copied.endNs() >= copied.startNs() && copied.startNs() > 0,
                        copied.startNs() + " .. " + copied.endNs());
            }
            a.setBatching(false);
            float[] back = new float[4];
            b.read(dst, back);
            assertArrayEquals(new float[] {1, 2, 3, 4}, back);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void aLaunchNeedingMoreLocalMemoryThanTheDeviceHasIsRefusedNotCrashed(String binding) {
        try (ClContext context = OpenClTestSupport.context(binding);
             ClBuffer x = context.createBuffer(new float[] {1, 2, 3, 4}, "x");
             ClKernel k = context.program(LOCAL, "").kernel("scratch")) {
            long tooMuch = context.device().info().localMemBytes() + 4;
            k.arg(0, x).argLocal(1, tooMuch);
            ClException e = assertThrows(ClException.class, () -> context.queue().launch(k, new long[] {4}, new long[] {4}));
            assertTrue(e.getMessage().contains("'scratch'") && e.getMessage().contains("CL_OUT_OF_RESOURCES")
                    && e.getMessage().contains("local memory"), e.getMessage());
            // with a size that fits, the same kernel runs
            k.argLocal(1, 16);
            context.queue().launch(k, new long[] {4}, new long[] {4});
            float[] back = new float[4];
            context.queue().read(x, back);
            assertArrayEquals(new float[] {4, 3, 2, 1}, back);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void aBufferLargerThanTheDeviceAllowsIsRefusedWithTheSizesAndTheWayOut(String binding) {
        try (ClContext context = OpenClTestSupport.context(binding)) {
            long tooLarge = context.device().info().maxAllocBytes() + 1;
            DeviceMemoryException e = assertThrows(DeviceMemoryException.class, () -> context.createBuffer(tooLarge, "huge"));
            assertTrue(e.getMessage().contains("CL_DEVICE_MAX_MEM_ALLOC_SIZE") && e.getMessage().contains("--impl"), e.getMessage());
            assertEquals(0, context.allocatedBytes());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void closingIsIdempotentAndUseAfterCloseIsCaught(String binding) {
        ClContext context = OpenClTestSupport.context(binding);
        ClBuffer buffer = context.createBuffer(64, "x");
        buffer.close();
        buffer.close();
        assertTrue(buffer.isClosed());
        context.close();
        context.close();
        assertThrows(IllegalStateException.class, () -> context.createBuffer(4, "late"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void devicesReportTheirProperties(String binding) {
        ClDevice device = OpenClTestSupport.device(binding);
        DeviceInfo info = device.info();
        assertFalse(info.name().isBlank());
        assertTrue(info.computeUnits() > 0 && info.maxWorkGroupSize() > 0 && info.globalMemBytes() > 0, info.toString());
        assertTrue(info.maxAllocBytes() <= info.globalMemBytes());
        assertTrue(info.openclVersion().startsWith("OpenCL"), info.openclVersion());
        assertEquals(3, info.maxWorkItemSizes().length);
    }

    @Test
    void bothBindingsSeeTheSameDevices() {
        OpenClTestSupport.device("lwjgl");
        List<String> lwjgl = ClRuntime.get("lwjgl").devices().stream().map(ClDevice::describe).toList();
        List<String> jocl = ClRuntime.get("jocl").devices().stream().map(ClDevice::describe).toList();
        assertEquals(lwjgl, jocl);
    }
}
