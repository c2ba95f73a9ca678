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
        int keep = options.topK() > 0 ? Math.min(options.topK(), V) : V;
        int[] order = candidates(logits, offset, V, keep);
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

    /**
     * The ids of the {@code keep} largest logits of {@code logits[offset .. offset + V)}, largest first, ties by id
     * (the order {@link Float#compare} gives: NaN above +infinity, 0.0 above -0.0). Each candidate is one long whose
     * order is that order, so no boxing or comparator: the {@code keep} smallest keys by a bounded max-heap (V log
     * keep, and most keys are rejected by one comparison), or one primitive sort when every token is kept. A full
     * boxed sort of GPT-2's 50,257 logits took about 20 ms a token, more than the model's decode step.
     */
    static int[] candidates(float[] logits, int offset, int V, int keep) {
        long[] kept = new long[keep];
        if (keep == V) {
            for (int i = 0; i < V; i++) {
                kept[i] = key(logits[offset + i], i);
            }
        } else {
            int size = 0;
            for (int i = 0; i < V; i++) {
                long key = key(logits[offset + i], i);
                if (size < keep) {
                    kept[size] = key;
                    siftUp(kept, size++);
                } else if (key < kept[0]) {
                    kept[0] = key;
                    siftDown(kept, keep);
                }
            }
        }
        Arrays.sort(kept);
        int[] ids = new int[keep];
        for (int i = 0; i < keep; i++) {
            ids[i] = (int) kept[i];
        }
        return ids;
    }

    /** A long that sorts ascending as (logit descending, id ascending). */
    private static long key(float logit, int id) {
        int bits = Float.floatToIntBits(logit);
        int ordered = bits ^ ((bits >> 31) & 0x7fffffff); // signed-int order = Float.compare order
        return ((long) ~ordered << 32) | id;
    }

    /** Max-heap: moves heap[i] up to its place. */
    private static void siftUp(long[] heap, int i) {
        long value = heap[i];
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (heap[parent] >= value) {
                break;
            }
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = value;
    }

    /** Max-heap of {@code size} keys: moves heap[0] down to its place. */
    private static void siftDown(long[] heap, int size) {
        long value = heap[0];
        int i = 0;
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) {
                break;
            }
            if (child + 1 < size && heap[child + 1] > heap[child]) {
                child++;
            }
            if (heap[child] <= value) {
                break;
            }
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = value;
    }
}
