package gpuinfer.check;

import java.util.Locale;

/**
 * An explicit tolerance: an element passes when {@code |got - want| <= atol + rtol * |want|}. Each precision has
 * its own constants; a looser one says why where it is defined.
 */
public record Tolerance(double atol, double rtol) {
    /**
     * float32 attention against a float64 reference. Measured errors on the test shapes (D up to 256, Sk up to a few
     * thousand, inputs ~N(0,1)) stay below 2e-6 absolute; this leaves a tenfold margin.
     */
    public static final Tolerance FP32_ATTENTION = new Tolerance(2e-5, 1e-4);

    /**
     * A float32 model forward against the double-accumulating CPU reference (or another float32 device), per
     * activation and for logits: errors of a few ulps per op compound over the layers. Measured maxima with
     * `gpu-infer compare`: 3.8e-6 absolute on the bundled model, 2.9e-6 on GPT-2 124M shapes (random weights);
     * this allows about thirty times that, and rtol covers the large activations of real checkpoints.
     */
    public static final Tolerance FP32_MODEL = new Tolerance(1e-4, 1e-4);

    /** float32 data written by NumPy and read back: bit-exact up to the float64-to-float32 rounding of the reference. */
    public static final Tolerance FP32_GOLDEN = new Tolerance(1e-6, 1e-5);

    /**
     * The normalised mean squared error (Σ(a − b)² / Σ a²) a model's tensors may show when its weight matrices run in
     * {@code format} instead of float32: each format's own rounding, compounded over the layers. Largest NMSE over
     * every tensor measured with `gpu-infer compare --a device=auto --b weights=FORMAT` (README, "Weight formats"):
     * bundled model / random GPT-2 124M shapes: F16 9.2e-8 / 5.2e-7, BF16 6.3e-6 / 3.2e-5, Q8_0 6.5e-5 / 3.2e-4,
     * Q4_0 1.7e-2 / 9.2e-2 (random weights of std 0.02 are the hard case: 4-bit rounding is a large share of them, and
     * twelve layers compound it). The limits leave a margin of about three over the larger figure; a wrong kernel
     * gives an NMSE near 1 or more.
     */
    public static double nmseLimit(gpuinfer.weights.WeightType format) {
        return switch (format) {
            case F32 -> 1e-9;
            case F16 -> 2e-6;
            case BF16 -> 1e-4;
            case Q8_0 -> 1e-3;
            case Q4_0 -> 0.25;
            default -> 0.25;
        };
    }

    public Tolerance {
        if (!(atol >= 0) || !(rtol >= 0)) {
            throw new IllegalArgumentException("tolerances must be non-negative: atol " + atol + ", rtol " + rtol);
        }
    }

    public boolean accepts(double got, double want) {
        return Math.abs(got - want) <= atol + rtol * Math.abs(want);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "atol %.1e, rtol %.1e", atol, rtol);
    }
}
