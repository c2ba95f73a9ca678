package gpuinfer.bench;

import gpuinfer.model.ModelConfig;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One matrix product of a model's prefill, in gpu-infer's layout: y[R, N] = x[R, K] · W[N, K]ᵀ (R prompt rows, N
 * outputs, K inputs), float32, row-major. {@code label} names the projections that have this shape.
 */
public record PrefillGemm(String label, int rows, int outputs, int inputs) {
    public PrefillGemm {
        if (rows < 1 || outputs < 1 || inputs < 1) {
            throw new IllegalArgumentException("GEMM shape " + rows + " x " + outputs + " x " + inputs);
        }
    }

    /** 2·R·N·K: one multiply and one add per term. */
    public double flops() {
        return 2.0 * rows * outputs * inputs;
    }

    /** "R,N,K", as the CLBlast child process takes it. */
    public String dims() {
        return rows + "," + outputs + "," + inputs;
    }

    /**
     * The distinct products of a prefill of {@code T} tokens, projections of the same shape merged into one row:
     * q/k/v (fused for GPT-2, separate for the Llama family: k and v have Hkv·D outputs), the attention output,
     * the MLP's up (and gate) and down projections, and the output head for every row (what {@code run --logits-out}
     * and {@code compare} compute; generation needs only the last row).
     */
    public static List<PrefillGemm> forModel(ModelConfig c, boolean fusedQkv, int T) {
        int C = c.nEmbd();
        Map<List<Integer>, List<String>> labels = new LinkedHashMap<>();
        if (fusedQkv) {
            add(labels, "q/k/v (fused)", T, c.qDim() + 2 * c.kvDim(), C);
        } else {
            add(labels, "q", T, c.qDim(), C);
            add(labels, "k, v", T, c.kvDim(), C);
        }
        add(labels, "attention out", T, C, c.qDim());
        add(labels, c.mlp() == ModelConfig.Mlp.SWIGLU ? "mlp gate, up" : "mlp up", T, c.nInner(), C);
        add(labels, "mlp down", T, C, c.nInner());
        add(labels, "head (every row)", T, c.vocabSize(), C);
        List<PrefillGemm> result = new ArrayList<>();
        labels.forEach((dims, names) -> result.add(new PrefillGemm(String.join(", ", names), dims.get(0), dims.get(1), dims.get(2))));
        return result;
    }

    private static void add(Map<List<Integer>, List<String>> labels, String label, int R, int N, int K) {
        labels.computeIfAbsent(List.of(R, N, K), k -> new ArrayList<>()).add(label);
    }

    /** Outputs of y checked against double precision per product. */
    static final int SAMPLES = 64;
    /**
     * The error allowed per checked output, as a fraction of Σ|x·w| of its dot product: float32 summation of K terms
     * in any order stays near 1e-7 of it, a product of the wrong layout or transpose is off by about 1.
     */
    public static final double ERROR_LIMIT = 1e-5;

    /**
     * The largest error of {@link #SAMPLES} outputs of y spread over the matrix, each against the double-precision
     * dot product of the same float32 inputs and relative to Σ|x·w| of that product (so that the figure does not
     * grow with K or the data's magnitude).
     */
    public static double worstError(float[] x, float[] w, float[] y, int R, int N, int K) {
        long outputs = (long) R * N;
        int samples = (int) Math.min(SAMPLES, outputs);
        long stride = outputs / samples;
        double worst = 0;
        for (int s = 0; s < samples; s++) {
            long index = s * stride + (s * 7919L) % stride;
            int r = (int) (index / N);
            int n = (int) (index % N);
            double sum = 0;
            double magnitude = 0;
            for (int k = 0; k < K; k++) {
                double term = (double) x[r * K + k] * w[n * K + k];
                sum += term;
                magnitude += Math.abs(term);
            }
            double error = Math.abs(y[(int) index] - sum) / Math.max(magnitude, Double.MIN_NORMAL);
            worst = Double.isNaN(error) ? Double.NaN : Math.max(worst, error);
            if (Double.isNaN(worst)) {
                return worst;
            }
        }
        return worst;
    }
}
