package gpuinfer.attention;

import gpuinfer.cl.KernelTiming;
import gpuinfer.tensor.Tensor;

import java.util.List;

/**
 * The output of one attention run and what it cost.
 *
 * @param out             [B, H, Sq, D]
 * @param lse             [B, H, Sq]: each row's log-sum-exp of its scaled, visible scores (natural log; negative
 *                        infinity for a row that sees no key). Partial results over disjoint key ranges merge by it.
 * @param kernels         each kernel launch, timed by the device's profiling events (empty on the CPU)
 * @param uploadMillis    host-to-device copies of q, k, v
 * @param computeMillis   from the first launch to the end of the last (wall clock), or the CPU computation
 * @param downloadMillis  device-to-host copy of the output
 * @param deviceBytes     device memory allocated for this run (inputs, output, workspace)
 */
public record AttentionResult(Tensor out, Tensor lse, List<KernelTiming> kernels, double uploadMillis, double computeMillis,
                              double downloadMillis, long deviceBytes) {
    /** Sum of the kernels' device times. */
    public double kernelMillis() {
        return kernels.stream().mapToDouble(KernelTiming::millis).sum();
    }
}
