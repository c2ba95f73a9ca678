package gpuinfer.ops;

import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClQueue;
import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The transformer kernels are built with the work-group sizes they prefer and rebuilt with smaller ones when a
 * kernel's own limit on the device (CL_KERNEL_WORK_GROUP_SIZE) refuses them, instead of failing at the first launch.
 */
@ExtendWith(NoLeaks.class)
class TransformerKernelsLimitsTest {
    @Test
    void groupsLargerThanAKernelAllowsAreHalvedUntilTheyFit() {
        try (ClContext context = OpenClTestSupport.context("lwjgl")) {
            long deviceMax = context.device().info().maxWorkGroupSize();
            int tooLarge = (int) Math.min(1 << 20, Long.highestOneBit(deviceMax) * 4);
            try (TransformerKernels kernels = new TransformerKernels(context, tooLarge, tooLarge)) {
                assertTrue(kernels.lnGroup < tooLarge && kernels.copyGroup < tooLarge,
                        "ln " + kernels.lnGroup + " copy " + kernels.copyGroup);
                assertTrue(kernels.layernorm.fits(kernels.lnGroup) && kernels.rmsnorm.fits(kernels.lnGroup));
                assertTrue(kernels.swiglu.fits(kernels.copyGroup) && kernels.heads.fits(kernels.copyGroup));
                assertEquals(kernels.lnGroup, Integer.highestOneBit(kernels.lnGroup), "halved from a power of two");
                // the rebuilt kernels compute: rmsnorm rows against the reference
                int R = 3;
                int C = 1000;
                float[] x = new float[R * C];
                float[] weight = new float[C];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) Math.sin(i * 0.37) * 3;
                }
                for (int c = 0; c < C; c++) {
                    weight[c] = 0.5f + c % 7 * 0.1f;
                }
                float[] want = new float[R * C];
                RmsNorm.reference(want, x, weight, R, C, 1e-5f);
                ClQueue queue = context.queue();
                try (ClBuffer dx = context.createBuffer(x, "x");
                     ClBuffer dw = context.createBuffer(weight, "weight");
                     ClBuffer dy = context.createBuffer(4L * R * C, "y")) {
                    RmsNorm.enqueue(kernels, queue, dy, dx, dw, R, C, 1e-5f);
                    float[] got = new float[R * C];
                    queue.read(dy, got);
                    Comparison c = Validate.compare("rmsnorm with a halved group", got, want, new Tolerance(1e-6, 1e-5));
                    assertTrue(c.passed(), c.toString());
                }
            }
        }
    }
}
