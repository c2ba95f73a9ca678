package gpuinfer.model;

import gpuinfer.ops.Buf;

/**
 * Receives intermediate tensors of a forward pass by name (e.g. "h.3.mlp_out"), for comparisons layer by layer.
 * The default forward pass taps nothing.
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
