package gpuinfer.generate;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Chooses tokens from logits: greedy, or temperature, top-k and top-p (in that order) then a draw. One sampler
 * per sequence, so that each sequence's draws depend only on its seed.
 */
public final class Sampler {
    private final SamplingOptions options;
    private final SplittableRandom random;

    public Sampler(SamplingOptions options, int sequence) {
        this.options = options;
        this.random = new SplittableRandom(options.seed() * 0x9E3779B97F4A7C15L + sequence);
    }

    /** The index of the largest logit (the first one on ties), over {@code logits[offset .. offset + V)}. */
    public static int argmax(float[] logits, int offset, int V) {
        int best = 0;
        for (int i = 1; i < V; i++) {
            if (logits[offset + i] > logits[offset + best]) {
                best = i;
            }
        }
        return best;
    }

    /** The next token from {@code logits[offset .. offset + V)}. */
    public int sample(float[] logits, int offset, int V) {
        if (options.isGreedy()) {
            return argmax(logits, offset, V);
        }
        // candidates sorted by logit, highest first (ties by id, so the order is deterministic)
        Integer[] order = new Integer[V];
        for (int i = 0; i < V; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> {
            int c = Float.compare(logits[offset + b], logits[offset + a]);
            return c != 0 ? c : Integer.compare(a, b);
        });
        int keep = options.topK() > 0 ? Math.min(options.topK(), V) : V;
        // softmax of logits / temperature over the kept candidates, in double
        double max = logits[offset + order[0]] / options.temperature();
        double[] p = new double[keep];
        double sum = 0;
        for (int i = 0; i < keep; i++) {
            p[i] = Math.exp(logits[offset + order[i]] / options.temperature() - max);
            sum += p[i];
        }
        // top-p: the smallest prefix whose probability reaches p
        if (options.topP() < 1) {
            double cumulative = 0;
            int cut = keep;
            for (int i = 0; i < keep; i++) {
                cumulative += p[i] / sum;
                if (cumulative >= options.topP()) {
                    cut = i + 1;
                    break;
                }
            }
            keep = cut;
            sum = 0;
            for (int i = 0; i < keep; i++) {
                sum += p[i];
            }
        }
        double u = random.nextDouble() * sum;
        for (int i = 0; i < keep; i++) {
            u -= p[i];
            if (u < 0) {
                return order[i];
            }
        }
        return order[keep - 1];
    }
}
