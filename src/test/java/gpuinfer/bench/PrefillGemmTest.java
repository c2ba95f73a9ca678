package gpuinfer.bench;

import gpuinfer.model.ModelConfig;
import gpuinfer.tensor.RandomTensors;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The prefill GEMM shapes of the CLBlast anchor, and the sampled check that keeps a wrong product out of its table. */
class PrefillGemmTest {
    @Test
    void gpt2HasAFusedQkvProjectionAndTheHeadOverEveryRow() {
        ModelConfig gpt2 = ModelConfig.gpt2(12, 12, 768, 1024, 50257, 1e-5f, true, 50256, 3072, true);
        List<PrefillGemm> gemms = PrefillGemm.forModel(gpt2, true, 512);
        assertEquals(List.of(
                new PrefillGemm("q/k/v (fused)", 512, 2304, 768),
                new PrefillGemm("attention out", 512, 768, 768),
                new PrefillGemm("mlp up", 512, 3072, 768),
                new PrefillGemm("mlp down", 512, 768, 3072),
                new PrefillGemm("head (every row)", 512, 50257, 768)), gemms);
        assertEquals(2.0 * 512 * 2304 * 768, gemms.get(0).flops());
        assertEquals("512,2304,768", gemms.get(0).dims());
    }

    @Test
    void aLlamaHasSeparateProjectionsAndProductsOfOneShapeShareARow() {
        // 8 query heads over 2 kv heads of 32: q has 256 outputs, k and v 64 each; gate and up have one shape
        ModelConfig llama = new ModelConfig("llama", 2, 8, 2, 256, 32, 704, 512, 1000, ModelConfig.Norm.RMS_NORM, 1e-5f,
                ModelConfig.Mlp.SWIGLU, null, false, false, 2, (float) (1 / Math.sqrt(32)));
        assertEquals(List.of(
                new PrefillGemm("q, attention out", 64, 256, 256),
                new PrefillGemm("k, v", 64, 64, 256),
                new PrefillGemm("mlp gate, up", 64, 704, 256),
                new PrefillGemm("mlp down", 64, 256, 704),
                new PrefillGemm("head (every row)", 64, 1000, 256)), PrefillGemm.forModel(llama, false, 64));
    }

    @Test
    void theSampledCheckPassesAnExactProductAndCatchesATransposedOne() {
        int R = 37;
        int N = 53;
        int K = 300;
        float[] x = RandomTensors.gaussian(3, 0, R * K).data();
        float[] w = RandomTensors.gaussian(3, 1, N * K).data();
        float[] y = new float[R * N];
        // W used as [K, N] instead of [N, K]: the mistake a wrong transpose flag makes (same element count)
        float[] transposed = new float[R * N];
        for (int r = 0; r < R; r++) {
            for (int n = 0; n < N; n++) {
                float sum = 0;
                double wrong = 0;
                for (int k = 0; k < K; k++) {
                    sum += x[r * K + k] * w[n * K + k];
                    wrong += (double) x[r * K + k] * w[(k * N + n) % (N * K)];
                }
                y[r * N + n] = sum;
                transposed[r * N + n] = (float) wrong;
            }
        }
        double exact = PrefillGemm.worstError(x, w, y, R, N, K);
        assertTrue(exact < 1e-6, "float32 summation error " + exact);
        double wrong = PrefillGemm.worstError(x, w, transposed, R, N, K);
        assertTrue(wrong > 100 * PrefillGemm.ERROR_LIMIT, "a transposed product: " + wrong);
        float[] withNaN = new float[R * N];
        java.util.Arrays.fill(withNaN, Float.NaN);
        assertTrue(Double.isNaN(PrefillGemm.worstError(x, w, withNaN, R, N, K)), "NaN outputs must not pass");
    }
}
