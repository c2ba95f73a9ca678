package gpuinfer.ops;

import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClRuntime;
import gpuinfer.cl.ProgramCache;
import gpuinfer.weights.WeightTensor;
import gpuinfer.weights.WeightType;

import java.util.SplittableRandom;

/**
 * rmsnorm, swiglu, heads (with and without rope, both pair orders, grouped key/value heads, GPT-2's fused rows) and
 * embed without a position table on the device {@code --device auto} picks, over shapes one short of and one past
 * each work-group size (rmsnorm rows of 15, 17, 63, 65, 255, 257 around LN_WG 16, 64 or 256; elementwise and head
 * columns of 63 and 65 around COPY_WG 64), against the CPU backend. A main, not a test: {@code tools/oclgrind_check.sh}
 * runs it on Oclgrind, which checks every memory access and looks for races (the JUnit fork cannot host Oclgrind);
 * ClLlamaBlockOpsTest covers the same kernels on the test device with its tolerances.
 *
 * <p>Prints one line per case; exits 1 on any mismatch.
 */
public final class TransformerOpsSweep {
    /** Copies are exact; the other ops use ClLlamaBlockOpsTest's tolerances (measured on PoCL). */
    private static final Tolerance EXACT = new Tolerance(0, 0);

    private int cases;
    private int failures;
    private final CpuBackend cpu = new CpuBackend();
    private final SplittableRandom random = new SplittableRandom(7);

    private TransformerOpsSweep() {
    }

    public static void main(String[] args) {
        ClRuntime runtime = ClRuntime.get(ClRuntime.DEFAULT_BINDING);
        TransformerOpsSweep sweep = new TransformerOpsSweep();
        try (ClContext context = runtime.createContext(runtime.select("auto"), ProgramCache.defaultCache());
             ClBackend cl = new ClBackend(context)) {
            System.out.println("device " + context.device().name());
            sweep.run(cl);
            context.builds().stream().filter(b -> !b.origin().equals("memory"))
                    .forEach(b -> System.out.println("built " + b.source() + " " + b.options()));
        }
        System.out.println(sweep.cases + " cases, " + sweep.failures + " mismatches");
        System.exit(sweep.failures == 0 ? 0 : 1);
    }

    private void run(ClBackend cl) {
        interventions(cl);
        for (int R : new int[] {1, 3}) {
            for (int C : new int[] {1, 15, 17, 63, 65, 255, 257}) {
                float[] x = gaussian(R * C, R == 1 ? 1e4f : 1e-4f);
                float[] weight = gaussian(C, 1);
                float[] want = new float[R * C];
                RmsNorm.reference(want, x, weight, R, C, 1e-6f);
                Buf y = cl.alloc("y", (long) R * C);
                cl.rmsNorm(y, cl.upload("x", x), cl.upload("weight", weight), R, C, 1e-6f);
                check("rmsnorm R=" + R + " C=" + C, cl, y, want, ClLlamaBlockOpsTest.RMSNORM);
            }
        }
        for (int[] ri : new int[][] {{1, 1}, {1, 63}, {2, 65}, {3, 129}}) {
            int R = ri[0];
            int I = ri[1];
            float[] gate = gaussian(R * I, 30);
            gate[0] = -1e4f;
            gate[gate.length - 1] = 100;
            float[] up = gaussian(R * I, 1);
            float[] want = new float[R * I];
            SwiGlu.reference(want, gate, up, R, I);
            Buf g = cl.upload("gate", gate);
            cl.swiglu(g, g, cl.upload("up", up), R, I);
            check("swiglu R=" + R + " I=" + I, cl, g, want, ClLlamaBlockOpsTest.SWIGLU);
        }
        Rope.Order I = Rope.Order.INTERLEAVED;
        Rope.Order HV = Rope.Order.HALVES;
        // (B, T, H, Hkv, D, rope dims (0: none), order, fused); columns (H + Hkv)·D of 63, 65, 1 and 192
        Object[][] heads = {
                {1, 1, 1, 1, 1, 0, I, false},
                {2, 3, 2, 1, 21, 0, I, false},
                {2, 3, 4, 1, 13, 0, I, true},
                {3, 2, 2, 1, 22, 22, HV, false},
                {1, 3, 4, 1, 14, 14, I, false},
                {2, 2, 4, 2, 32, 16, HV, true},
                {3, 5, 2, 2, 16, 0, I, true},
        };
        for (Object[] h : heads) {
            int B = (int) h[0], T = (int) h[1], H = (int) h[2], Hkv = (int) h[3], D = (int) h[4], dims = (int) h[5];
            boolean fused = (boolean) h[7];
            Rope rope = dims == 0 ? null : Rope.of(dims, (Rope.Order) h[6], 10000, 1, null);
            int sMax = T + 4;
            int[] start = new int[B];
            for (int b = 0; b < B; b++) {
                start[b] = (b * 3) % 5;
            }
            ClLlamaBlockOpsTest.HeadCase c = new ClLlamaBlockOpsTest.HeadCase(B, T, H, Hkv, D, start, sMax,
                    fused ? "fused" : "separate", 0, rope);
            HeadSplit split = c.split();
            float[] qSrc = gaussian(split.rows() * split.qStride(), 1);
            float[] kSrc = gaussian(split.rows() * split.kvStride(), 1);
            float[] vSrc = gaussian(split.rows() * split.kvStride(), 1);
            float[] kInit = gaussian(B * Hkv * sMax * D, 1);
            float[] vInit = gaussian(B * Hkv * sMax * D, 1);
            ClLlamaBlockOpsTest.HeadOutputs want = ClLlamaBlockOpsTest.toHeads(cpu, c, qSrc, kSrc, vSrc, kInit, vInit);
            ClLlamaBlockOpsTest.HeadOutputs got = ClLlamaBlockOpsTest.toHeads(cl, c, qSrc, kSrc, vSrc, kInit, vInit);
            Tolerance t = rope == null ? EXACT : ClLlamaBlockOpsTest.ROTATED;
            compare("heads q " + c, got.q(), want.q(), t);
            compare("heads k cache " + c, got.k(), want.k(), t);
            compare("heads v cache " + c, got.v(), want.v(), EXACT);
        }
        for (int[] rc : new int[][] {{1, 32}, {3, 64}, {2, 96}}) {
            int R = rc[0];
            int C = rc[1];
            for (WeightType type : new WeightType[] {WeightType.F32, WeightType.Q8_0}) {
                int V = 5;
                WeightTensor wte = WeightTensor.quantized("wte", type, gaussian(V * C, 1), V, C);
                int[] tokens = random.ints(R, 0, V).toArray();
                int[] positions = random.ints(R, 1 << 20, 1 << 21).toArray(); // never read: no table
                Buf want = cpu.alloc("want", (long) R * C);
                cpu.embed(want, cpu.upload("wte", wte), null, tokens, positions, C);
                float[] expected = new float[R * C];
                cpu.read(want, 0, expected, 0, expected.length);
                Buf y = cl.alloc("y", (long) R * C);
                cl.embed(y, cl.upload("wte", wte), null, tokens, positions, C);
                check("embed without positions " + type + " R=" + R + " C=" + C, cl, y, expected, EXACT);
            }
        }
    }

    /**
     * The intervention kernels (interventions.cl): scale_head and ablation over [B, H, T, D]; masked_head_attention
     * with grouped kv heads, key counts one short of and one past its work-group of 64 keys, head sizes past it
     * (two values per work-item), key padding, several hidden ranges, and rows left with no key.
     */
    private void interventions(ClBackend cl) {
        for (int[] shape : new int[][] {{1, 1, 1, 1, 0}, {2, 3, 5, 17, 2}, {1, 4, 3, 65, 3}}) {
            int B = shape[0], H = shape[1], T = shape[2], D = shape[3], head = shape[4];
            float[] x = gaussian(B * H * T * D, 1);
            for (float factor : new float[] {0f, -2.5f}) {
                float[] want = x.clone();
                HeadInterventions.scaleReference(want, B, H, T, D, head, factor);
                Buf y = cl.upload("x", x.clone());
                cl.scaleHead(y, B, H, T, D, head, factor);
                check("scale_head B=" + B + " H=" + H + " T=" + T + " D=" + D + " x" + factor, cl, y, want, EXACT);
            }
        }
        // (B, H, Hkv, T, Sk, D, sMax, head, padded, hidden ranges...)
        int[][] cases = {
                {1, 1, 1, 1, 1, 1, 1, 0, 0},
                {1, 2, 1, 63, 63, 16, 64, 1, 0, 0, 0},
                {2, 6, 2, 5, 65, 10, 70, 4, 1, 3, 20, 60, 64},
                {1, 3, 3, 65, 65, 65, 65, 2, 0, 0, 40},
                {2, 4, 1, 1, 129, 33, 130, 3, 1, 0, 127}};
        for (int[] c : cases) {
            int B = c[0], H = c[1], Hkv = c[2], T = c[3], Sk = c[4], D = c[5], sMax = c[6], head = c[7];
            int[] hidden = java.util.Arrays.copyOfRange(c, 9, c.length);
            int[] lens = c[8] == 1 ? new int[] {Sk, Math.max(1, Sk - 7)} : null;
            gpuinfer.attention.AttentionProblem problem = new gpuinfer.attention.AttentionProblem(
                    new gpuinfer.attention.AttentionShape(B, H, Hkv, T, Sk, D), true, 1f / (float) Math.sqrt(D), lens);
            float[] q = gaussian(B * H * T * D, 1);
            float[] k = gaussian(B * Hkv * sMax * D, 1);
            float[] v = gaussian(B * Hkv * sMax * D, 1);
            float[] out = gaussian(B * H * T * D, 1);
            float[] want = out.clone();
            HeadInterventions.maskedAttentionReference(want, q, k, v, problem, sMax, head, hidden);
            Buf y = cl.upload("out", out.clone());
            cl.maskedHeadAttention(y, cl.upload("q", q), cl.upload("k", k), cl.upload("v", v), problem, sMax, head, hidden);
            check("masked_head_attention B=" + B + " H=" + H + "/" + Hkv + " T=" + T + " Sk=" + Sk + " D=" + D
                    + " hidden " + java.util.Arrays.toString(hidden) + (lens == null ? "" : " padded"), cl, y, want,
                    Tolerance.FP32_ATTENTION);
        }
    }

    private void check(String name, ClBackend cl, Buf y, float[] want, Tolerance tolerance) {
        float[] got = new float[want.length];
        cl.read(y, 0, got, 0, got.length);
        compare(name, got, want, tolerance);
    }

    private void compare(String name, float[] got, float[] want, Tolerance tolerance) {
        Comparison c = Validate.compare(name, got, want, tolerance);
        cases++;
        if (c.passed()) {
            System.out.println("ok    " + c.summary());
        } else {
            failures++;
            System.out.println("FAIL  " + c.report());
        }
    }

    private float[] gaussian(int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian() * scale;
        }
        return v;
    }
}
