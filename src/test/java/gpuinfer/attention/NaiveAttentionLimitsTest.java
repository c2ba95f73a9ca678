package gpuinfer.attention;

import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.cl.ClContext;
import gpuinfer.tensor.RandomTensors;
import gpuinfer.tensor.Tensor;
import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Naive attention's tiles shrink when a kernel's own work-group limit refuses them, and the result stays right. */
@ExtendWith(NoLeaks.class)
class NaiveAttentionLimitsTest {
    @Test
    void tilesLargerThanAKernelAllowsAreHalvedUntilTheyFit() {
        try (ClContext context = OpenClTestSupport.context("lwjgl")) {
            long deviceMax = context.device().info().maxWorkGroupSize();
            int tooLargeTile = (int) Math.max(2, Long.highestOneBit((long) Math.sqrt(deviceMax)) * 4); // tile² > the limit
            int tooLargeGroup = (int) Math.min(1 << 20, Long.highestOneBit(deviceMax) * 4);
            try (NaiveAttention op = new NaiveAttention(context, tooLargeTile, tooLargeGroup)) {
                String fitted = op.toString(); // "naive ([T, T] tiles)"
                int tile = Integer.parseInt(fitted.substring(fitted.indexOf('[') + 1, fitted.indexOf(',')));
                assertTrue(tile < tooLargeTile && (long) tile * tile <= deviceMax, fitted);
                AttentionShape shape = new AttentionShape(1, 2, 1, 37, 70, 16);
                AttentionProblem problem = AttentionProblem.of(shape, true);
                Tensor q = RandomTensors.gaussian(5, 0, shape.queryShape());
                Tensor k = RandomTensors.gaussian(5, 1, shape.keyValueShape());
                Tensor v = RandomTensors.gaussian(5, 2, shape.keyValueShape());
                AttentionResult got = op.run(problem, q, k, v);
                AttentionResult want = new CpuAttention().run(problem, q, k, v);
                Comparison out = Validate.compare("out", got.out().data(), want.out().data(), Tolerance.FP32_ATTENTION);
                assertTrue(out.passed(), out::report);
            }
        }
    }
}
