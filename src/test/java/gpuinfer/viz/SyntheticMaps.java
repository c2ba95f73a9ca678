package gpuinfer.viz;

import java.util.ArrayList;
import java.util.List;

/** Hand-made attention maps whose statistics are known: one pattern per head, all rows captured. */
final class SyntheticMaps {
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
}
