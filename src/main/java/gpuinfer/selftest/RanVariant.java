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

    /** The variant a linear op runs for {@code rows} rows of x and weights in {@code type} ("linear_matvec/q8_0"). */
    static Optional<String> linear(Linear.OnDevice op, int rows, WeightType type) {
        return Optional.of(op.variant(rows, type));
    }

    /** The variant flash attention runs for {@code problem}: a name of Variants.FLASH_PREFILL or FLASH_DECODE. */
    static Optional<String> flash(FlashAttention op, AttentionProblem problem) {
        return Optional.of(op.variant(problem));
    }
}
