package gpuinfer.ops;

import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.CpuAttention;
import gpuinfer.weights.WeightTensor;
import gpuinfer.weights.WeightType;

/** The Java CPU reference of every op: plain loops, double accumulation. */
public final class CpuBackend implements Backend {
    /** A host buffer. */
    record HostBuf(String name, float[] data) implements Buf {
        @Override
        public long size() {
            return data.length;
        }
    }

    /** A weight in its stored format: a mapped file's bytes, or the bytes of a conversion. */
    record HostWeight(String name, WeightTensor tensor) implements Buf {
        @Override
        public long size() {
            return tensor.elementCount();
        }

        @Override
        public WeightType type() {
            return tensor.type();
        }
    }

    @Override
    public String name() {
        return "cpu";
    }

    private static float[] d(Buf b) {
        if (b instanceof HostWeight w) {
            // a weight tensor where an op reads floats (a vector uploaded as a tensor, or read back): widened on each
            // use; the models upload vectors as floats, and matrices go through rows(...)
            return w.tensor().toFloats();
        }
        return b == null ? null : ((HostBuf) b).data();
    }

    /** Rows of a weight matrix [rows, cols], whether uploaded as floats or as a stored tensor. */
    private static WeightRows rows(Buf b, int cols) {
        return b instanceof HostWeight w ? WeightRows.of(w.tensor()) : WeightRows.of(((HostBuf) b).data(), cols);
    }

    @Override
    public Buf alloc(String name, long size) {
        if (size > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(name + ": " + size + " floats exceed a Java array");
        }
        return new HostBuf(name, new float[(int) size]);
    }

    @Override
    public Buf upload(String name, float[] data) {
        return new HostBuf(name, data);
    }

    @Override
    public Buf upload(String name, WeightTensor weight) {
        return new HostWeight(name, weight.materialized());
    }

    @Override
    public void read(Buf src, long offset, float[] dst, int from, int count) {
        System.arraycopy(d(src), (int) offset, dst, from, count);
    }

    @Override
    public void write(Buf dst, long offset, float[] src, int from, int count) {
        System.arraycopy(src, from, d(dst), (int) offset, count);
    }

    @Override
    public void copy(Buf src, long srcOffset, Buf dst, long dstOffset, long count) {
        System.arraycopy(d(src), (int) srcOffset, d(dst), (int) dstOffset, (int) count);
    }

    @Override
    public void attentionAccumulate(Buf out, Buf lse, Buf q, Buf k, Buf v, AttentionProblem problem, int sMax) {
        gpuinfer.attention.AttentionShape s = problem.shape();
        int rows = s.batch() * s.heads() * s.queryLen();
        float[] partOut = new float[rows * s.headDim()];
        float[] partLse = new float[rows];
        CpuAttention.forward(partOut, partLse, d(q), d(k), d(v), problem, sMax);
        gpuinfer.attention.ring.LseMerge.reference(d(out), d(lse), partOut, partLse, rows, s.headDim());
    }

    @Override
    public void embed(Buf y, Buf wte, Buf wpe, int[] tokens, int[] positions, int C) {
        Embedding.reference(d(y), rows(wte, C), wpe == null ? null : rows(wpe, C), tokens, positions, C);
    }

    @Override
    public void layerNorm(Buf y, Buf x, Buf weight, Buf bias, int R, int C, float eps) {
        LayerNorm.reference(d(y), d(x), d(weight), d(bias), R, C, eps);
    }

    @Override
    public void linear(Buf y, Buf x, Buf w, Buf bias, Buf residual, int R, int N, int K, Activation act) {
        Linear.reference(d(y), d(x), rows(w, K), d(bias), d(residual), R, N, K, act);
    }

    @Override
    public void rmsNorm(Buf y, Buf x, Buf weight, int R, int C, float eps) {
        RmsNorm.reference(d(y), d(x), d(weight), R, C, eps);
    }

    @Override
    public void swiglu(Buf y, Buf gate, Buf up, int R, int I) {
        SwiGlu.reference(d(y), d(gate), d(up), R, I);
    }

    @Override
    public void toHeads(Buf q, Buf kCache, Buf vCache, Buf qSrc, Buf kSrc, Buf vSrc, HeadSplit split, int[] start, Rope rope) {
        HeadLayout.toHeadsReference(d(q), d(kCache), d(vCache), d(qSrc), d(kSrc), d(vSrc), split, start, rope);
    }

    @Override
    public void attention(Buf out, Buf lse, Buf q, Buf kCache, Buf vCache, AttentionProblem problem, int sMax) {
        CpuAttention.forward(d(out), d(lse), d(q), d(kCache), d(vCache), problem, sMax);
    }

    @Override
    public void scaleHead(Buf x, int B, int H, int T, int D, int head, float factor) {
        HeadInterventions.scaleReference(d(x), B, H, T, D, head, factor);
    }

    @Override
    public void maskedHeadAttention(Buf out, Buf q, Buf kCache, Buf vCache, AttentionProblem problem, int sMax, int head,
                                    int[] hidden) {
        HeadInterventions.maskedAttentionReference(d(out), d(q), d(kCache), d(vCache), problem, sMax, head, hidden);
    }

    @Override
    public void mergeHeads(Buf y, Buf x, int B, int T, int H, int D) {
        HeadLayout.mergeHeadsReference(d(y), d(x), B, T, H, D);
    }

    @Override
    public void gatherRows(Buf y, Buf x, int[] rows, int C) {
        HeadLayout.gatherRowsReference(d(y), d(x), rows, C);
    }

    @Override
    public long deviceBytes() {
        return 0;
    }

    @Override
    public void close() {
    }
}
