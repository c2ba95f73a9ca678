package gpuinfer.model;

import gpuinfer.ops.Buf;

/**
 * Receives intermediate tensors of a forward pass by name, for comparisons layer by layer: "embeddings", then per
 * layer i "h.i.ln_1", "h.i.qkv", "h.i.attn_heads" (attention output, heads merged, before c_proj), "h.i.resid_attn"
 * (residual stream after the attention add), "h.i.ln_2", "h.i.mlp_hidden" (after GELU), "h.i.resid_block" (after
 * the MLP add), and "ln_f" (of the rows whose logits are computed). The default forward pass taps nothing.
 */
@FunctionalInterface
public interface Tap {
    Tap NONE = (name, buf, rows, cols) -> { };

    /** A tensor of {@code rows x cols} floats at the start of {@code buf}; read it before returning. */
    void accept(String name, Buf buf, int rows, int cols);

    /** Whether taps cost anything (the forward pass skips the calls when not). */
    default boolean active() {
        return this != NONE;
    }
}
