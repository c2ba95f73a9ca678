package gpuinfer.profile;

import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClKernel;
import gpuinfer.cl.ClProgram;
import gpuinfer.cl.KernelSource;
import gpuinfer.tensor.RandomTensors;
import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * kernels/peaks.cl against its CPU reference: the ceilings a profile reports are only worth something if the
 * kernels that measure them compute what they claim (an FMA chain the compiler folded away would report any rate).
 */
@ExtendWith(NoLeaks.class)
class PeakKernelsTest {
    /** float32 chains against double ones: each of `iterations` steps may round by half an ulp of ~8. */
    private static final Tolerance FMA_CHAINS = new Tolerance(1e-4, 1e-5);

    @ParameterizedTest(name = "{0} VEC={1} WG={2} groups={3} iterations={4}")
    @CsvSource({"lwjgl,8,64,3,2048", "lwjgl,4,16,1,1", "lwjgl,16,8,5,0", "lwjgl,1,1,7,33", "jocl,8,64,2,100"})
    void fmaChainsMatchTheirReference(String binding, int vec, int wg, int groups, int iterations) {
        int items = wg * groups;
        float a = 0.999f;
        float b = 0.001f;
        try (ClContext context = OpenClTestSupport.context(binding)) {
            ClProgram program = context.program(KernelSource.load("peaks.cl"), "-DVEC=" + vec + " -DWG=" + wg);
            try (ClKernel fma = program.kernel("peak_fma");
                 ClBuffer out = context.createBuffer(4L * items * vec, "out [items * VEC]")) {
                fma.arg(0, out).arg(1, a).arg(2, b).arg(3, iterations);
                context.queue().launch(fma, new long[] {items}, new long[] {wg});
                float[] got = new float[items * vec];
                context.queue().read(out, got);
                Comparison c = Validate.compare("peak_fma", got, DevicePeaks.fmaReference(items, vec, a, b, iterations),
                        FMA_CHAINS);
                assertTrue(c.passed(), c::report);
            }
        }
    }

    @ParameterizedTest(name = "{0} VEC={1} WG={2} groups={3}")
    @CsvSource({"lwjgl,8,64,4", "lwjgl,1,1,13", "lwjgl,16,32,3", "jocl,4,64,2"})
    void copyCopiesEveryValueExactly(String binding, int vec, int wg, int groups) {
        int n = wg * groups * vec;
        float[] x = RandomTensors.gaussian(9, 0, n).data();
        try (ClContext context = OpenClTestSupport.context(binding)) {
            ClProgram program = context.program(KernelSource.load("peaks.cl"), "-DVEC=" + vec + " -DWG=" + wg);
            try (ClKernel copy = program.kernel("peak_copy");
                 ClBuffer in = context.createBuffer(x, "x [n]");
                 ClBuffer out = context.createBuffer(4L * n, "y [n]")) {
                copy.arg(0, in).arg(1, out);
                context.queue().launch(copy, new long[] {(long) wg * groups}, new long[] {wg});
                float[] y = new float[n];
                context.queue().read(out, y);
                assertArrayEquals(x, y, "peak_copy: y = x bit for bit");
            }
        }
    }
}
