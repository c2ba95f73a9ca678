package gpuinfer.attention;

import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClQueue;
import gpuinfer.cl.DeviceInfo;
import gpuinfer.cl.DeviceMemoryException;
import gpuinfer.cl.KernelTiming;
import gpuinfer.tensor.Tensor;
import gpuinfer.util.Sizes;

import java.util.List;

/**
 * Shared host side of the OpenCL attention paths: checks that the problem fits the device before allocating
 * anything, uploads q, k, v, runs {@link #enqueue}, and downloads the output. Subclasses hold their kernels and
 * release them in {@link #close()}.
 */
public abstract class ClAttention implements Attention {
    protected final ClContext context;

    protected ClAttention(ClContext context) {
        this.context = context;
    }

    /**
     * Enqueues the computation on device buffers (see {@link AttentionBuffers} for their shapes). Workspace the
     * implementation needs is allocated here and released before returning (after the queue finished with it).
     */
    public abstract void enqueue(ClQueue queue, AttentionProblem problem, AttentionBuffers buffers);

    /**
     * Receives device tensors an implementation produces on the way ("scores" [B,H,Sq,Sk] scaled and unmasked,
     * "probabilities" [B,H,Sq,Sk] with masked keys at zero). Only implementations that materialise them call it.
     */
    @FunctionalInterface
    public interface Tap {
        void accept(String name, ClBuffer buffer, long floats);
    }

    /** As {@link #enqueue(ClQueue, AttentionProblem, AttentionBuffers)}, offering intermediates to {@code tap}. */
    public void enqueue(ClQueue queue, AttentionProblem problem, AttentionBuffers buffers, Tap tap) {
        enqueue(queue, problem, buffers);
    }

    /** Device bytes {@link #enqueue} allocates besides its inputs and output. */
    public abstract long workspaceBytes(AttentionProblem problem);

    /** The largest single workspace buffer, checked against the device's per-buffer limit. */
    protected abstract long largestWorkspaceBuffer(AttentionProblem problem);

    /** What to tell a user whose problem does not fit (e.g. "use --impl flash"). */
    protected abstract String whenTooLarge();

    /** All device memory a run of this problem allocates: inputs, output, per-row statistics and workspace. */
    public long deviceBytes(AttentionProblem problem) {
        AttentionShape s = problem.shape();
        long rows = (long) s.batch() * s.heads() * s.queryLen();
        return 4 * (2 * s.queryElements() + 2 * s.keyValueElements() + rows + s.batch()) + workspaceBytes(problem);
    }

    /**
     * Refuses, before allocating anything, a problem whose buffers exceed the device's per-buffer limit or its
     * global memory; the message names the bytes needed.
     */
    public void checkFits(AttentionProblem problem) {
        DeviceInfo device = context.device().info();
        long total = deviceBytes(problem);
        long largestBuffer = Math.max(largestWorkspaceBuffer(problem), 4 * Math.max(problem.shape().queryElements(),
                problem.shape().keyValueElements()));
        if (largestBuffer > device.maxAllocBytes() || total > device.globalMemBytes()) {
            throw new DeviceMemoryException("--impl " + name() + " cannot run " + problem.shape() + " on '"
                    + device.name() + "': it needs " + Sizes.bytes(total) + " of device memory (" + total
                    + " bytes), with one buffer of " + Sizes.bytes(largestBuffer) + "; the device has "
                    + Sizes.bytes(device.globalMemBytes()) + " and allows " + Sizes.bytes(device.maxAllocBytes())
                    + " per buffer. " + whenTooLarge());
        }
    }

    @Override
    public AttentionResult run(AttentionProblem problem, Tensor q, Tensor k, Tensor v) {
        Attention.checkInputs(problem, q, k, v);
        checkFits(problem);
        AttentionShape s = problem.shape();
        ClQueue queue = context.queue();
        long before = context.allocatedBytes();
        try (ClBuffer qBuf = context.createBuffer(4 * s.queryElements(), "q " + Tensor.describe(s.queryShape()));
             ClBuffer kBuf = context.createBuffer(4 * s.keyValueElements(), "k " + Tensor.describe(s.keyValueShape()));
             ClBuffer vBuf = context.createBuffer(4 * s.keyValueElements(), "v " + Tensor.describe(s.keyValueShape()));
             ClBuffer outBuf = context.createBuffer(4 * s.queryElements(), "out " + Tensor.describe(s.outputShape()));
             ClBuffer lseBuf = context.createBuffer(4L * s.batch() * s.heads() * s.queryLen(),
                     "lse [" + s.batch() + ", " + s.heads() + ", " + s.queryLen() + "]");
             ClBuffer lensBuf = problem.kvLens() == null ? null : context.createBuffer(4L * s.batch(), "kv_lens [" + s.batch() + "]")) {
            long t0 = System.nanoTime();
            queue.write(qBuf, q.data());
            queue.write(kBuf, k.data());
            queue.write(vBuf, v.data());
            if (lensBuf != null) {
                queue.write(lensBuf, problem.kvLens());
            }
            long t1 = System.nanoTime();
            queue.startRecording();
            List<KernelTiming> kernels;
            try {
                enqueue(queue, problem, new AttentionBuffers(qBuf, kBuf, vBuf, outBuf, lseBuf, lensBuf, s.keyLen()));
            } finally {
                kernels = queue.stopRecording();
            }
            long t2 = System.nanoTime();
            Tensor out = Tensor.zeros(s.outputShape());
            queue.read(outBuf, out.data());
            Tensor lse = Tensor.zeros(s.batch(), s.heads(), s.queryLen());
            queue.read(lseBuf, lse.data());
            long t3 = System.nanoTime();
            long allocated = context.peakAllocatedBytes() - before;
            return new AttentionResult(out, lse, kernels, (t1 - t0) / 1e6, (t2 - t1) / 1e6, (t3 - t2) / 1e6,
                    Math.max(allocated, deviceBytes(problem)));
        }
    }

    /** Rounds {@code n} up to a multiple of {@code multiple}. */
    protected static long roundUp(long n, long multiple) {
        return (n + multiple - 1) / multiple * multiple;
    }
}
