package gpuinfer.viz;

import gpuinfer.model.ModelConfig;
import gpuinfer.model.ModelWeights;
import gpuinfer.ops.Rope;
import gpuinfer.weights.WeightTensor;

/**
 * A model's positional encoding as data for plots ({@code gpu-infer viz positions}): the learned position table of
 * GPT-2 and the similarity of its rows, or the rotation frequencies of a rotary model and the relative-position
 * pattern they make.
 *
 * <p>How many positions: {@link #DEFAULT_POSITIONS} (256) unless asked otherwise, never more than the model's
 * context. 256 positions make [256, 256] matrices, legible at one pixel or more per cell, and cover the prompts
 * {@code viz} looks at; the whole context of GPT-2 (1024) can be asked for, that of a rotary model (up to 131072) is
 * too large for a [P, P] matrix, so the count is also capped at {@link #MAX_POSITIONS}.
 */
public final class Positions {
    /** Positions shown unless asked otherwise (see the class comment). */
    public static final int DEFAULT_POSITIONS = 256;
    /** The most positions a [P, P] matrix is built for: 4096² floats are 64 MiB. */
    public static final int MAX_POSITIONS = 4096;

    private Positions() {
    }

    /** One matrix to draw, with what its rows and columns are. */
    public record Matrix(String title, String rowAxis, String columnAxis, float[][] values) {
        public int rows() {
            return values.length;
        }

        public int columns() {
            return values.length == 0 ? 0 : values[0].length;
        }
    }

    /** A model's positional encoding, one of two kinds. */
    public sealed interface Encoding permits Learned, Rotary {
        /** The number of positions P shown. */
        int positions();
    }

    /**
     * A learned position table (GPT-2's {@code wpe}).
     *
     * @param contextPositions the table's rows (the model's context)
     * @param table            [P, C] the first P rows of the table
     * @param cosine           [P, P] cosine similarity of the rows: 1 on the diagonal, symmetric; NaN for a row of
     *                         zeros
     */
    public record Learned(int contextPositions, int width, Matrix table, Matrix cosine) implements Encoding {
        @Override
        public int positions() {
            return table.rows();
        }
    }

    /**
     * Rotary embeddings: pair k of the rotated values turns by {@code p·θ_k} at position p.
     *
     * @param dims                     rotated values per head (D; D/2 pairs)
     * @param theta                    the base frequency (NaN when the model file gave only frequencies)
     * @param inverseFrequency         [D/2] θ_k in radians per position, scaling applied (as {@link Rope} has them)
     * @param unscaledInverseFrequency [D/2] {@code theta^(-2k/D)} before any scaling, or null when theta is unknown
     * @param wavelength               [D/2] 2π/θ_k: positions per full turn of pair k
     * @param relativeScore            [P, P] Σ_k cos((i−j)·θ_k) / (D/2): the score of unit query and key vectors
     *                                 equal before rotation, at positions i and j; 1 on the diagonal, a function of
     *                                 i − j only
     * @param scoreByDistance          [P] the same score at distance d = i − j = 0 .. P−1
     * @param angle                    [P, D/2] {@code p·θ_k mod 2π}: the "clock hand" of each pair at each position
     */
    public record Rotary(int dims, double theta, double[] inverseFrequency, double[] unscaledInverseFrequency,
                         double[] wavelength, Matrix relativeScore, float[] scoreByDistance, Matrix angle)
            implements Encoding {
        @Override
        public int positions() {
            return relativeScore.rows();
        }

        /** Whether the frequencies differ from the plain {@code theta^(-2k/D)} (Llama 3 or linear scaling). */
        public boolean scaled() {
            if (unscaledInverseFrequency == null) {
                return false;
            }
            for (int k = 0; k < inverseFrequency.length; k++) {
                if (Math.abs(inverseFrequency[k] - unscaledInverseFrequency[k]) > 1e-12 * unscaledInverseFrequency[k]) {
                    return true;
                }
            }
            return false;
        }
    }

    /**
     * The positional encoding of a model: {@link Learned} from its position table, or {@link Rotary} from its rope.
     *
     * @param positions how many positions (P); clamped to the model's context and to {@link #MAX_POSITIONS}
     */
    public static Encoding of(ModelConfig config, ModelWeights weights, int positions) {
        int p = count(positions, config.nPositions());
        if (config.learnedPositions()) {
            return learned(weights.positionEmbedding, p);
        }
        return rotary(config.rope(), p);
    }

    /** The first {@code positions} rows of a position table [nPositions, C] and their cosine similarities. */
    public static Learned learned(WeightTensor positionTable, int positions) {
        if (positionTable == null || positionTable.shape().length != 2) {
            throw new IllegalArgumentException("a learned position table is a matrix [positions, width]");
        }
        int contextPositions = Math.toIntExact(positionTable.rows());
        int width = Math.toIntExact(positionTable.cols());
        int p = count(positions, contextPositions);
        float[] flat = new float[p * width];
        positionTable.floatRows(0, p, flat, 0);
        float[][] table = new float[p][];
        for (int i = 0; i < p; i++) {
            table[i] = java.util.Arrays.copyOfRange(flat, i * width, (i + 1) * width);
        }
        return learned(table, contextPositions);
    }

    /** The table [P, C] as given, and the cosine similarity of its rows, in double. */
    public static Learned learned(float[][] table, int contextPositions) {
        int p = table.length;
        int width = p == 0 ? 0 : table[0].length;
        double[] norm = new double[p];
        for (int i = 0; i < p; i++) {
            if (table[i].length != width) {
                throw new IllegalArgumentException("position " + i + " has " + table[i].length + " values, not " + width);
            }
            double s = 0;
            for (float v : table[i]) {
                s += (double) v * v;
            }
            norm[i] = Math.sqrt(s);
        }
        float[][] cosine = new float[p][p];
        for (int i = 0; i < p; i++) {
            for (int j = 0; j <= i; j++) {
                double dot = 0;
                for (int c = 0; c < width; c++) {
                    dot += (double) table[i][c] * table[j][c];
                }
                // a zero row has no direction: 0/0 gives NaN, kept on purpose
                float value = (float) (dot / (norm[i] * norm[j]));
                cosine[i][j] = value;
                cosine[j][i] = value;
            }
        }
        return new Learned(contextPositions, width,
                new Matrix("learned position embeddings", "position", "embedding dimension", table),
                new Matrix("cosine similarity of position embeddings", "position", "position", cosine));
    }

    /** The rotation frequencies of {@code rope} and the patterns they make over {@code positions} positions. */
    public static Rotary rotary(Rope rope, int positions) {
        int p = count(positions, Integer.MAX_VALUE);
        double[] frequency = rope.inverseFrequency(); // [D/2], a copy
        int pairs = frequency.length;
        double[] unscaled = null;
        if (!Double.isNaN(rope.theta())) {
            unscaled = new double[pairs];
            for (int k = 0; k < pairs; k++) {
                unscaled[k] = Math.pow(rope.theta(), -2.0 * k / rope.dims());
            }
        }
        double[] wavelength = new double[pairs];
        for (int k = 0; k < pairs; k++) {
            wavelength[k] = 2 * Math.PI / frequency[k];
        }
        // pass 1: the score at each distance d = 0 .. P-1 (cos is even, so distance -d scores the same)
        float[] byDistance = new float[p];
        for (int d = 0; d < p; d++) {
            double s = 0;
            for (int k = 0; k < pairs; k++) {
                s += Math.cos(d * frequency[k]);
            }
            byDistance[d] = (float) (s / pairs);
        }
        // pass 2: the Toeplitz matrix [P, P] of those scores
        float[][] score = new float[p][p];
        for (int i = 0; i < p; i++) {
            for (int j = 0; j < p; j++) {
                score[i][j] = byDistance[Math.abs(i - j)];
            }
        }
        // pass 3: each pair's angle at each position, reduced to [0, 2π)
        float[][] angle = new float[p][pairs];
        for (int pos = 0; pos < p; pos++) {
            for (int k = 0; k < pairs; k++) {
                angle[pos][k] = (float) floorMod(pos * frequency[k], 2 * Math.PI);
            }
        }
        return new Rotary(rope.dims(), rope.theta(), frequency, unscaled, wavelength,
                new Matrix("rotary score of equal unit query and key at positions i, j", "query position i",
                        "key position j", score),
                byDistance,
                new Matrix("rotation angle of each dimension pair (radians, mod 2π)", "position", "dimension pair",
                        angle));
    }

    private static double floorMod(double x, double m) {
        double r = x % m;
        return r < 0 ? r + m : r;
    }

    private static int count(int asked, int context) {
        if (asked < 1) {
            throw new IllegalArgumentException("positions to show must be at least 1, not " + asked);
        }
        return Math.min(Math.min(asked, context), MAX_POSITIONS);
    }
}
