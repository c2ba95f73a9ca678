package gpuinfer.attention;

import gpuinfer.InputException;

import java.util.Arrays;

/**
 * One attention computation: a shape, causal masking, the score scale, and optional key-padding lengths.
 *
 * <p>Causal masking is bottom-right aligned: query row i sees keys j <= i + (Sk - Sq), as when the queries are the
 * last Sq positions of a sequence whose first Sk positions are in the KV cache. Key padding: batch b sees only keys
 * j < kvLens[b]. A row that sees no key at all (Sq > Sk when causal, or a padding length of 0) has output zero, not
 * NaN, and log-sum-exp negative infinity.
 *
 * @param scale  multiplies Q·Kᵀ before the softmax; 1/√D unless given
 * @param kvLens valid keys per batch entry (each 0..Sk), or null when every key is valid
 */
public record AttentionProblem(AttentionShape shape, boolean causal, float scale, int[] kvLens) {
    public AttentionProblem {
        if (!Float.isFinite(scale)) {
            throw new InputException("--scale must be a finite number, not " + scale);
        }
        if (kvLens != null) {
            if (kvLens.length != shape.batch()) {
                throw new InputException("--kv-lens has " + kvLens.length + " entries but the batch has B="
                        + shape.batch() + "; give one valid key length per batch entry.");
            }
            for (int len : kvLens) {
                if (len < 0 || len > shape.keyLen()) {
                    throw new InputException("--kv-lens entry " + len + " is outside 0.." + shape.keyLen()
                            + " (Sk=" + shape.keyLen() + ").");
                }
            }
            kvLens = kvLens.clone();
        }
    }

    public AttentionProblem(AttentionShape shape, boolean causal, float scale) {
        this(shape, causal, scale, null);
    }

    /** A problem with the default scale 1/√D and no key padding. */
    public static AttentionProblem of(AttentionShape shape, boolean causal) {
        return new AttentionProblem(shape, causal, defaultScale(shape.headDim()), null);
    }

    /** The same problem with key-padding lengths. */
    public AttentionProblem withKvLens(int[] lens) {
        return new AttentionProblem(shape, causal, scale, lens);
    }

    public static float defaultScale(int headDim) {
        return (float) (1.0 / Math.sqrt(headDim));
    }

    /** Valid keys of batch entry {@code b} (Sk without key padding). */
    public int kvLen(int b) {
        return kvLens == null ? shape.keyLen() : kvLens[b];
    }

    /** How many keys query row {@code i} of batch entry {@code b} sees: keys 0 .. visibleKeys(b, i) - 1. */
    public int visibleKeys(int b, int i) {
        int limit = kvLen(b);
        if (!causal) {
            return limit;
        }
        long last = (long) i + shape.keyLen() - shape.queryLen();
        return (int) Math.max(0, Math.min(limit, last + 1));
    }

    /** Query rows, over all batches and heads, that see no key (their output is zero). */
    public long rowsWithoutKeys() {
        long rows = 0;
        for (int b = 0; b < shape.batch(); b++) {
            for (int i = 0; i < shape.queryLen(); i++) {
                if (visibleKeys(b, i) == 0) {
                    rows++;
                }
            }
        }
        return rows * shape.heads();
    }

    /** Query-key pairs that are not masked, over all batches and heads. */
    public long visiblePairs() {
        long pairs = 0;
        for (int b = 0; b < shape.batch(); b++) {
            for (int i = 0; i < shape.queryLen(); i++) {
                pairs += visibleKeys(b, i);
            }
        }
        return pairs * shape.heads();
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof AttentionProblem p && shape.equals(p.shape) && causal == p.causal
                && Float.compare(scale, p.scale) == 0 && Arrays.equals(kvLens, p.kvLens);
    }

    @Override
    public int hashCode() {
        return (shape.hashCode() * 31 + Boolean.hashCode(causal)) * 31 + Float.hashCode(scale) * 17 + Arrays.hashCode(kvLens);
    }

    @Override
    public String toString() {
        return shape + (causal ? ", causal" : "") + ", scale " + scale
                + (kvLens == null ? "" : ", kv-lens " + Arrays.toString(kvLens));
    }
}
