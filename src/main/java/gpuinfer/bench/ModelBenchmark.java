package gpuinfer.bench;

import gpuinfer.model.ModelConfig;
import gpuinfer.model.DecoderModel;
import gpuinfer.model.Tap;

import java.util.SplittableRandom;

/**
 * Prefill and decode throughput of one model: a prompt of random tokens is prefilled in one step (logits for its
 * last position only, as generation needs), then tokens are decoded one at a time against the KV cache.
 */
public final class ModelBenchmark {
    private ModelBenchmark() {
    }

    /**
     * One round.
     *
     * @param prefillMillis wall time of the prompt's forward pass, logits read back
     * @param decodeMillis  wall time of each decode step, logits read back
     */
    public record Round(double prefillMillis, double[] decodeMillis) {
    }

    /** Device time per kernel, summed over a profiled round. */
    public record KernelShare(String kernel, String options, int calls, double millis) {
    }

    /** A round with every launch recorded; returns each kernel's total device time (decode steps only). */
    public static java.util.List<KernelShare> profileDecode(DecoderModel model, gpuinfer.cl.ClQueue queue, int promptTokens,
                                                            int decodeTokens) {
        int V = model.config().vocabSize();
        model.forward(new SplittableRandom(7).ints(promptTokens, 0, V).toArray(), new int[] {0}, new int[] {promptTokens},
                promptTokens, new int[] {promptTokens - 1}, Tap.NONE);
        java.util.Map<String, KernelShare> shares = new java.util.LinkedHashMap<>();
        for (int i = 0; i < decodeTokens; i++) {
            int pos = promptTokens + i;
            queue.startRecording();
            try {
                model.forward(new int[] {i % V}, new int[] {pos}, new int[] {pos + 1}, 1, new int[] {0}, Tap.NONE);
            } finally {
                for (gpuinfer.cl.KernelTiming t : queue.stopRecording()) {
                    String key = t.kernel() + " " + java.util.Arrays.toString(t.global());
                    KernelShare old = shares.get(key);
                    shares.put(key, new KernelShare(key, t.options(), (old == null ? 0 : old.calls()) + 1,
                            (old == null ? 0 : old.millis()) + t.millis()));
                }
            }
        }
        return new java.util.ArrayList<>(shares.values());
    }

    public static Round run(DecoderModel model, int promptTokens, int decodeTokens, long seed) {
        int V = model.config().vocabSize();
        int[] prompt = new SplittableRandom(seed).ints(promptTokens, 0, V).toArray();
        long t0 = System.nanoTime();
        model.forward(prompt, new int[] {0}, new int[] {promptTokens}, promptTokens, new int[] {promptTokens - 1}, Tap.NONE);
        double prefill = (System.nanoTime() - t0) / 1e6;
        double[] decode = new double[decodeTokens];
        SplittableRandom random = new SplittableRandom(seed + 1);
        for (int i = 0; i < decodeTokens; i++) {
            int pos = promptTokens + i;
            long s = System.nanoTime();
            model.forward(new int[] {random.nextInt(V)}, new int[] {pos}, new int[] {pos + 1}, 1, new int[] {0}, Tap.NONE);
            decode[i] = (System.nanoTime() - s) / 1e6;
        }
        return new Round(prefill, decode);
    }

    /**
     * Floating-point work of a prefill of T tokens with logits for one row: 2 per weight of the block linears per
     * token, the attention products (2·T·T·C per layer for causal attention), and one row of the output projection.
     */
    public static double prefillFlops(ModelConfig c, int T) {
        double C = c.nEmbd();
        double projections = (double) (c.qDim() + 2 * c.kvDim()) * C + C * c.qDim();
        double mlp = (c.mlp() == ModelConfig.Mlp.SWIGLU ? 3 : 2) * C * c.nInner();
        double perTokenLinear = 2 * c.nLayer() * (projections + mlp);
        // causal: T²/2 score and T²/2 value products of H·D each, two FLOPs apiece
        double attention = c.nLayer() * 2.0 * T * T * c.qDim();
        return T * perTokenLinear + attention + 2.0 * c.vocabSize() * C;
    }
}
