package gpuinfer.model;

import gpuinfer.ops.Buf;

/**
 * Receives intermediate tensors of a forward pass by name, for comparisons layer by layer: "embeddings", then per
 * layer i "h.i.ln_1", "h.i.qkv", "h.i.attn_heads" (attention output, heads merged, before c_proj), "h.i.resid_attn"
 * (residual stream after the attention add), "h.i.ln_2", "h.i.mlp_hidden" (after GELU), "h.i.resid_block" (after
 * the MLP add), and "ln_f" (of the rows whose logits are computed). The default forward pass taps nothing.
 *
 * <p>A tap whose {@link #attentionInputs()} is true also receives, per layer i right after the heads are placed (and
 * before attention): "h.i.attn_q", the rotated queries [B, H, T, D] as B·H·T rows of D; "h.i.attn_k" and "h.i.attn_v",
 * the key and value caches [B, Hkv, maxSequence, D] as rows of D (only rows below each sequence's length after the
 * step are meaningful). From them the attention probabilities can be recomputed ({@code gpuinfer.viz.AttentionCapture}).
 */
@FunctionalInterface
public interface Tap {
    Tap NONE = (name, buf, rows, cols) -> { };

    /** A tensor of {@code rows x cols} floats at the start of {@code buf}; read it before returning. */
    void accept(String name, Buf buf, int rows, int cols);

    /** Whether this tap also wants each layer's attention inputs ("h.i.attn_q", "h.i.attn_k", "h.i.attn_v"). */
    default boolean attentionInputs() {
        return false;
    }

    /** Whether taps cost anything (the forward pass skips the calls when not). */
    default boolean active() {
        return this != NONE;
    }
}
