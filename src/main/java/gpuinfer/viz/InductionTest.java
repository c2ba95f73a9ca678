package gpuinfer.viz;

import gpuinfer.text.TokenType;
import gpuinfer.text.Tokenizer;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.IntPredicate;

/**
 * The induction test of the interpretability literature (Olsson et al. 2022, "In-context learning and induction
 * heads"): run the model on L random tokens repeated twice (after a BOS token where the tokenizer has one), and
 * measure for each head how much attention each token of the second copy pays to the token that followed its
 * earlier occurrence. A head that does "[A][B] ... [A] → attend to [B]" scores near 1; random tokens give the model
 * nothing else to go on, so ordinary language structure cannot score.
 *
 * <p>Layout of the sequence: {@code offset} (1 with BOS, else 0) then copy 1 at positions
 * {@code offset .. offset+L-1} and copy 2 at {@code offset+L .. offset+2L-1}. The token at position t of copy 2 first
 * appeared at t − L; the token after that is at t − L + 1, the induction target. The score of a head is the mean over
 * copy 2 of the weight from row t to key t − L + 1.
 *
 * <p>The L ids are drawn without repetition, so that every token of copy 2 has exactly one earlier occurrence.
 */
public final class InductionTest {
    /** The shortest sequence accepted: with L = 2 the induction target of t would be t − 1, the previous token. */
    public static final int MIN_LENGTH = 3;

    private InductionTest() {
    }

    /**
     * The test's token ids for a tokenizer: {@code bosId()} first when the tokenizer has one (GPT-2's
     * {@code <|endoftext|>} too), then L distinct random {@link TokenType#NORMAL} ids below
     * {@code min(modelVocabSize, tokenizer.vocabSize())}, twice.
     */
    public static int[] tokens(Tokenizer tokenizer, int modelVocabSize, int length, long seed) {
        int vocab = Math.min(modelVocabSize, tokenizer.vocabSize());
        int bos = tokenizer.bosId().isPresent() ? tokenizer.bosId().getAsInt() : -1;
        return tokens(vocab, length, seed, bos, id -> tokenizer.tokenType(id) == TokenType.NORMAL);
    }

    /**
     * The test's token ids: {@code bos} first unless it is negative, then L distinct random ids in
     * {@code [0, vocabSize)} other than {@code bos}, then the same L ids again. Same arguments, same ids.
     *
     * @param bos the BOS id, or -1 for none
     */
    public static int[] tokens(int vocabSize, int length, long seed, int bos) {
        return tokens(vocabSize, length, seed, bos, id -> true);
    }

    /** As {@link #tokens(int, int, long, int)}, drawing only ids that {@code usable} accepts (not special tokens). */
    public static int[] tokens(int vocabSize, int length, long seed, int bos, IntPredicate usable) {
        if (length < MIN_LENGTH) {
            throw new IllegalArgumentException("the induction test needs at least " + MIN_LENGTH + " random tokens, not "
                    + length);
        }
        if (bos >= vocabSize) {
            throw new IllegalArgumentException("BOS id " + bos + " is outside the vocabulary of " + vocabSize);
        }
        int[] candidates = java.util.stream.IntStream.range(0, vocabSize)
                .filter(id -> id != bos && usable.test(id)).toArray();
        if (candidates.length < length) {
            throw new IllegalArgumentException("the induction test needs " + length + " distinct ordinary tokens; the "
                    + "vocabulary has " + candidates.length);
        }
        // partial Fisher-Yates: the first `length` entries become a uniform random draw without repetition
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < length; i++) {
            int j = i + random.nextInt(candidates.length - i);
            int t = candidates[i];
            candidates[i] = candidates[j];
            candidates[j] = t;
        }
        int offset = bos >= 0 ? 1 : 0;
        int[] ids = new int[offset + 2 * length];
        if (bos >= 0) {
            ids[0] = bos;
        }
        System.arraycopy(candidates, 0, ids, offset, length);
        System.arraycopy(candidates, 0, ids, offset + length, length);
        return ids;
    }

    /**
     * The induction score [layer][head] of maps captured on a sequence from {@link #tokens}, every row of the second
     * copy captured. The layout is read from the ids: an odd length means a BOS at position 0; the two halves after
     * it must be equal.
     *
     * @throws IllegalArgumentException when the ids are not a repeated sequence or a row of copy 2 is missing
     */
    public static double[][] scores(AttentionMaps maps) {
        int[] ids = maps.tokenIds();
        int offset = ids.length % 2;
        int length = (ids.length - offset) / 2;
        if (length < MIN_LENGTH || !Arrays.equals(ids, offset, offset + length, ids, offset + length, offset + 2 * length)) {
            throw new IllegalArgumentException("these maps were not captured on an induction-test sequence (an optional "
                    + "BOS, then " + MIN_LENGTH + " or more tokens repeated twice): " + ids.length + " tokens");
        }
        return scores(maps, offset, length);
    }

    /** The induction scores [layer][head] of a sequence laid out as {@code offset} tokens, then L tokens twice. */
    public static double[][] scores(AttentionMaps maps, int offset, int length) {
        if (offset < 0 || length < MIN_LENGTH || offset + 2 * length != maps.sequenceLength()) {
            throw new IllegalArgumentException("offset " + offset + " and " + length + " tokens twice do not make the "
                    + maps.sequenceLength() + " positions of the maps");
        }
        double[][] scores = new double[maps.layers()][maps.heads()];
        for (int layer = 0; layer < maps.layers(); layer++) {
            for (int head = 0; head < maps.heads(); head++) {
                double sum = 0;
                for (int t = offset + length; t < offset + 2 * length; t++) {
                    sum += maps.row(layer, head, t)[t - length + 1];
                }
                scores[layer][head] = sum / length;
            }
        }
        return scores;
    }
}
