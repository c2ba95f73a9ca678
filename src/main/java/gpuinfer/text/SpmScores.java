package gpuinfer.text;

import java.util.Arrays;

/**
 * Scores for llama.cpp's SentencePiece algorithm ({@link Spm}) made from a Hugging Face BPE vocabulary and its merges,
 * so that a GGUF file written from a {@code tokenizer.json} (which has merges but no scores) tokenizes as the
 * {@code tokenizer.json} does: a token made by a merge scores minus the rank of the first merge that makes it, so
 * earlier merges are preferred exactly as BPE prefers them. Every other token (single characters, {@code <0xNN>}
 * bytes, control and added tokens) scores {@link #NOT_MERGED}, below every merged token: llama.cpp never consults
 * the score of a token that no pair of symbols concatenates to, and one that a pair does concatenate to without a
 * merge for it (which Hugging Face would never produce) is taken only last.
 *
 * <p>Checked against Hugging Face's ids on the Mistral tokenizer in {@code SpmScoresTest}.
 */
public final class SpmScores {
    /** The score of a token that no merge makes. */
    public static final float NOT_MERGED = -1e9f;

    private SpmScores() {
    }

    static float[] fromMerges(int vocabSize, MergeTable merges) {
        int[] rank = merges.firstRankOfMerged(vocabSize);
        float[] scores = new float[vocabSize];
        Arrays.fill(scores, NOT_MERGED);
        for (int id = 0; id < vocabSize; id++) {
            if (rank[id] >= 0) {
                scores[id] = -rank[id];
            }
        }
        return scores;
    }
}
