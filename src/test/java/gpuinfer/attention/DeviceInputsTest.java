package gpuinfer.attention;

import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.cl.ClContext;
import gpuinfer.tensor.RandomTensors;
import gpuinfer.testing.NoLeaksInClass;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The inputs that benchmarks and {@code profile attention} enqueue again and again: with key padding the kernels must
 * see the problem's key lengths (a profile once ran unpadded attention while counting the padded work).
 */
@ExtendWith(NoLeaksInClass.class)
class DeviceInputsTest {
    @Test
    void theKeyLengthsOfAPaddedProblemReachTheKernel() {
        AttentionShape s = new AttentionShape(2, 2, 2, 5, 9, 16);
        AttentionProblem padded = AttentionProblem.of(s, false).withKvLens(new int[] {3, 9});
        float[] want = new float[(int) s.queryElements()];
        float[] wantLse = new float[s.batch() * s.heads() * s.queryLen()];
        CpuAttention.forward(want, wantLse, RandomTensors.gaussian(4, 0, s.queryShape()).data(),
                RandomTensors.gaussian(4, 1, s.keyValueShape()).data(), RandomTensors.gaussian(4, 2, s.keyValueShape()).data(),
                padded);
        try (ClContext context = OpenClTestSupport.context(OpenClTestSupport.bindings().get(0));
             FlashAttention flash = new FlashAttention(context, gpuinfer.variants.KernelSettings.defaults(), Map.of());
             DeviceInputs inputs = new DeviceInputs(context, padded, 4)) {
            flash.enqueue(context.queue(), padded, inputs.buffers());
            float[] got = new float[want.length];
            context.queue().read(inputs.buffers().out(), got);
            Comparison c = Validate.compare("out with kv_lens 3, 9", got, want, new Tolerance(1e-5, 1e-4));
            assertTrue(c.passed(), c::report);
        }
    }
}
