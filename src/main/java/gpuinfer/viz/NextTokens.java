package gpuinfer.viz;

import gpuinfer.text.Tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * The most likely next tokens of a run, and how an intervention changed them: the "top-10 before and after" table of
 * {@code gpu-infer viz}. Probabilities are the softmax of the logits at temperature 1, in double.
 */
public final class NextTokens {
    private NextTokens() {
    }

    /** A candidate next token: its id, its text (the token decoded alone) and its probability. */
    public record Candidate(int id, String text, double probability) {
    }

    /**
     * One token in the before/after table: its probability in the plain run and in the run with interventions.
     */
    public record Change(int id, String text, double before, double after) {
        /** The larger of the two probabilities: the table's sort key. */
        public double larger() {
            return Math.max(before, after);
        }

        /** after − before. */
        public double difference() {
            return after - before;
        }
    }

    /**
     * The softmax of {@code logits} in double: {@code exp(l_i − max) / Σ exp(l_j − max)}. −∞ logits get probability
     * 0.
     *
     * @throws IllegalArgumentException for a NaN or +∞ logit, or when every logit is −∞
     */
    public static double[] probabilities(float[] logits) {
        // pass 1: the largest logit, and a check that the row is usable
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < logits.length; i++) {
            float l = logits[i];
            if (Float.isNaN(l) || l == Float.POSITIVE_INFINITY) {
                throw new IllegalArgumentException("logit " + i + " is " + l + "; next-token probabilities need finite "
                        + "logits (or -Infinity for an excluded token)");
            }
            max = Math.max(max, l);
        }
        if (max == Double.NEGATIVE_INFINITY) {
            throw new IllegalArgumentException("every one of the " + logits.length + " logits is -Infinity");
        }
        // pass 2: exponentials and their sum; pass 3: normalise
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            p[i] = Math.exp(logits[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    /** The {@code k} most likely next tokens, most likely first (equal probabilities: lower id first). */
    public static List<Candidate> top(float[] logits, Tokenizer tokenizer, int k) {
        double[] p = probabilities(logits);
        List<Candidate> out = new ArrayList<>();
        for (int id : topIds(p, k)) {
            out.add(new Candidate(id, text(tokenizer, id), p[id]));
        }
        return out;
    }

    /**
     * The before/after table: the union of each run's {@code k} most likely tokens, each with its probability in
     * both runs (from the whole distribution, so a token that left the top k still shows where it went), sorted by
     * the larger of the two, then by id.
     */
    public static List<Change> diff(float[] logitsBefore, float[] logitsAfter, Tokenizer tokenizer, int k) {
        if (logitsBefore.length != logitsAfter.length) {
            throw new IllegalArgumentException(logitsBefore.length + " logits before, " + logitsAfter.length + " after");
        }
        double[] before = probabilities(logitsBefore);
        double[] after = probabilities(logitsAfter);
        Set<Integer> ids = new LinkedHashSet<>();
        for (int id : topIds(before, k)) {
            ids.add(id);
        }
        for (int id : topIds(after, k)) {
            ids.add(id);
        }
        List<Change> out = new ArrayList<>();
        for (int id : ids) {
            out.add(new Change(id, text(tokenizer, id), before[id], after[id]));
        }
        out.sort(Comparator.comparingDouble(Change::larger).reversed().thenComparingInt(Change::id));
        return out;
    }

    /** The ids of the {@code k} largest probabilities, largest first, ties by lower id. */
    static int[] topIds(double[] p, int k) {
        if (k < 1) {
            throw new IllegalArgumentException("k must be at least 1, not " + k);
        }
        int n = Math.min(k, p.length);
        // a min-heap of the best n so far: its head is the weakest kept (smaller probability, or equal and higher id)
        Comparator<Integer> weakestFirst = (a, b) -> p[a] != p[b] ? Double.compare(p[a], p[b]) : Integer.compare(b, a);
        PriorityQueue<Integer> kept = new PriorityQueue<>(n, weakestFirst);
        for (int id = 0; id < p.length; id++) {
            if (kept.size() < n) {
                kept.add(id);
            } else if (weakestFirst.compare(id, kept.peek()) > 0) {
                kept.poll();
                kept.add(id);
            }
        }
        int[] ids = new int[kept.size()];
        for (int i = ids.length - 1; i >= 0; i--) {
            ids[i] = kept.poll();
        }
        return ids;
    }

    /** The token decoded alone; an id past the tokenizer's vocabulary (a padded output head) says so. */
    private static String text(Tokenizer tokenizer, int id) {
        if (id >= tokenizer.vocabSize()) {
            return "[id " + id + ": no token]";
        }
        return tokenizer.decode(new int[] {id});
    }
}
