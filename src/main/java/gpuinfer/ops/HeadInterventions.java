package gpuinfer.ops;

import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionShape;
import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClKernel;
import gpuinfer.cl.ClProgram;
import gpuinfer.cl.ClQueue;
import gpuinfer.cl.KernelSource;
import gpuinfer.util.Closing;

/**
 * Changes to one attention head's output [B, H, T, D] (the interventions of {@code gpuinfer.model.Interventions}):
 * scaling it (0 ablates it), and recomputing it with some key positions hidden. CPU references in double here; the
 * OpenCL kernels are in {@code kernels/interventions.cl}, built by {@link Kernels} only when a run has interventions.
 */
public final class HeadInterventions {
    /** The largest head size the masked-attention kernel accepts (its private accumulators are sized for it). */
    public static final int HEAD_DIM_MAX = 256;

    private HeadInterventions() {
    }

    /** x [B, H, T, D]: head {@code head}'s values times {@code factor}; factor 0 writes 0 (an ablated head). */
    public static void scaleReference(float[] x, int B, int H, int T, int D, int head, float factor) {
        checkHead("scale_head", B, H, T, D, head);
        for (int b = 0; b < B; b++) {
            int base = ((b * H + head) * T) * D;
            for (int i = 0; i < T * D; i++) {
                x[base + i] = factor == 0f ? 0f : (float) ((double) x[base + i] * factor);
            }
        }
    }

    /**
     * Keys each query row sees, [B*T]: {@code problem.visibleKeys(b, t)} (bottom-right causal, key padding), the
     * same keys as the model's attention.
     */
    public static int[] visibleKeys(AttentionProblem problem) {
        AttentionShape s = problem.shape();
        int[] visible = new int[s.batch() * s.queryLen()];
        for (int b = 0; b < s.batch(); b++) {
            for (int t = 0; t < s.queryLen(); t++) {
                visible[b * s.queryLen() + t] = problem.visibleKeys(b, t);
            }
        }
        return visible;
    }

    /** Whether key {@code j} lies in one of the inclusive ranges {@code hidden} = [from0, to0, from1, to1, ...]. */
    public static boolean isHidden(int j, int[] hidden) {
        for (int m = 0; m + 1 < hidden.length; m += 2) {
            if (j >= hidden[m] && j <= hidden[m + 1]) {
                return true;
            }
        }
        return false;
    }

    /**
     * out [B, H, T, D], head {@code head} only: its attention recomputed in double over the keys each row sees
     * (q [B, H, T, D], caches [B, Hkv, sMax, D], query head h reads key/value head h / (H/Hkv)) except the hidden
     * ranges, with its own softmax; a row left with no key gets 0.
     */
    public static void maskedAttentionReference(float[] out, float[] q, float[] kCache, float[] vCache,
                                                AttentionProblem problem, int sMax, int head, int[] hidden) {
        AttentionShape s = problem.shape();
        int H = s.heads();
        int T = s.queryLen();
        int D = s.headDim();
        checkHead("masked_head_attention", s.batch(), H, T, D, head);
        int kvHead = head / s.groupSize();
        for (int b = 0; b < s.batch(); b++) {
            long kvBase = ((long) b * s.kvHeads() + kvHead) * sMax * D;
            for (int t = 0; t < T; t++) {
                int qBase = ((b * H + head) * T + t) * D;
                int n = problem.visibleKeys(b, t);
                double[] score = new double[n];
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < n; j++) {
                    if (isHidden(j, hidden)) {
                        score[j] = Double.NEGATIVE_INFINITY;
                        continue;
                    }
                    double dot = 0;
                    for (int d = 0; d < D; d++) {
                        dot += (double) q[qBase + d] * kCache[(int) (kvBase + (long) j * D + d)];
                    }
                    score[j] = dot * problem.scale();
                    max = Math.max(max, score[j]);
                }
                double[] acc = new double[D];
                double sum = 0;
                for (int j = 0; j < n && max > Double.NEGATIVE_INFINITY; j++) {
                    if (score[j] == Double.NEGATIVE_INFINITY) {
                        continue;
                    }
                    double p = Math.exp(score[j] - max);
                    sum += p;
                    for (int d = 0; d < D; d++) {
                        acc[d] += p * vCache[(int) (kvBase + (long) j * D + d)];
                    }
                }
                for (int d = 0; d < D; d++) {
                    out[qBase + d] = sum > 0 ? (float) (acc[d] / sum) : 0f;
                }
            }
        }
    }

    private static void checkHead(String op, int B, int H, int T, int D, int head) {
        BufferChecks.positive(op, "B, H, T, D", B, H, T, D);
        if (head < 0 || head >= H) {
            throw new IllegalArgumentException(op + ": head " + head + " outside 0.." + (H - 1));
        }
    }

    /** The kernels of {@code kernels/interventions.cl} on one context; close to release. */
    public static final class Kernels implements AutoCloseable {
        final int copyGroup;
        final int maskGroup;
        final ClKernel scaleHead;
        final ClKernel maskedAttention;

        public Kernels(ClContext context) {
            int group = (int) Math.min(64, Integer.highestOneBit((int) Math.min(context.device().info().maxWorkGroupSize(), 1 << 20)));
            ClKernel scale = null;
            ClKernel masked = null;
            while (true) {
                try {
                    ClProgram program = context.program(KernelSource.load("interventions.cl"),
                            "-DCOPY_WG=" + group + " -DMASK_WG=" + group + " -DHEAD_DIM_MAX=" + HEAD_DIM_MAX);
                    scale = program.kernel("scale_head");
                    masked = program.kernel("masked_head_attention");
                } catch (RuntimeException e) {
                    throw Closing.afterFailure(e, scale, masked);
                }
                if ((scale.fits(group) && masked.fits(group)) || group == 1) {
                    break;
                }
                // the device refuses this group for one of them (registers): try half
                scale.close();
                masked.close();
                group /= 2;
            }
            copyGroup = group;
            maskGroup = group;
            scaleHead = scale;
            maskedAttention = masked;
        }

        /** Enqueues scale_head on x [B, H, T, D]. */
        public void enqueueScale(ClQueue queue, ClBuffer x, int B, int H, int T, int D, int head, float factor) {
            checkHead("scale_head", B, H, T, D, head);
            BufferChecks.holdsFloats("scale_head", "x [B, H, T, D]", x, (long) B * H * T * D);
            scaleHead.arg(0, x).arg(1, B).arg(2, H).arg(3, T).arg(4, D).arg(5, head).arg(6, factor);
            queue.launch(scaleHead, new long[] {((long) T * D + copyGroup - 1) / copyGroup * copyGroup, B},
                    new long[] {copyGroup, 1}, new gpuinfer.cl.Cost((double) B * T * D, 8.0 * B * T * D));
        }

        /**
         * Enqueues masked_head_attention; {@code visible} [B*T] from {@link #visibleKeys}, {@code hidden} [n, 2] the
         * hidden ranges (at least one int even when n is 0).
         */
        public void enqueueMasked(ClQueue queue, ClBuffer out, ClBuffer q, ClBuffer kCache, ClBuffer vCache,
                                  ClBuffer visible, ClBuffer hidden, int hiddenRanges, AttentionProblem problem,
                                  int sMax, int head) {
            AttentionShape s = problem.shape();
            int B = s.batch();
            int H = s.heads();
            int T = s.queryLen();
            int D = s.headDim();
            checkHead("masked_head_attention", B, H, T, D, head);
            if (D > HEAD_DIM_MAX) {
                throw new IllegalArgumentException("masked_head_attention: head size " + D + " exceeds " + HEAD_DIM_MAX);
            }
            if (s.keyLen() > sMax) {
                throw new IllegalArgumentException("masked_head_attention: " + s.keyLen() + " keys exceed the cache's " + sMax);
            }
            long cache = (long) B * s.kvHeads() * sMax * D;
            BufferChecks.holdsFloats("masked_head_attention", "q [B, H, T, D]", q, (long) B * H * T * D);
            BufferChecks.holdsFloats("masked_head_attention", "out [B, H, T, D]", out, (long) B * H * T * D);
            BufferChecks.holdsFloats("masked_head_attention", "k cache [B, Hkv, S_max, D]", kCache, cache);
            BufferChecks.holdsFloats("masked_head_attention", "v cache [B, Hkv, S_max, D]", vCache, cache);
            maskedAttention.arg(0, q).arg(1, kCache).arg(2, vCache).arg(3, visible).arg(4, hidden).arg(5, out)
                    .arg(6, T).arg(7, H).arg(8, s.kvHeads()).arg(9, D).arg(10, sMax).arg(11, head).arg(12, hiddenRanges)
                    .arg(13, problem.scale());
            queue.launch(maskedAttention, new long[] {(long) B * T * maskGroup}, new long[] {maskGroup},
                    new gpuinfer.cl.Cost(4.0 * B * T * s.keyLen() * D, 8.0 * B * T * s.keyLen() * D));
        }

        @Override
        public void close() {
            scaleHead.close();
            maskedAttention.close();
        }
    }
}
