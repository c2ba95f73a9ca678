package gpuinfer.bench;

import gpuinfer.attention.AttentionBuffers;
import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionShape;
import gpuinfer.attention.ClAttention;
import gpuinfer.attention.DeviceInputs;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClQueue;
import gpuinfer.cl.KernelTiming;

import java.util.List;

/**
 * Times one attention implementation on device-resident inputs: the inputs are uploaded once, then the
 * computation is enqueued {@code warmup + repeats} times; each timed run is the wall time from the first launch to
 * the end of the queue (so launch overheads count), and its kernels' device times are kept too.
 */
public final class AttentionBenchmark {
    private AttentionBenchmark() {
    }

    /**
     * One measured shape.
     *
     * @param wallMillis   per timed run: first launch to queue finished
     * @param kernelMillis per timed run: sum of the kernels' device times
     * @param options      the build options of the kernels that ran
     */
    public record Measurement(String impl, AttentionProblem problem, double[] wallMillis, double[] kernelMillis,
                              String kernels, String options) {
        public double medianMillis() {
            return Stats.median(wallMillis);
        }

        /**
         * Useful floating-point work: 4·B·H·Sq·Sk·D without a mask (two matrix products), half of that for causal
         * prefill (Sq = Sk), and 4·(visible pairs)·D in general; decode with Sq = 1 sees every key.
         */
        public double flops() {
            AttentionShape s = problem.shape();
            if (problem.causal() && s.queryLen() == s.keyLen() && problem.kvLens() == null) {
                return 2.0 * s.batch() * s.heads() * s.queryLen() * (double) s.keyLen() * s.headDim();
            }
            return 4.0 * problem.visiblePairs() * s.headDim();
        }

        public double gflops() {
            return flops() / (medianMillis() * 1e6);
        }

        /** Bytes of K and V read once: the floor of memory traffic for decode. */
        public double keyValueBytes() {
            AttentionShape s = problem.shape();
            return 2.0 * 4 * s.batch() * s.kvHeads() * (double) s.keyLen() * s.headDim();
        }

        public double keyValueGbps() {
            return keyValueBytes() / (medianMillis() * 1e6);
        }
    }

    public static Measurement measure(ClContext context, ClAttention op, AttentionProblem problem, int warmup, int repeats) {
        op.checkFits(problem);
        AttentionShape s = problem.shape();
        ClQueue queue = context.queue();
        try (DeviceInputs inputs = new DeviceInputs(context, s, 1)) {
            AttentionBuffers buffers = inputs.buffers();
            for (int i = 0; i < warmup; i++) {
                op.enqueue(queue, problem, buffers);
                queue.finish();
            }
            double[] wall = new double[repeats];
            double[] device = new double[repeats];
            String kernels = "";
            String options = "";
            for (int i = 0; i < repeats; i++) {
                queue.startRecording();
                long start = System.nanoTime();
                List<KernelTiming> timings;
                try {
                    op.enqueue(queue, problem, buffers);
                    queue.finish();
                    wall[i] = (System.nanoTime() - start) / 1e6;
                } finally {
                    timings = queue.stopRecording();
                }
                device[i] = timings.stream().mapToDouble(KernelTiming::millis).sum();
                kernels = String.join("+", timings.stream().map(KernelTiming::kernel).toList());
                options = timings.isEmpty() ? "" : timings.get(0).options();
            }
            return new Measurement(op.name(), problem, wall, device, kernels, options);
        }
    }
}
