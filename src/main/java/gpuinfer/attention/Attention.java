package gpuinfer.attention;

import gpuinfer.tensor.Tensor;

/**
 * One implementation of attention: softmax(scale · Q·Kᵀ, masked) · V. Every implementation keeps the semantics of
 * {@link AttentionProblem}; the CPU reference ({@link CpuAttention}) defines them.
 */
public interface Attention extends AutoCloseable {
    /** The name {@code --impl} uses: cpu, naive, ... */
    String name();

    /**
     * Computes attention on host tensors: q [B,H,Sq,D], k and v [B,Hkv,Sk,D]; returns out [B,H,Sq,D].
     *
     * @throws gpuinfer.InputException when a tensor's shape does not match the problem
     */
    AttentionResult run(AttentionProblem problem, Tensor q, Tensor k, Tensor v);

    @Override
    default void close() {
    }

    /** Checks the three inputs against the problem's shape. */
    static void checkInputs(AttentionProblem problem, Tensor q, Tensor k, Tensor v) {
        AttentionShape s = problem.shape();
        check("q", q, s.queryShape());
        check("k", k, s.keyValueShape());
        check("v", v, s.keyValueShape());
    }

    private static void check(String role, Tensor t, int[] want) {
        if (!java.util.Arrays.equals(t.shape(), want)) {
            throw new gpuinfer.InputException(role + " has shape " + t.shapeString() + " but the problem needs "
                    + Tensor.describe(want));
        }
    }
}
