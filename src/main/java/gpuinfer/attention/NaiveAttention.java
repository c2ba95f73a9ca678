package gpuinfer.attention;

import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClKernel;
import gpuinfer.cl.ClProgram;
import gpuinfer.cl.ClQueue;
import gpuinfer.cl.Cost;
import gpuinfer.cl.KernelSource;
import gpuinfer.tensor.Tensor;
import gpuinfer.util.Closing;

/**
 * {@code --impl naive}: scores, softmax and P·V as three kernels ({@code kernels/attention_naive.cl}), with the
 * [B, H, Sq, Sk] score matrix in device memory.
 */
public final class NaiveAttention extends ClAttention {
    private final int tile;
    private final int softmaxGroup;
    private final ClKernel scores;
    private final ClKernel softmax;
    private final ClKernel pv;

    public NaiveAttention(ClContext context) {
        super(context);
        long maxGroup = context.device().info().maxWorkGroupSize();
        this.tile = maxGroup >= 256 ? 16 : 8;
        this.softmaxGroup = (int) Math.min(64, Integer.highestOneBit((int) Math.min(maxGroup, 1 << 20)));
        ClProgram program = context.program(KernelSource.load("attention_naive.cl"),
                "-DTILE=" + tile + " -DSOFTMAX_WG=" + softmaxGroup);
        ClKernel s = null;
        ClKernel m = null;
        try {
            s = program.kernel("attention_scores");
            m = program.kernel("attention_softmax");
            this.pv = program.kernel("attention_pv");
        } catch (RuntimeException e) {
            throw Closing.afterFailure(e, s, m);
        }
        this.scores = s;
        this.softmax = m;
    }

    @Override
    public String name() {
        return "naive";
    }

    @Override
    public long workspaceBytes(AttentionProblem problem) {
        return 4 * problem.shape().scoreElements();
    }

    @Override
    protected long largestWorkspaceBuffer(AttentionProblem problem) {
        return workspaceBytes(problem);
    }

    @Override
    protected String whenTooLarge() {
        return "The naive path stores the whole [B,H,Sq,Sk] score matrix; use --impl flash, which never stores it, "
                + "or a smaller shape.";
    }

    @Override
    public void enqueue(ClQueue queue, AttentionProblem problem, AttentionBuffers buffers) {
        enqueue(queue, problem, buffers, null);
    }

    @Override
    public void enqueue(ClQueue queue, AttentionProblem problem, AttentionBuffers buffers, Tap tap) {
        AttentionShape s = problem.shape();
        ClBuffer lens = buffers.kvLens() != null ? buffers.kvLens() : buffers.lse();
        int bh = s.batch() * s.heads();
        try (ClBuffer scoreBuf = context.createBuffer(workspaceBytes(problem), "scores [" + s.batch() + ", " + s.heads()
                + ", " + s.queryLen() + ", " + s.keyLen() + "]")) {
            scores.arg(0, buffers.q()).arg(1, buffers.k()).arg(2, scoreBuf).arg(3, s.heads()).arg(4, s.kvHeads())
                    .arg(5, s.queryLen()).arg(6, s.keyLen()).arg(7, s.headDim()).arg(8, buffers.kvStride())
                    .arg(9, problem.scale());
            double scoreBytes = 4.0 * s.scoreElements();
            queue.launch(scores, new long[] {roundUp(s.keyLen(), tile), roundUp(s.queryLen(), tile), bh},
                    new long[] {tile, tile, 1}, new Cost(2.0 * s.scoreElements() * s.headDim(),
                            4.0 * (s.queryElements() + s.keyValueElements()) + scoreBytes));
            if (tap != null) {
                tap.accept("scores", scoreBuf, s.scoreElements());
            }

            softmax.arg(0, scoreBuf).arg(1, buffers.lse()).arg(2, lens).arg(3, s.heads()).arg(4, s.queryLen())
                    .arg(5, s.keyLen()).arg(6, problem.causal() ? 1 : 0).arg(7, buffers.kvLens() != null ? 1 : 0);
            queue.launch(softmax, new long[] {(long) bh * s.queryLen() * softmaxGroup}, new long[] {softmaxGroup},
                    new Cost(5.0 * s.scoreElements(), 2 * scoreBytes));
            if (tap != null) {
                tap.accept("probabilities", scoreBuf, s.scoreElements());
            }

            pv.arg(0, scoreBuf).arg(1, buffers.v()).arg(2, buffers.out()).arg(3, s.heads()).arg(4, s.kvHeads())
                    .arg(5, s.queryLen()).arg(6, s.keyLen()).arg(7, s.headDim()).arg(8, buffers.kvStride());
            queue.launch(pv, new long[] {roundUp(s.headDim(), tile), roundUp(s.queryLen(), tile), bh},
                    new long[] {tile, tile, 1}, new Cost(2.0 * s.scoreElements() * s.headDim(),
                            scoreBytes + 4.0 * (s.keyValueElements() + s.queryElements())));
            queue.finish();
        }
    }

    @Override
    public void close() {
        scores.close();
        softmax.close();
        pv.close();
    }

    @Override
    public String toString() {
        return "naive (" + Tensor.describe(new int[] {tile, tile}) + " tiles)";
    }
}
