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
        this(context, context.device().info().maxWorkGroupSize() >= 256 ? 16 : 8,
                (int) Math.min(64, Integer.highestOneBit((int) Math.min(context.device().info().maxWorkGroupSize(), 1 << 20))));
    }

    /**
     * With the tile and softmax group to try first. A kernel whose own limit on the device (CL_KERNEL_WORK_GROUP_SIZE)
     * refuses its group is rebuilt with half of it instead of failing at launch.
     */
    NaiveAttention(ClContext context, int preferredTile, int preferredSoftmaxGroup) {
        super(context);
        int t = preferredTile;
        int g = preferredSoftmaxGroup;
        ClKernel[] made;
        while (true) {
            made = build(context, t, g);
            boolean tilesFit = made[0].fits(t, t) && made[2].fits(t, t);
            boolean softmaxFits = made[1].fits(g);
            if ((tilesFit || t == 1) && (softmaxFits || g == 1)) {
                break;
            }
            for (ClKernel k : made) {
                k.close();
            }
            t = tilesFit ? t : t / 2;
            g = softmaxFits ? g : g / 2;
        }
        this.tile = t;
        this.softmaxGroup = g;
        this.scores = made[0];
        this.softmax = made[1];
        this.pv = made[2];
    }

    private static ClKernel[] build(ClContext context, int tile, int softmaxGroup) {
        ClProgram program = context.program(KernelSource.load("attention_naive.cl"),
                "-DTILE=" + tile + " -DSOFTMAX_WG=" + softmaxGroup);
        ClKernel[] made = new ClKernel[3];
        String[] names = {"attention_scores", "attention_softmax", "attention_pv"};
        try {
            for (int i = 0; i < names.length; i++) {
                made[i] = program.kernel(names[i]);
            }
        } catch (RuntimeException e) {
            throw Closing.afterFailure(e, made);
        }
        return made;
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
