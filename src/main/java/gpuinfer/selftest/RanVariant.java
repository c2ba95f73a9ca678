package gpuinfer.selftest;

import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.FlashAttention;
import gpuinfer.ops.Linear;
import gpuinfer.weights.WeightType;

import java.util.Optional;

/**
 * Which variant an op says it runs for a call: the self-test forces one variant per check and asks the op whether
 * that is what it ran, so that a variant the op cannot run here (it does not fit the device's limits, or this build
 * does not have it) is reported as not run rather than credited with another variant's result. The one place where
 * those questions are asked.
 */
final class RanVariant {
    private RanVariant() {
    }

    /**
     * The variant a linear op runs for {@code rows} rows of x and weights in {@code type}, or empty where the op cannot
     * tell.
     *
     * <p>PLUG-IN POINT: Linear.OnDevice gains {@code variant(rows, type)} (the GPU-shaped linear variants); once it
     * has, this method is {@code return Optional.of(op.variant(rows, type));}. Until then the op runs linear_rows or
     * linear_packed/linear_nt whatever the settings say, and a forced linear variant is credited with that result.
     */
    static Optional<String> linear(Linear.OnDevice op, int rows, WeightType type) {
        return Optional.empty();
    }

    /** The variant flash attention runs for {@code problem}: a name of Variants.FLASH_PREFILL or FLASH_DECODE. */
    static Optional<String> flash(FlashAttention op, AttentionProblem problem) {
        return Optional.of(op.variant(problem));
    }
}
