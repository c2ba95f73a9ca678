package gpuinfer.cl;

import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A kernel's own limits (clGetKernelWorkGroupInfo), and launches beyond them refused before they are enqueued. */
@ExtendWith(NoLeaks.class)
class KernelLimitsTest {
    static final KernelSource TILE = KernelSource.of("tile.cl", """
            #ifndef WG
            #define WG 8
            #endif
            __kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
            void reverse_tile(__global float* x) {
                __local float tile[WG];
                tile[get_local_id(0)] = x[get_global_id(0)];
                barrier(CLK_LOCAL_MEM_FENCE);
                x[get_global_id(0)] = tile[WG - 1 - get_local_id(0)];
            }
            """);

    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void limitsAreReadOnBothBindings(String binding) {
        try (ClContext context = OpenClTestSupport.context(binding);
             ClKernel add = context.program(ClLayerTest.ADD, "").kernel("add");
             ClKernel tile = context.program(TILE, "-DWG=8").kernel("reverse_tile")) {
            ClKernel.Limits a = add.limits();
            assertTrue(a.maxWorkGroupSize() > 0 && a.maxWorkGroupSize() <= context.device().info().maxWorkGroupSize(), a.toString());
            assertTrue(a.preferredWorkGroupSizeMultiple() > 0, a.toString());
            assertTrue(a.privateMemBytes() >= 0 && a.localMemBytes() >= 0, a.toString());
            assertFalse(a.hasRequiredWorkGroupSize(), a.toString());
            assertEquals(a.maxWorkGroupSize(), add.maxWorkGroupSize());

            ClKernel.Limits t = tile.limits();
            assertArrayEquals(new long[] {8, 1, 1}, t.requiredWorkGroupSize(), t.toString());
            assertTrue(t.localMemBytes() >= 8 * 4, "the __local tile: " + t);
            assertTrue(tile.fits(8) && !tile.fits(4) && !tile.fits(16), t.toString());
            assertTrue(add.fits(1) && add.fits(a.maxWorkGroupSize()) && !add.fits(a.maxWorkGroupSize() * 2), a.toString());
            assertTrue(add.fits((long[]) null), "no local size: the driver chooses");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void aWorkGroupLargerThanTheKernelAllowsIsRefusedWithBothSizes(String binding) {
        try (ClContext context = OpenClTestSupport.context(binding);
             ClBuffer x = context.createBuffer(new float[1 << 16], "x [65536]");
             ClKernel add = context.program(ClLayerTest.ADD, "-DUNUSED=1").kernel("add")) {
            add.arg(0, x).arg(1, 1f).arg(2, 1 << 16);
            long allowed = add.limits().maxWorkGroupSize();
            long tooMany = allowed * 2;
            ClException e = assertThrows(ClException.class,
                    () -> context.queue().launch(add, new long[] {tooMany * 2}, new long[] {tooMany}));
            String m = e.getMessage();
            assertEquals(-54, e.status());
            assertTrue(m.contains("'add'") && m.contains("-DUNUSED=1") && m.contains("CL_INVALID_WORK_GROUP_SIZE"), m);
            assertTrue(m.contains("[" + tooMany + "]") && m.contains("at most " + allowed + " work-items"), m);
            assertTrue(m.contains("smaller work-group") && m.contains("fits"), "says what to do: " + m);
            // the largest that fits runs
            context.queue().launch(add, new long[] {allowed}, new long[] {allowed});
            context.queue().finish();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void aKernelWithARequiredWorkGroupSizeRunsOnlyWithIt(String binding) {
        try (ClContext context = OpenClTestSupport.context(binding);
             ClBuffer x = context.createBuffer(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, "x [8]");
             ClKernel tile = context.program(TILE, "-DWG=4").kernel("reverse_tile")) {
            tile.arg(0, x);
            ClException e = assertThrows(ClException.class, () -> context.queue().launch(tile, new long[] {8}, new long[] {8}));
            assertTrue(e.getMessage().contains("reqd_work_group_size[4, 1, 1]") && e.getMessage().contains("-DWG=4"),
                    e.getMessage());
            context.queue().launch(tile, new long[] {8}, new long[] {4});
            float[] back = new float[8];
            context.queue().read(x, back);
            assertArrayEquals(new float[] {4, 3, 2, 1, 8, 7, 6, 5}, back);
        }
    }
}
