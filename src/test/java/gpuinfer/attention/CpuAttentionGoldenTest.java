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

/**
 * The Java CPU reference against NumPy's float64 attention (tools/golden_attention.py): guards shared mistakes. The
 * cases include the default scale (meta.json leaves it out, the golden computes 1/√D itself) and key padding
 * (kv_lens); the same cases run on the OpenCL paths in {@link ClAttentionGoldenTest}.
 */
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
        assertTrue(names.containsAll(List.of("single", "masked_rows", "large_logits", "gqa_causal_scale", "decode_cache",
                "default_scale", "default_scale_cross", "kv_lens_causal_gqa", "kv_lens_cross_gqa", "kv_lens_decode")),
                "golden cases: " + names);
        Golden masked = golden("masked_rows");
        assertEquals(2 * 5, masked.problem().rowsWithoutKeys(), "Sq=9, Sk=4 causal: rows 0..4 of both heads see no key");
        // the default-scale cases leave the scale to the reader; the padding cases hold a length of 1, the full
        // length, both causal and not, grouped heads, and (decode) a batch entry that sees no key at all
        assertTrue(!golden("default_scale").scaleGiven() && !golden("default_scale_cross").scaleGiven());
        List<Golden> padded = cases().stream().filter(g -> g.problem().kvLens() != null).toList();
        assertEquals(3, padded.size(), () -> "padding cases: " + padded);
        for (Golden g : padded) {
            int[] lens = g.problem().kvLens();
            AttentionShape s = g.problem().shape();
            assertTrue(java.util.Arrays.stream(lens).anyMatch(l -> l == 1) && java.util.Arrays.stream(lens).anyMatch(l -> l == s.keyLen())
                    && s.heads() > s.kvHeads(), g.name() + " " + g.problem());
        }
        assertTrue(padded.stream().anyMatch(g -> g.problem().causal()) && padded.stream().anyMatch(g -> !g.problem().causal()));
        assertEquals(4, golden("kv_lens_decode").problem().rowsWithoutKeys(), "kv_lens 0: the one query row of batch 3 sees no key in its 4 heads");
    }

    /**
     * The default-scale goldens tell 1/√D from a near miss: the reference run with 1/√(D+1) or with a float32 scale
     * of 1/D does not match them (so a reader that picked another default would be caught).
     */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"default_scale", "default_scale_cross", "kv_lens_causal_gqa"})
    void defaultScaleGoldensRejectAnotherScale(String name) {
        Golden golden = golden(name);
        assertTrue(!golden.scaleGiven(), name + " should leave the scale to the reader");
        AttentionProblem p = golden.problem();
        assertEquals((float) (1 / Math.sqrt(p.shape().headDim())), p.scale(), 0f);
        int D = p.shape().headDim();
        for (float wrong : new float[] {(float) (1 / Math.sqrt(D + 1.0)), 1f / D}) {
            Comparison out = run(new AttentionProblem(p.shape(), p.causal(), wrong, p.kvLens()), golden);
            assertTrue(!out.passed(), "scale " + wrong + " should not match " + name);
        }
    }

    /** The padding goldens depend on their lengths: the reference without key padding does not match them. */
    @ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"kv_lens_causal_gqa", "kv_lens_cross_gqa", "kv_lens_decode"})
    void paddingGoldensRejectTheUnpaddedProblem(String name) {
        Golden golden = golden(name);
        AttentionProblem p = golden.problem();
        Comparison out = run(new AttentionProblem(p.shape(), p.causal(), p.scale(), null), golden);
        assertTrue(!out.passed(), name + " without kv_lens should not match");
    }

    private static Comparison run(AttentionProblem problem, Golden golden) {
        Tensor out = Tensor.zeros(problem.shape().outputShape());
        float[] lse = new float[problem.shape().batch() * problem.shape().heads() * problem.shape().queryLen()];
        CpuAttention.forward(out.data(), lse, golden.q().data(), golden.k().data(), golden.v().data(), problem);
        return Validate.compare("out", out.data(), golden.out().data(), Tolerance.FP32_GOLDEN);
    }

    static Golden golden(String name) {
        return cases().stream().filter(g -> g.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no golden case " + name + ": run /usr/bin/python3 tools/golden_attention.py"));
    }
}
