package gpuinfer.ops;

import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClQueue;

/** The gate of a SwiGLU MLP: {@code y = silu(gate) · up}, silu(g) = g / (1 + e^-g); y, gate, up [R, I]. */
public final class SwiGlu {
    private SwiGlu() {
    }

    /** The CPU reference, in double. */
    public static void reference(float[] y, float[] gate, float[] up, int R, int I) {
        BufferChecks.positive("swiglu", "R, I", R, I);
        for (int i = 0; i < R * I; i++) {
            double g = gate[i];
            y[i] = (float) (g / (1 + Math.exp(-g)) * up[i]);
        }
    }

    /** Enqueues the kernel {@code swiglu} of {@code kernels/transformer.cl}; y may be gate or up. */
    public static void enqueue(TransformerKernels kernels, ClQueue queue, ClBuffer y, ClBuffer gate, ClBuffer up, int R,
                               int I) {
        BufferChecks.positive("swiglu", "R, I", R, I);
        BufferChecks.holdsFloats("swiglu", "gate [R, I]", gate, (long) R * I);
        BufferChecks.holdsFloats("swiglu", "up [R, I]", up, (long) R * I);
        BufferChecks.holdsFloats("swiglu", "y [R, I]", y, (long) R * I);
        kernels.swiglu.arg(0, gate).arg(1, up).arg(2, y).arg(3, R).arg(4, I);
        queue.launch(kernels.swiglu, kernels.copyGlobal(I, R), kernels.copyLocal(),
                new gpuinfer.cl.Cost(6.0 * R * I, 4.0 * 3 * R * I));
    }
}
