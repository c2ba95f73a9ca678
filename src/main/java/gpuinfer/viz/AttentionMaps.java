package gpuinfer.viz;

import java.util.List;

/**
 * The attention probabilities of one sequence: for every layer and head, the rows (query positions) that were asked
 * for, each over every key position of the sequence. Recomputed in double precision from the queries and keys the
 * device computed (flash attention never stores them), so a row's weights sum to 1 and a causal row's weights past
 * its own position are exactly 0.
 *
 * @param model     what ran (the model's path or name), for titles
 * @param tokens    the sequence's tokens as text, one per position ({@code tokens.size()} = S)
 * @param tokenIds  the token ids, one per position
 * @param layers    number of layers
 * @param heads     query heads per layer
 * @param rows      the query positions captured, ascending (all of 0..S-1 for short prompts)
 * @param weights   [layer][head][index into rows][key position 0..S-1]
 * @param interventions a description of the interventions applied to the run ("" when none)
 */
public record AttentionMaps(String model, List<String> tokens, int[] tokenIds, int layers, int heads, int[] rows,
                            float[][][][] weights, String interventions) {
    public int sequenceLength() {
        return tokens.size();
    }

    /** The weights of one row (a query position that is in {@link #rows}) of one head. */
    public float[] row(int layer, int head, int position) {
        for (int i = 0; i < rows.length; i++) {
            if (rows[i] == position) {
                return weights[layer][head][i];
            }
        }
        throw new IllegalArgumentException("position " + position + " was not captured; rows are " + java.util.Arrays.toString(rows));
    }
}
