package gpuinfer.bench;

import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClQueue;
import gpuinfer.cl.KernelTiming;
import gpuinfer.ops.Activation;
import gpuinfer.ops.Linear;
import gpuinfer.tensor.RandomTensors;

import java.util.List;

/**
 * Times gpu-infer's own linear layer ({@link Linear.OnDevice}, the path a model's prefill takes) on one
 * {@link PrefillGemm} with float32 weights, no bias, residual or activation: the same product CLBlast's SGEMM
 * computes. Each run is the wall time from the enqueue to the queue's end, as the CLBlast child times its calls.
 */
public final class LinearGemmBenchmark {
    private LinearGemmBenchmark() {
    }

    /**
     * @param runsMillis wall time of each timed run
     * @param kernels    the kernels one run launched, "+"-joined (e.g. "pack_rows+linear_packed")
     * @param options    the build options of the last of them (the product's own kernel)
     * @param worstError {@link PrefillGemm#worstError} of the output
     */
    public record Measurement(PrefillGemm gemm, double[] runsMillis, String kernels, String options, double worstError) {
        public double medianMillis() {
            return Stats.median(runsMillis);
        }

        public double gflops() {
            return gemm.flops() / (medianMillis() * 1e6);
        }
    }

    public static Measurement measure(ClContext context, Linear.OnDevice linear, PrefillGemm gemm, int warmup, int runs) {
        int R = gemm.rows();
        int N = gemm.outputs();
        int K = gemm.inputs();
        // the same inputs the CLBlast child multiplies (seed 11)
        float[] x = RandomTensors.gaussian(11, 0, R * K).data();
        float[] w = RandomTensors.gaussian(11, 1, N * K).data();
        ClQueue queue = context.queue();
        try (ClBuffer xBuf = context.createBuffer(x, "x [" + R + ", " + K + "]");
             ClBuffer wBuf = context.createBuffer(w, "W [" + N + ", " + K + "]");
             ClBuffer yBuf = context.createBuffer(4L * R * N, "y [" + R + ", " + N + "]")) {
            for (int i = 0; i < warmup; i++) {
                linear.enqueue(queue, yBuf, xBuf, wBuf, null, null, R, N, K, Activation.NONE);
                queue.finish();
            }
            double[] millis = new double[runs];
            String kernels = "";
            String options = "";
            for (int i = 0; i < runs; i++) {
                boolean record = i == runs - 1;
                if (record) {
                    queue.startRecording();
                }
                List<KernelTiming> timings = List.of();
                try {
                    long start = System.nanoTime();
                    linear.enqueue(queue, yBuf, xBuf, wBuf, null, null, R, N, K, Activation.NONE);
                    queue.finish();
                    millis[i] = (System.nanoTime() - start) / 1e6;
                } finally {
                    if (record) {
                        timings = queue.stopRecording();
                    }
                }
                if (!timings.isEmpty()) {
                    kernels = String.join("+", timings.stream().map(KernelTiming::kernel).toList());
                    options = timings.get(timings.size() - 1).options();
                }
            }
            float[] y = new float[R * N];
            queue.read(yBuf, y);
            return new Measurement(gemm, millis, kernels, options, PrefillGemm.worstError(x, w, y, R, N, K));
        }
    }
}
