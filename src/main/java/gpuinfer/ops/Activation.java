package gpuinfer.ops;

/** The activation a linear layer applies before its residual add. The codes are the kernel's {@code act} values. */
public enum Activation {
    NONE(0),
    /** GELU, tanh approximation (GPT-2's "gelu_new"): 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
    GELU_TANH(1),
    /** GELU, exact: 0.5·x·(1 + erf(x/√2)). */
    GELU_ERF(2);

    public final int code;

    Activation(int code) {
        this.code = code;
    }

    /** The reference computation, in double. */
    public double apply(double x) {
        return switch (this) {
            case NONE -> x;
            case GELU_TANH -> 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            case GELU_ERF -> 0.5 * x * (1 + Erf.erf(x / Math.sqrt(2)));
        };
    }
}
