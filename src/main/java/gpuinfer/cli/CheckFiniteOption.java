package gpuinfer.cli;

import picocli.CommandLine.Option;

/**
 * {@code --check-finite}: scan what a command computes for NaN and infinity. The one declaration (a picocli mixin)
 * for {@code run} and {@code attention}.
 */
final class CheckFiniteOption {
    @Option(names = "--check-finite", description = "Scan what is computed for NaN and infinity (run: every layer's "
            + "tensors and the logits at every step; attention: the output, and the log-sum-exp where a row sees "
            + "keys); report the first one with its tensor, element and step (exit status 1). Slower.")
    boolean checkFinite;
}
