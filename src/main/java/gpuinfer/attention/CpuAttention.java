package gpuinfer.attention;

import gpuinfer.tensor.Tensor;

import java.util.List;
import java.util.stream.IntStream;

/**
 * The CPU reference: plain loops, double accumulation, one query row at a time. It defines the semantics every
 * OpenCL path must reproduce. Rows run in parallel over the JVM's common pool; each row is computed independently,
 * so the result does not depend on the thread count.
 */
public final class CpuAttention implements Attention {
    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public AttentionResult run(AttentionProblem problem, Tensor q, Tensor k, Tensor v) {
        Attention.checkInputs(problem, q, k, v);
        long start = System.nanoTime();
        AttentionShape s = problem.shape();
        Tensor out = Tensor.zeros(s.outputShape());
        Tensor lse = Tensor.zeros(s.batch(), s.heads(), s.queryLen());
        forward(out.data(), lse.data(), q.data(), k.data(), v.data(), problem);
        return new AttentionResult(out, lse, List.of(), 0, (System.nanoTime() - start) / 1e6, 0, 0);
    }

    /**
     * out is (B,H,Sq,D); lse, when not null, is (B,H,Sq) and receives each row's log-sum-exp of its scaled scores
     * (negative infinity for a row that sees no key); q is (B,H,Sq,D); k and v are (B,Hkv,Sk,D).
     */
    public static void forward(float[] out, float[] lse, float[] q, float[] k, float[] v, AttentionProblem problem) {
        forward(out, lse, q, k, v, problem, problem.shape().keyLen());
    }

    /** As {@link #forward(float[], float[], float[], float[], float[], AttentionProblem)} with k and v [B,Hkv,kvStride,D]. */
    public static void forward(float[] out, float[] lse, float[] q, float[] k, float[] v, AttentionProblem problem,
                               int kvStride) {
        AttentionShape s = problem.shape();
        int rows = s.batch() * s.heads() * s.queryLen();
        IntStream.range(0, rows).parallel().forEach(row -> forwardRow(out, lse, q, k, v, problem, kvStride, row));
    }

    /**
     * The score matrix and the probabilities, [B,H,Sq,Sk] each: {@code scores} = scale·q·k for every pair (masked
     * pairs too), {@code probabilities} the masked softmax of each row (zero where masked or where a row sees no key).
     */
    public static void scoresAndProbabilities(float[] scores, float[] probabilities, float[] q, float[] k,
                                              AttentionProblem problem) {
        AttentionShape s = problem.shape();
        int sq = s.queryLen();
        int sk = s.keyLen();
        int d = s.headDim();
        IntStream.range(0, s.batch() * s.heads() * sq).parallel().forEach(row -> {
            int i = row % sq;
            int bh = row / sq;
            int b = bh / s.heads();
            int kvHead = (bh % s.heads()) / s.groupSize();
            long kvBase = ((long) b * s.kvHeads() + kvHead) * sk * d;
            int visible = problem.visibleKeys(b, i);
            // pass 1: every scaled score, and the maximum of the visible ones
            double[] raw = new double[sk];
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < sk; j++) {
                double dot = 0;
                for (int c = 0; c < d; c++) {
                    dot += (double) q[row * d + c] * k[(int) (kvBase + (long) j * d + c)];
                }
                raw[j] = dot * problem.scale();
                scores[row * sk + j] = (float) raw[j];
                if (j < visible) {
                    max = Math.max(max, raw[j]);
                }
            }
            // pass 2: the softmax of the visible keys
            double sum = 0;
            for (int j = 0; j < visible; j++) {
                sum += Math.exp(raw[j] - max);
            }
            for (int j = 0; j < sk; j++) {
                probabilities[row * sk + j] = j < visible ? (float) (Math.exp(raw[j] - max) / sum) : 0f;
            }
        });
    }

    private static void forwardRow(float[] out, float[] lse, float[] q, float[] k, float[] v, AttentionProblem problem,
                                   int kvStride, int row) {
        AttentionShape s = problem.shape();
        int sq = s.queryLen();
        int sk = s.keyLen();
        int d = s.headDim();
        int i = row % sq;
        int bh = row / sq;
        int b = bh / s.heads();
        int h = bh % s.heads();
        int kvHead = h / s.groupSize();
        long qOffset = (long) row * d;
        long kvBase = ((long) b * s.kvHeads() + kvHead) * kvStride * d;
        int visible = problem.visibleKeys(b, i);

        if (visible == 0) {
            // A row that sees no key: output zero, log-sum-exp of an empty set.
            if (lse != null) {
                lse[row] = Float.NEGATIVE_INFINITY;
            }
            return;
        }

        // pass 1: scaled scores q·k_j for the visible keys, and their maximum
        double[] scores = new double[visible];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < visible; j++) {
            long kOffset = kvBase + (long) j * d;
            double dot = 0;
            for (int c = 0; c < d; c++) {
                dot += (double) q[(int) (qOffset + c)] * k[(int) (kOffset + c)];
            }
            scores[j] = dot * problem.scale();
            max = Math.max(max, scores[j]);
        }

        // pass 2: exponentials relative to the maximum, and their sum
        double sum = 0;
        for (int j = 0; j < visible; j++) {
            scores[j] = Math.exp(scores[j] - max);
            sum += scores[j];
        }

        // pass 3: the probability-weighted sum of value rows
        double[] acc = new double[d];
        for (int j = 0; j < visible; j++) {
            double p = scores[j] / sum;
            long vOffset = kvBase + (long) j * d;
            for (int c = 0; c < d; c++) {
                acc[c] += p * v[(int) (vOffset + c)];
            }
        }
        for (int c = 0; c < d; c++) {
            out[(int) (qOffset + c)] = (float) acc[c];
        }
        if (lse != null) {
            lse[row] = (float) (max + Math.log(sum));
        }
    }
}
