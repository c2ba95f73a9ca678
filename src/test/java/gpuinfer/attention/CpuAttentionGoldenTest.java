package gpuinfer.attention;

import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.tensor.Tensor;
import gpuinfer.testing.Golden;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Java CPU reference against NumPy's float64 attention (tools/golden_attention.py): guards shared mistakes. */
class CpuAttentionGoldenTest {
    static List<Golden> cases() {
        return Golden.attentionCases();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesNumpy(Golden golden) {
        AttentionProblem problem = golden.problem();
        Tensor out = Tensor.zeros(problem.shape().outputShape());
        float[] lse = new float[problem.shape().batch() * problem.shape().heads() * problem.shape().queryLen()];
        CpuAttention.forward(out.data(), lse, golden.q().data(), golden.k().data(), golden.v().data(), problem);

        Comparison outCheck = Validate.compare("out", out.data(), golden.out().data(), Tolerance.FP32_GOLDEN);
        assertTrue(outCheck.passed(), outCheck::report);
        Comparison lseCheck = Validate.compare("lse", lse, golden.lse().data(), Tolerance.FP32_GOLDEN);
        assertTrue(lseCheck.passed(), lseCheck::report);
    }

    @org.junit.jupiter.api.Test
    void goldenSetCoversTheAwkwardCases() {
        List<String> names = cases().stream().map(Golden::name).toList();
        assertTrue(names.containsAll(List.of("single", "masked_rows", "large_logits", "gqa_causal_scale", "decode_cache")),
                "golden cases: " + names);
        Golden masked = cases().stream().filter(g -> g.name().equals("masked_rows")).findFirst().orElseThrow();
        assertEquals(2 * 5, masked.problem().rowsWithoutKeys(), "Sq=9, Sk=4 causal: rows 0..4 of both heads see no key");
    }
}
