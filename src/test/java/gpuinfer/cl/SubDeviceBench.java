package gpuinfer.cl;

import gpuinfer.attention.AttentionImpls;
import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionShape;
import gpuinfer.attention.ClAttention;
import gpuinfer.tensor.RandomTensors;
import gpuinfer.tensor.Tensor;

/**
 * Flash attention on the whole device against one sub-device of two (best of 3 kernel times), for judging a ring's
 * efficiency on one machine. A main, not a test (timings are not tests):
 * {@code java -cp target/classes:target/test-classes:target/lib/* gpuinfer.cl.SubDeviceBench}.
 */
public final class SubDeviceBench {
    private SubDeviceBench() {
    }

    public static void main(String[] args) {
        ClRuntime runtime = ClRuntime.get(ClRuntime.DEFAULT_BINDING);
        ClDevice device = runtime.select(args.length > 0 ? args[0] : "auto");
        AttentionShape shape = new AttentionShape(1, 8, 8, 2048, 2048, 64);
        AttentionProblem problem = AttentionProblem.of(shape, true);
        Tensor q = RandomTensors.gaussian(1, 0, shape.queryShape());
        Tensor k = RandomTensors.gaussian(1, 1, shape.keyValueShape());
        Tensor v = RandomTensors.gaussian(1, 2, shape.keyValueShape());
        double whole;
        try (ClContext context = runtime.createContext(device, ProgramCache.defaultCache())) {
            whole = bestKernelMillis(context, problem, q, k, v);
        }
        double half;
        try (SubDevices halves = device.partitionEqually(2);
             ClContext context = runtime.createContext(halves.get(0), ProgramCache.defaultCache())) {
            half = bestKernelMillis(context, problem, q, k, v);
        }
        System.out.printf("flash %s causal on '%s': whole device (%d CU) %.1f ms, one sub-device of two (%d CU) %.1f ms, "
                        + "ratio %.2f%n", shape, device.name(), device.info().computeUnits(), whole,
                device.info().computeUnits() / 2, half, half / whole);
    }

    private static double bestKernelMillis(ClContext context, AttentionProblem problem, Tensor q, Tensor k, Tensor v) {
        try (ClAttention flash = AttentionImpls.create("flash", context)) {
            double best = Double.MAX_VALUE;
            for (int i = 0; i < 3; i++) {
                best = Math.min(best, flash.run(problem, q, k, v).kernelMillis());
            }
            return best;
        }
    }
}
