package gpuinfer.ops;

/** The gate of a SwiGLU MLP: {@code y = silu(gate) · up}, silu(g) = g / (1 + e^-g); y, gate, up [R, I]. */
public final class SwiGlu {
    private SwiGlu() {
    }

    /** The CPU reference, in double. */
    public static void reference(float[] y, float[] gate, float[] up, int R, int I) {
        for (int i = 0; i < R * I; i++) {
            double g = gate[i];
            y[i] = (float) (g / (1 + Math.exp(-g)) * up[i]);
        }
    }
}
