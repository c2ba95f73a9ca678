package gpuinfer.attention;

import gpuinfer.InputException;

/**
 * One attention computation: a shape, causal masking, and the score scale.
 *
 * <p>Causal masking is bottom-right aligned: query row i sees keys j <= i + (Sk - Sq), as when the queries are the
 * last Sq positions of a sequence whose first Sk positions are in the KV cache. When Sq > Sk, the first Sq - Sk rows
 * see no key at all; their output is zero (not NaN).
 *
 * @param scale multiplies Q·Kᵀ before the softmax; 1/√D unless given
 */
public record AttentionProblem(AttentionShape shape, boolean causal, float scale) {
    public AttentionProblem {
        if (!Float.isFinite(scale)) {
            throw new InputException("--scale must be a finite number, not " + scale);
        }
    }

    /** A problem with the default scale 1/√D. */
    public static AttentionProblem of(AttentionShape shape, boolean causal) {
        return new AttentionProblem(shape, causal, defaultScale(shape.headDim()));
    }

    public static float defaultScale(int headDim) {
        return (float) (1.0 / Math.sqrt(headDim));
    }

    /** How many keys query row {@code i} sees: keys 0 .. visibleKeys(i) - 1. */
    public int visibleKeys(int i) {
        if (!causal) {
            return shape.keyLen();
        }
        long last = (long) i + shape.keyLen() - shape.queryLen();
        return (int) Math.max(0, Math.min(shape.keyLen(), last + 1));
    }

    /** Query rows, over all batches and heads, that see no key (their output is zero). */
    public long rowsWithoutKeys() {
        long perHead = 0;
        for (int i = 0; i < shape.queryLen(); i++) {
            if (visibleKeys(i) == 0) {
                perHead++;
            }
        }
        return perHead * shape.batch() * shape.heads();
    }

    /** Query-key pairs that are not masked, over all batches and heads. */
    public long visiblePairs() {
        long perHead = 0;
        for (int i = 0; i < shape.queryLen(); i++) {
            perHead += visibleKeys(i);
        }
        return perHead * shape.batch() * shape.heads();
    }
}
