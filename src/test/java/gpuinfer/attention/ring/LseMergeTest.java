package gpuinfer.attention.ring;

import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionShape;
import gpuinfer.attention.CpuAttention;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.tensor.RandomTensors;
import gpuinfer.testing.NoLeaks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The log-sum-exp merge's CPU reference against whole attention, and on rows that see no key. */
@ExtendWith(NoLeaks.class)
class LseMergeTest {
    /** Attention over keys [0, 70) merged with attention over [70, 150) equals attention over all 150 keys. */
    @Test
    void referenceMergesTwoKeyRangesIntoTheWhole() {
        int b = 1, h = 2, sq = 5, d = 8;
        float[] q = RandomTensors.gaussian(3, 0, b, h, sq, d).data();
        float[] k = RandomTensors.gaussian(3, 1, b, h, 150, d).data();
        float[] v = RandomTensors.gaussian(3, 2, b, h, 150, d).data();
        float scale = AttentionProblem.defaultScale(d);
        float[] wantOut = new float[b * h * sq * d];
        float[] wantLse = new float[b * h * sq];
        CpuAttention.forward(wantOut, wantLse, q, k, v, new AttentionProblem(new AttentionShape(b, h, h, sq, 150, d), false, scale));
        float[] out = new float[wantOut.length];
        float[] lse = new float[wantLse.length];
        Arrays.fill(lse, Float.NEGATIVE_INFINITY);
        int[][] ranges = {{0, 70}, {70, 150}};
        for (int[] range : ranges) {
            int n = range[1] - range[0];
            float[] kp = new float[b * h * n * d];
            float[] vp = new float[b * h * n * d];
            for (int o = 0; o < b * h; o++) {
                System.arraycopy(k, (o * 150 + range[0]) * d, kp, o * n * d, n * d);
                System.arraycopy(v, (o * 150 + range[0]) * d, vp, o * n * d, n * d);
            }
            float[] partOut = new float[out.length];
            float[] partLse = new float[lse.length];
            CpuAttention.forward(partOut, partLse, q, kp, vp, new AttentionProblem(new AttentionShape(b, h, h, sq, n, d), false, scale));
            LseMerge.reference(out, lse, partOut, partLse, d);
        }
        assertTrue(Validate.compare("out", out, wantOut, Tolerance.FP32_ATTENTION).passed());
        assertTrue(Validate.compare("lse", lse, wantLse, Tolerance.FP32_ATTENTION).passed());
    }

    @Test
    void referenceHandlesRowsWithoutKeys() {
        float ninf = Float.NEGATIVE_INFINITY;
        // row 0: running saw nothing; row 1: part saw nothing; row 2: neither; row 3: lse differ by 200
        float[] out = {0, 0, 1, 2, 0, 0, 5, 6};
        float[] lse = {ninf, 0.5f, ninf, 300f};
        float[] partOut = {3, 4, 9, 9, 9, 9, 7, 8};
        float[] partLse = {1.5f, ninf, ninf, 100f};
        LseMerge.reference(out, lse, partOut, partLse, 2);
        assertEquals(Arrays.toString(new float[] {3, 4, 1, 2, 0, 0, 5, 6}), Arrays.toString(out));
        assertEquals(Arrays.toString(new float[] {1.5f, 0.5f, ninf, 300f}), Arrays.toString(lse));
    }
}
