package gpuinfer.attention;

import gpuinfer.cl.ClBuffer;

/**
 * The device buffers of one attention call.
 *
 * @param q        [B, H, Sq, D]
 * @param k        [B, Hkv, kvStride, D]: the first Sk rows of each kv head are used
 * @param v        [B, Hkv, kvStride, D]
 * @param out      [B, H, Sq, D]
 * @param lse      [B, H, Sq]: each row's log-sum-exp (natural log; negative infinity for a row without keys)
 * @param kvLens   [B] int32 valid keys per batch entry, or null when the problem has no key padding
 * @param kvStride rows allocated per kv head in k and v (Sk for packed inputs; the capacity of a KV cache)
 */
public record AttentionBuffers(ClBuffer q, ClBuffer k, ClBuffer v, ClBuffer out, ClBuffer lse, ClBuffer kvLens,
                               int kvStride) {
}
