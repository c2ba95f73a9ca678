package gpuinfer.ops;

import java.util.Arrays;

/**
 * Rotary position embedding (RoPE, Su et al. 2021) as a model configures it: the first {@code dims} values of every
 * query and key head are rotated in pairs, pair i by the angle {@code position · inverseFrequency[i]}; values past
 * {@code dims} are left alone.
 *
 * <p>Two element orders are in use and they are not interchangeable: {@link Order#INTERLEAVED} rotates
 * {@code (x[2i], x[2i+1])} (the original paper, Meta's Llama code, GGUF's {@code llama} layout, whose converter
 * permutes the q and k rows to it); {@link Order#HALVES} rotates {@code (x[i], x[i + dims/2])} (Hugging Face's
 * {@code rotate_half}, GPT-NeoX, and GGUF's {@code qwen2}).
 *
 * <p>The inverse frequencies are {@code theta^(-2i/dims)}, then scaled as the model says ({@link #of}): Llama 3's
 * smooth per-band scaling, or plain linear position interpolation. They are computed in double; so are the cosines
 * and sines of every (position, pair), so the rotation is exact to float32 rounding at any position (implementations
 * that form the angle in float32 lose ~position·6e-8 radians).
 *
 * @param dims              rotated values per head (even, at most the head size)
 * @param order             which values form a pair
 * @param inverseFrequency  [dims/2] radians per position for each pair
 * @param theta             the base the frequencies were derived from before any scaling (NaN when unknown)
 */
public record Rope(int dims, Order order, double[] inverseFrequency, double theta) {
    /** Which two values of a head form a rotated pair. */
    public enum Order {
        /** (x[2i], x[2i+1]): GGUF llama, Meta's reference code. */
        INTERLEAVED,
        /** (x[i], x[i + dims/2]): Hugging Face rotate_half, GPT-NeoX, GGUF qwen2. */
        HALVES
    }

    public Rope {
        if (dims < 2 || dims % 2 != 0 || inverseFrequency.length != dims / 2) {
            throw new IllegalArgumentException("rope over " + dims + " values needs an even count and " + dims / 2
                    + " frequencies, not " + inverseFrequency.length);
        }
        inverseFrequency = inverseFrequency.clone();
    }

    /** A rope with these frequencies and no known base. */
    public Rope(int dims, Order order, double[] inverseFrequency) {
        this(dims, order, inverseFrequency, Double.NaN);
    }

    /**
     * Llama 3's frequency scaling (Hugging Face {@code rope_type: "llama3"}; llama.cpp stores the result as the
     * {@code rope_freqs} tensor): wavelengths shorter than {@code originalContext / highFrequencyFactor} keep their
     * frequency, those longer than {@code originalContext / lowFrequencyFactor} are divided by {@code factor}, and
     * the band between is interpolated smoothly.
     */
    public record Llama3Scaling(double factor, double lowFrequencyFactor, double highFrequencyFactor, int originalContext) {
        public Llama3Scaling {
            if (!(factor >= 1) || !(lowFrequencyFactor > 0) || !(highFrequencyFactor > lowFrequencyFactor) || originalContext < 1) {
                throw new IllegalArgumentException("llama3 rope scaling needs factor >= 1, 0 < low_freq_factor < "
                        + "high_freq_factor and original_max_position_embeddings >= 1, not factor " + factor
                        + ", low " + lowFrequencyFactor + ", high " + highFrequencyFactor + ", original " + originalContext);
            }
        }

        double scale(double frequency) {
            double wavelength = 2 * Math.PI / frequency;
            double lowWavelength = originalContext / lowFrequencyFactor;
            double highWavelength = originalContext / highFrequencyFactor;
            if (wavelength < highWavelength) {
                return frequency;
            }
            if (wavelength > lowWavelength) {
                return frequency / factor;
            }
            double smooth = (originalContext / wavelength - lowFrequencyFactor) / (highFrequencyFactor - lowFrequencyFactor);
            return (1 - smooth) * frequency / factor + smooth * frequency;
        }
    }

    /**
     * The rope of a model.
     *
     * @param theta        the base (rope_theta, {@code rope.freq_base}), e.g. 10000 or 500000
     * @param linearFactor positions divided by this (linear scaling; 1 for none)
     * @param llama3       Llama 3's scaling, or null
     */
    public static Rope of(int dims, Order order, double theta, double linearFactor, Llama3Scaling llama3) {
        if (!(theta > 1)) {
            throw new IllegalArgumentException("rope theta must be > 1, not " + theta);
        }
        if (!(linearFactor > 0)) {
            throw new IllegalArgumentException("rope linear scaling factor must be > 0, not " + linearFactor);
        }
        double[] f = new double[dims / 2];
        for (int i = 0; i < f.length; i++) {
            f[i] = Math.pow(theta, -2.0 * i / dims) / linearFactor;
            if (llama3 != null) {
                f[i] = llama3.scale(f[i]);
            }
        }
        return new Rope(dims, order, f, theta);
    }

    /**
     * How much each pair's frequency is divided relative to the plain {@code theta^(-2i/dims)}: llama.cpp's
     * {@code rope_freqs} factors (1 everywhere for an unscaled rope).
     */
    public float[] frequencyFactors() {
        if (Double.isNaN(theta)) {
            throw new IllegalStateException("this rope has no known base frequency");
        }
        float[] factors = new float[dims / 2];
        for (int i = 0; i < factors.length; i++) {
            factors[i] = (float) (Math.pow(theta, -2.0 * i / dims) / inverseFrequency[i]);
        }
        return factors;
    }

    /** The same rotation with the other pair order (for a weight layout permuted to match). */
    public Rope withOrder(Order newOrder) {
        return new Rope(dims, newOrder, inverseFrequency, theta);
    }

    /** This rope with each pair's frequency divided by {@code factors[i]} (GGUF's {@code rope_freqs} tensor). */
    public Rope dividedBy(float[] factors) {
        if (factors.length != inverseFrequency.length) {
            throw new IllegalArgumentException(factors.length + " frequency factors for " + inverseFrequency.length + " pairs");
        }
        double[] f = inverseFrequency.clone();
        for (int i = 0; i < f.length; i++) {
            f[i] /= factors[i];
        }
        return new Rope(dims, order, f, theta);
    }

    /**
     * The cosines and sines of every row's angles: {@code [positions.length, dims/2, 2]} (cos, sin), computed in
     * double and rounded once.
     */
    public float[] table(int[] positions) {
        int pairs = dims / 2;
        float[] table = new float[positions.length * pairs * 2];
        for (int r = 0; r < positions.length; r++) {
            for (int i = 0; i < pairs; i++) {
                double angle = positions[r] * inverseFrequency[i];
                table[(r * pairs + i) * 2] = (float) Math.cos(angle);
                table[(r * pairs + i) * 2 + 1] = (float) Math.sin(angle);
            }
        }
        return table;
    }

    /** Index of the second value of pair i within a head (the first is {@link #first}). */
    public int second(int i) {
        return order == Order.INTERLEAVED ? 2 * i + 1 : i + dims / 2;
    }

    /** Index of the first value of pair i within a head. */
    public int first(int i) {
        return order == Order.INTERLEAVED ? 2 * i : i;
    }

    /** Rotates one head {@code x[offset .. offset + dims)} in place at {@code position}, in double (the reference). */
    public void rotate(float[] x, int offset, int position) {
        for (int i = 0; i < dims / 2; i++) {
            double angle = position * inverseFrequency[i];
            double c = Math.cos(angle);
            double s = Math.sin(angle);
            int a = offset + first(i);
            int b = offset + second(i);
            double x0 = x[a];
            double x1 = x[b];
            x[a] = (float) (x0 * c - x1 * s);
            x[b] = (float) (x0 * s + x1 * c);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Rope r && r.dims == dims && r.order == order && Arrays.equals(r.inverseFrequency, inverseFrequency)
                && Double.compare(r.theta, theta) == 0;
    }

    @Override
    public int hashCode() {
        return 31 * (31 * dims + order.hashCode()) + Arrays.hashCode(inverseFrequency);
    }

    @Override
    public String toString() {
        return "rope " + dims + " dims, " + order.name().toLowerCase() + ", base frequency " + inverseFrequency[0]
                + " .. " + inverseFrequency[inverseFrequency.length - 1];
    }
}
