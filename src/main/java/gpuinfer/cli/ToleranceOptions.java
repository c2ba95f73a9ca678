package gpuinfer.cli;

import gpuinfer.InputException;
import gpuinfer.check.Tolerance;
import picocli.CommandLine.Option;

/**
 * {@code --atol X} and {@code --rtol X}: the tolerance of a check, {@code |a - b| <= atol + rtol * |ref|}, each
 * replacing one half of the command's own default for the precision it checks (a picocli mixin; the one
 * declaration of both options).
 *
 * <p>How a command uses it: {@code @Mixin ToleranceOptions tolerance;} then
 * {@code Tolerance t = tolerance.over(Tolerance.FP32_ATTENTION);} with the command's default (the per-precision
 * defaults are the constants of {@link Tolerance}; README's compare section lists them, and the descriptions below
 * name them, so a new per-precision default belongs there too).
 */
public final class ToleranceOptions {
    @Option(names = "--atol", paramLabel = "X", description = "Absolute tolerance: an element passes when |a - b| <= "
            + "atol + rtol * |reference| (default: the command's own for the precision it checks, stated in its output: "
            + "2e-5 for float32 attention, 1e-4 for a float32 model's activations and logits).")
    Double atol;

    @Option(names = "--rtol", paramLabel = "X", description = "Relative tolerance (default: the command's own for the "
            + "precision it checks, stated in its output: 1e-4 for float32).")
    Double rtol;

    /** The command's default with --atol and --rtol, where given, in place of its halves. */
    Tolerance over(Tolerance defaults) {
        try {
            return new Tolerance(atol != null ? atol : defaults.atol(), rtol != null ? rtol : defaults.rtol());
        } catch (IllegalArgumentException e) {
            throw new InputException("--atol and --rtol must be non-negative.");
        }
    }
}
