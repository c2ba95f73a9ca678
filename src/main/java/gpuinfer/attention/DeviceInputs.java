package gpuinfer.attention;

import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClContext;
import gpuinfer.tensor.RandomTensors;
import gpuinfer.util.Closing;

/**
 * Random N(0,1) q, k, v for a problem, uploaded once, with output and log-sum-exp buffers and the problem's key
 * lengths (key padding) when it has them: for benchmarks and profiles that enqueue the same computation many times.
 * Close to release the buffers.
 */
public final class DeviceInputs implements AutoCloseable {
    private final ClBuffer q;
    private final ClBuffer k;
    private final ClBuffer v;
    private final ClBuffer out;
    private final ClBuffer lse;
    private final ClBuffer lens;
    private final AttentionBuffers buffers;

    /** Inputs for a problem without key padding. */
    public DeviceInputs(ClContext context, AttentionShape s, long seed) {
        this(context, AttentionProblem.of(s, false), seed);
    }

    /** Inputs for {@code problem}, its key lengths included (null when it has none). */
    public DeviceInputs(ClContext context, AttentionProblem problem, long seed) {
        AttentionShape s = problem.shape();
        ClBuffer[] made = new ClBuffer[6];
        try {
            made[0] = context.createBuffer(RandomTensors.gaussian(seed, 0, s.queryShape()).data(), "q");
            made[1] = context.createBuffer(RandomTensors.gaussian(seed, 1, s.keyValueShape()).data(), "k");
            made[2] = context.createBuffer(RandomTensors.gaussian(seed, 2, s.keyValueShape()).data(), "v");
            made[3] = context.createBuffer(4 * s.queryElements(), "out");
            made[4] = context.createBuffer(4L * s.batch() * s.heads() * s.queryLen(), "lse");
            if (problem.kvLens() != null) {
                made[5] = context.createBuffer(4L * s.batch(), "kv_lens [" + s.batch() + "]");
                context.queue().write(made[5], problem.kvLens());
            }
        } catch (RuntimeException e) {
            throw Closing.afterFailure(e, made);
        }
        q = made[0];
        k = made[1];
        v = made[2];
        out = made[3];
        lse = made[4];
        lens = made[5];
        buffers = new AttentionBuffers(q, k, v, out, lse, lens, s.keyLen());
    }

    public AttentionBuffers buffers() {
        return buffers;
    }

    @Override
    public void close() {
        q.close();
        k.close();
        v.close();
        out.close();
        lse.close();
        if (lens != null) {
            lens.close();
        }
    }
}
