package gpuinfer.viz;

import java.util.ArrayList;
import java.util.List;

/**
 * What each head does, measured on captured attention rows ({@link HeadSummary}): mean entropy, mean attention share
 * on the previous token, on the first token and on the token itself, and two flags.
 *
 * <p>Which rows count: row 0 sees one key only, so its entropy is 0 and its first-token and self shares are 1
 * whatever the head does; it is left out of every mean. A row whose weights sum to 0 (every key masked by
 * {@code --attend-mask}) is left out too. A head with no row left has NaN means and no flag.
 *
 * <p>Flags:
 * <ul>
 * <li>previous-token head: mean previous-token share above {@value #PREVIOUS_TOKEN_THRESHOLD}, i.e. the previous
 * token gets more than every other key together. A head spreading attention evenly gives row i a share of 1/(i+1),
 * at most 0.5 (row 1) and lower on every later row, so such a head is never flagged however short the prompt; and
 * the flag does not depend on the prompt's length as an absolute count would.
 * <li>induction head: induction score ({@link InductionTest}) above {@value #INDUCTION_THRESHOLD}. A head spreading
 * attention evenly scores about 1/(1.5·L) on the test (0.013 for L = 50), a previous-token head about 0; an
 * induction head puts most of its attention on one key, the token after the earlier occurrence. 0.4 asks for that
 * key to get far more than any chance level, while leaving room for a head that splits its attention between the
 * induction target and a sink (BOS), as induction heads of trained models do.
 * </ul>
 */
public final class HeadStatistics {
    /** A head is a previous-token head when its mean previous-token share is above this (see the class comment). */
    public static final double PREVIOUS_TOKEN_THRESHOLD = 0.5;
    /** A head is an induction head when its induction score is above this (see the class comment). */
    public static final double INDUCTION_THRESHOLD = 0.4;

    private HeadStatistics() {
    }

    /**
     * One summary per head, layer by layer, head by head.
     *
     * @param inductionScores [layer][head] from {@link InductionTest#scores}, or null when no induction test ran (the
     *                        summaries then carry NaN and no induction flag)
     */
    public static List<HeadSummary> summarize(AttentionMaps maps, double[][] inductionScores) {
        if (inductionScores != null) {
            if (inductionScores.length != maps.layers()) {
                throw new IllegalArgumentException("induction scores for " + inductionScores.length + " layers, maps have "
                        + maps.layers());
            }
            for (double[] layer : inductionScores) {
                if (layer.length != maps.heads()) {
                    throw new IllegalArgumentException("induction scores for " + layer.length + " heads, maps have "
                            + maps.heads());
                }
            }
        }
        List<HeadSummary> all = new ArrayList<>(maps.layers() * maps.heads());
        for (int layer = 0; layer < maps.layers(); layer++) {
            for (int head = 0; head < maps.heads(); head++) {
                double induction = inductionScores == null ? Double.NaN : inductionScores[layer][head];
                all.add(summarize(maps, layer, head, induction));
            }
        }
        return all;
    }

    /** The summary of one head; {@code inductionScore} NaN when no induction test ran. */
    public static HeadSummary summarize(AttentionMaps maps, int layer, int head, double inductionScore) {
        int[] rows = maps.rows();
        float[][] weights = maps.weights()[layer][head]; // [rows][S]
        double entropy = 0;
        double previous = 0;
        double first = 0;
        double self = 0;
        int counted = 0;
        for (int r = 0; r < rows.length; r++) {
            int position = rows[r];
            float[] row = weights[r];
            if (position == 0 || sum(row) == 0) {
                continue;
            }
            entropy += entropy(row);
            previous += row[position - 1];
            first += row[0];
            self += row[position];
            counted++;
        }
        double n = counted; // 0 gives NaN means
        double previousShare = previous / n;
        boolean previousTokenHead = previousShare > PREVIOUS_TOKEN_THRESHOLD;
        boolean inductionHead = inductionScore > INDUCTION_THRESHOLD;
        return new HeadSummary(layer, head, entropy / n, previousShare, first / n, self / n, inductionScore,
                previousTokenHead, inductionHead);
    }

    /** The entropy in nats of one row of attention weights: −Σ p·ln p over the keys with p > 0. */
    public static double entropy(float[] row) {
        double h = 0;
        for (float p : row) {
            if (p > 0) {
                h -= p * Math.log(p);
            }
        }
        return h;
    }

    private static double sum(float[] row) {
        double s = 0;
        for (float p : row) {
            s += p;
        }
        return s;
    }
}
