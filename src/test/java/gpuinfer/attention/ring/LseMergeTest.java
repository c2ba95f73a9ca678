package gpuinfer.attention.ring;

import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionShape;
import gpuinfer.attention.CpuAttention;
import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClQueue;
import gpuinfer.tensor.RandomTensors;
import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The log-sum-exp merge: its CPU reference against whole attention, and the kernel against the reference. */
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

    @Test
    void kernelMatchesReferenceIncludingInfinitiesAndLargeDifferences() {
        String binding = OpenClTestSupport.bindings().get(0);
        int rows = 131, d = 24;
        float[] out = RandomTensors.gaussian(5, 0, rows, d).data();
        float[] partOut = RandomTensors.gaussian(5, 1, rows, d).data();
        float[] lse = RandomTensors.gaussian(5, 2, rows).data();
        float[] partLse = RandomTensors.gaussian(5, 3, rows).data();
        for (int r = 0; r < rows; r++) {
            switch (r % 6) {
                case 0 -> lse[r] = Float.NEGATIVE_INFINITY;
                case 1 -> partLse[r] = Float.NEGATIVE_INFINITY;
                case 2 -> {
                    lse[r] = Float.NEGATIVE_INFINITY;
                    partLse[r] = Float.NEGATIVE_INFINITY;
                    Arrays.fill(out, r * d, r * d + d, 0);
                }
                case 3 -> lse[r] += 90;
                case 4 -> partLse[r] += 1000;
                default -> { }
            }
        }
        float[] wantOut = out.clone();
        float[] wantLse = lse.clone();
        LseMerge.reference(wantOut, wantLse, partOut, partLse, d);
        try (ClContext context = OpenClTestSupport.context(binding);
             LseMerge merge = new LseMerge(context);
             ClBuffer outBuf = context.createBuffer(out, "out");
             ClBuffer lseBuf = context.createBuffer(lse, "lse");
             ClBuffer partOutBuf = context.createBuffer(partOut, "partOut");
             ClBuffer partLseBuf = context.createBuffer(partLse, "partLse")) {
            ClQueue queue = context.queue();
            merge.enqueue(queue, outBuf, lseBuf, partOutBuf, partLseBuf, rows, d);
            float[] gotOut = new float[out.length];
            float[] gotLse = new float[lse.length];
            queue.read(outBuf, gotOut);
            queue.read(lseBuf, gotLse);
            Comparison o = Validate.compare("out", gotOut, wantOut, Tolerance.FP32_ATTENTION);
            Comparison l = Validate.compare("lse", gotLse, wantLse, Tolerance.FP32_ATTENTION);
            assertTrue(o.passed(), o::report);
            assertTrue(l.passed(), l::report);
            assertEquals(Float.NEGATIVE_INFINITY, gotLse[2]);
            for (int i = 0; i < d; i++) {
                assertEquals(0f, gotOut[2 * d + i]);
            }
        }
    }
}
