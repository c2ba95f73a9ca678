package gpuinfer.viz;

import java.util.ArrayList;
import java.util.List;

/**
 * Hand-made attention maps: for the statistics tests, one known pattern per head with all rows captured ({@link #of});
 * for the rendering tests, 2 layers x 3 heads over tokens that would break a careless page ({@link #maps}).
 */
final class SyntheticMaps {
    /** Tokens that would break a careless page: markup, quotes, a script end, an entity, a newline, non-ASCII. */
    static final List<String> TOKENS = List.of("<s>", "The", " \"cat\"", "</script>", "&amp;", " sat", "\n", "é",
            "<!--", " on", "'", " mat");

    private SyntheticMaps() {
    }

    /** A head's row at a query position: weights over keys 0..S-1, zero past the position. */
    interface Pattern {
        float[] row(int position, int sequenceLength);
    }

    static final Pattern PREVIOUS = (i, s) -> oneHot(s, Math.max(i - 1, 0));
    static final Pattern SINK = (i, s) -> oneHot(s, 0);
    static final Pattern SELF = (i, s) -> oneHot(s, i);
    static final Pattern UNIFORM = (i, s) -> {
        float[] row = new float[s];
        for (int j = 0; j <= i; j++) {
            row[j] = 1f / (i + 1);
        }
        return row;
    };

    static float[] oneHot(int s, int key) {
        float[] row = new float[s];
        row[key] = 1;
        return row;
    }

    /** One layer with the given heads over these token ids, every row captured. */
    static AttentionMaps of(int[] ids, Pattern... heads) {
        int s = ids.length;
        int[] rows = new int[s];
        float[][][][] weights = new float[1][heads.length][s][];
        for (int h = 0; h < heads.length; h++) {
            for (int i = 0; i < s; i++) {
                rows[i] = i;
                weights[0][h][i] = heads[h].row(i, s);
            }
        }
        List<String> tokens = new ArrayList<>();
        for (int id : ids) {
            tokens.add("t" + id);
        }
        return new AttentionMaps("synthetic", tokens, ids, 1, heads.length, rows, weights, "");
    }

    static int[] range(int s) {
        int[] ids = new int[s];
        for (int i = 0; i < s; i++) {
            ids[i] = i;
        }
        return ids;
    }

    /**
     * 2 layers × 3 heads over {@link #TOKENS}. Layer 0: head 0 is a previous-token head (row p one-hot at p-1, row 0 at
     * 0), head 1 a first-token head (one-hot at 0), head 2 uniform over 0..p. Layer 1: head 0 self (one-hot at p), head
     * 1 uniform, head 2 previous-token again.
     */
    static AttentionMaps maps(int[] rows) {
        int s = TOKENS.size();
        int layers = 2;
        int heads = 3;
        float[][][][] weights = new float[layers][heads][rows.length][s];
        for (int i = 0; i < rows.length; i++) {
            int p = rows[i];
            weights[0][0][i][Math.max(0, p - 1)] = 1;
            weights[0][1][i][0] = 1;
            weights[1][0][i][p] = 1;
            weights[1][2][i][Math.max(0, p - 1)] = 1;
            for (int k = 0; k <= p; k++) {
                weights[0][2][i][k] = 1f / (p + 1);
                weights[1][1][i][k] = 1f / (p + 1);
            }
        }
        int[] ids = new int[s];
        for (int i = 0; i < s; i++) {
            ids[i] = 100 + i;
        }
        return new AttentionMaps("models/synthetic<&>.gguf", TOKENS, ids, layers, heads, rows, weights,
                "ablate L0H1");
    }

    static AttentionMaps allRows() {
        int[] rows = new int[TOKENS.size()];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = i;
        }
        return maps(rows);
    }

    static List<HeadSummary> summary() {
        List<HeadSummary> out = new ArrayList<>();
        for (int l = 0; l < 2; l++) {
            for (int h = 0; h < 3; h++) {
                boolean previous = (l == 0 && h == 0) || (l == 1 && h == 2);
                out.add(new HeadSummary(l, h, h == 2 ? 1.2 : 0.0, previous ? 0.92 : 0.1, h == 1 ? 1.0 : 0.2, 0.1,
                        l == 1 ? 0.4 : Double.NaN, previous, l == 1 && h == 1));
            }
        }
        return out;
    }

    static TopTokens nextTokens() {
        return new TopTokens(
                List.of(new TopTokens.Candidate(" mat", 0.5), new TopTokens.Candidate("</script>", 0.2)),
                List.of(new TopTokens.Candidate(" rug", 0.4), new TopTokens.Candidate(" <b>", 0.3)));
    }
}
