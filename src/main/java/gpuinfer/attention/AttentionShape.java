package gpuinfer.attention;

import gpuinfer.InputException;

/**
 * The shape of one attention problem. Q and the output are [B, H, Sq, D]; K and V are [B, Hkv, Sk, D]; query head h
 * reads kv head h / (H / Hkv) (grouped-query attention; Hkv must divide H).
 *
 * @param batch    B
 * @param heads    H, query heads
 * @param kvHeads  Hkv, key/value heads
 * @param queryLen Sq, query positions
 * @param keyLen   Sk, key/value positions
 * @param headDim  D
 */
public record AttentionShape(int batch, int heads, int kvHeads, int queryLen, int keyLen, int headDim) {
    public AttentionShape {
        if (batch < 1 || heads < 1 || kvHeads < 1 || queryLen < 1 || keyLen < 1 || headDim < 1) {
            throw new InputException("Attention shape " + describe(batch, heads, kvHeads, queryLen, keyLen, headDim)
                    + " has a dimension below 1; every dimension must be at least 1.");
        }
        if (heads % kvHeads != 0) {
            throw new InputException("Attention shape " + describe(batch, heads, kvHeads, queryLen, keyLen, headDim)
                    + ": Hkv=" + kvHeads + " does not divide H=" + heads + " (each kv head serves H/Hkv query heads).");
        }
        long largest = Math.max(4L * batch * heads * queryLen * headDim, 4L * batch * kvHeads * keyLen * headDim) / 4;
        if (largest > Integer.MAX_VALUE - 8) {
            throw new InputException("Attention shape " + describe(batch, heads, kvHeads, queryLen, keyLen, headDim)
                    + " needs a tensor of " + largest + " values; gpu-infer holds at most 2^31 - 9 per host tensor.");
        }
    }

    /**
     * Parses "B,H,Hkv,Sq,Sk,D", as {@code --shape} takes it.
     *
     * @throws InputException naming the expected form
     */
    public static AttentionShape parse(String text) {
        String[] parts = text.trim().split("\\s*,\\s*");
        if (parts.length != 6) {
            throw new InputException("--shape '" + text + "' must have six comma-separated integers: B,H,Hkv,Sq,Sk,D "
                    + "(for example 1,12,12,1024,1024,64).");
        }
        int[] v = new int[6];
        for (int i = 0; i < 6; i++) {
            try {
                v[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new InputException("--shape '" + text + "': '" + parts[i] + "' is not an integer. Expected "
                        + "B,H,Hkv,Sq,Sk,D, e.g. 1,12,12,1024,1024,64.");
            }
        }
        return new AttentionShape(v[0], v[1], v[2], v[3], v[4], v[5]);
    }

    /** H / Hkv: how many query heads share one kv head. */
    public int groupSize() {
        return heads / kvHeads;
    }

    public int[] queryShape() {
        return new int[] {batch, heads, queryLen, headDim};
    }

    public int[] keyValueShape() {
        return new int[] {batch, kvHeads, keyLen, headDim};
    }

    public int[] outputShape() {
        return queryShape();
    }

    public long queryElements() {
        return (long) batch * heads * queryLen * headDim;
    }

    public long keyValueElements() {
        return (long) batch * kvHeads * keyLen * headDim;
    }

    /** B·H·Sq·Sk: entries of the full score matrix. */
    public long scoreElements() {
        return (long) batch * heads * queryLen * keyLen;
    }

    /** "B=2 H=8 Hkv=2 Sq=77 Sk=300 D=64". */
    @Override
    public String toString() {
        return describe(batch, heads, kvHeads, queryLen, keyLen, headDim);
    }

    private static String describe(int b, int h, int hkv, int sq, int sk, int d) {
        return "B=" + b + " H=" + h + " Hkv=" + hkv + " Sq=" + sq + " Sk=" + sk + " D=" + d;
    }
}
