package gpuinfer.cli;

import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionShape;
import picocli.CommandLine.Option;

/**
 * {@code --causal}, {@code --scale}, {@code --kv-lens}: which keys each query sees and how scores are scaled. The one
 * declaration (a picocli mixin) for {@code attention}, {@code compare attention} and {@code profile attention}.
 */
final class AttentionMaskOptions {
    @Option(names = "--causal", description = "Mask keys after each query (bottom-right aligned: the last query sees "
            + "every key).")
    boolean causal;

    @Option(names = "--scale", paramLabel = "X", description = "Score scale (default: 1/sqrt(D)).")
    Float scale;

    @Option(names = "--kv-lens", split = ",", paramLabel = "L1,L2,...",
            description = "Key padding: batch entry b sees only keys j < L_b (one length per batch entry).")
    int[] kvLens;

    /** The problem of this shape with these options. */
    AttentionProblem problem(AttentionShape shape) {
        return new AttentionProblem(shape, causal, scale == null ? AttentionProblem.defaultScale(shape.headDim()) : scale,
                kvLens);
    }
}
