package gpuinfer.ops;

import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionShape;
import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.tensor.RandomTensors;
import gpuinfer.testing.BackendsPerBinding;
import gpuinfer.testing.NoLeaksInClass;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every op of the OpenCL backend against its CPU reference, on both bindings, over awkward shapes: one row, row and
 * output counts that are not multiples of any block, inner sizes that are not multiples of the vector width.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(NoLeaksInClass.class)
class ClOpsTest {
    /** float32 sums of K products against double: errors grow like sqrt(K) ulps of the sum's terms. */
    static final Tolerance FP32_LINEAR = new Tolerance(1e-5, 1e-4);
    static final Tolerance FP32_EXACT = new Tolerance(0, 0);

    private BackendsPerBinding backends;
    private final CpuBackend cpu = new CpuBackend();

    @BeforeAll
    void open() {
        backends = BackendsPerBinding.open();
    }

    @AfterAll
    void close() {
        backends.close();
    }

    static Stream<Arguments> linearCases() {
        int[][] shapes = { // R, N, K
                {1, 1, 1}, {1, 7, 5}, {1, 768, 768}, {1, 301, 64}, {2, 33, 17}, {3, 130, 48}, {4, 64, 64},
                {5, 9, 200}, {17, 100, 33}, {31, 257, 96}, {64, 192, 128}, {129, 65, 31}};
        List<Arguments> all = new ArrayList<>();
        for (String binding : OpenClTestSupport.bindings()) {
            for (int[] s : shapes) {
                for (Activation act : Activation.values()) {
                    all.add(Arguments.of(binding, s[0], s[1], s[2], act, s[0] % 2 == 1, s[1] % 3 != 0));
                }
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} R={1} N={2} K={3} {4} bias={5} residual={6}")
    @MethodSource("linearCases")
    void linearMatchesItsReference(String binding, int R, int N, int K, Activation act, boolean bias, boolean residual) {
        ClBackend cl = backends.get(binding);
        float[] x = random(R * K, 1);
        float[] w = random(N * K, 2);
        float[] b = bias ? random(N, 3) : null;
        float[] res = residual ? random(R * N, 4) : null;
        float[] want = new float[R * N];
        Linear.reference(want, x, w, b, res, R, N, K, act);

        Buf y = cl.alloc("y", (long) R * N);
        Buf resBuf = residual ? cl.upload("residual", res.clone()) : null;
        cl.linear(y, cl.upload("x", x), cl.upload("w", w), bias ? cl.upload("b", b) : null, resBuf, R, N, K, act);
        assertClose("linear", read(cl, y, R * N), want, FP32_LINEAR);

        if (residual) {
            // in place: y is the residual stream itself
            cl.linear(resBuf, cl.upload("x", x), cl.upload("w", w), bias ? cl.upload("b", b) : null, resBuf, R, N, K, act);
            assertClose("linear in place", read(cl, resBuf, R * N), want, FP32_LINEAR);
        }
    }

    static Stream<Arguments> rowCases() {
        int[][] shapes = {{1, 1}, {1, 768}, {3, 5}, {7, 48}, {64, 130}, {5, 1000}};
        List<Arguments> all = new ArrayList<>();
        for (String binding : OpenClTestSupport.bindings()) {
            for (int[] s : shapes) {
                all.add(Arguments.of(binding, s[0], s[1]));
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} R={1} C={2}")
    @MethodSource("rowCases")
    void layerNormMatchesItsReference(String binding, int R, int C) {
        ClBackend cl = backends.get(binding);
        float[] x = random(R * C, 5);
        for (int i = 0; i < x.length; i++) {
            x[i] = x[i] * 3 + 10; // a large mean: a one-pass variance would lose digits here
        }
        float[] weight = random(C, 6);
        float[] bias = random(C, 7);
        float[] want = new float[R * C];
        LayerNorm.reference(want, x, weight, bias, R, C, 1e-5f);
        Buf y = cl.alloc("y", (long) R * C);
        cl.layerNorm(y, cl.upload("x", x), cl.upload("w", weight), cl.upload("b", bias), R, C, 1e-5f);
        assertClose("layernorm", read(cl, y, R * C), want, new Tolerance(2e-5, 1e-4));
    }

    @ParameterizedTest(name = "{0} R={1} C={2}")
    @MethodSource("rowCases")
    void embeddingAndRowGatherMatchTheirReferences(String binding, int R, int C) {
        ClBackend cl = backends.get(binding);
        int V = 11;
        int P = R + 3;
        float[] wte = random(V * C, 8);
        float[] wpe = random(P * C, 9);
        SplittableRandom rnd = new SplittableRandom(R * 31L + C);
        int[] tokens = rnd.ints(R, 0, V).toArray();
        int[] positions = rnd.ints(R, 0, P).toArray();
        float[] want = new float[R * C];
        Embedding.reference(want, wte, wpe, tokens, positions, C);
        Buf y = cl.alloc("y", (long) R * C);
        cl.embed(y, cl.upload("wte", wte), cl.upload("wpe", wpe), tokens, positions, C);
        assertClose("embed", read(cl, y, R * C), want, FP32_EXACT);

        int[] rows = rnd.ints(Math.max(1, R / 2), 0, R).toArray();
        float[] gathered = new float[rows.length * C];
        HeadLayout.gatherRowsReference(gathered, want, rows, C);
        Buf g = cl.alloc("gathered", (long) rows.length * C);
        cl.gatherRows(g, y, rows, C);
        assertClose("gather", read(cl, g, rows.length * C), gathered, FP32_EXACT);
    }

    static Stream<Arguments> headCases() {
        int[][] shapes = {{1, 1, 1, 4}, {2, 3, 4, 8}, {3, 7, 2, 16}, {1, 13, 12, 64}}; // B, T, H, D
        List<Arguments> all = new ArrayList<>();
        for (String binding : OpenClTestSupport.bindings()) {
            for (int[] s : shapes) {
                all.add(Arguments.of(binding, s[0], s[1], s[2], s[3]));
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} B={1} T={2} H={3} D={4}")
    @MethodSource("headCases")
    void headLayoutsAndCacheWritesMatchTheirReferences(String binding, int B, int T, int H, int D) {
        ClBackend cl = backends.get(binding);
        int C = H * D;
        int sMax = T + 5;
        int[] start = new int[B];
        for (int b = 0; b < B; b++) {
            start[b] = b % 3 == 1 ? 5 : b % 2; // different cache offsets per batch entry
        }
        float[] qkv = random(B * T * 3 * C, 10);
        float[] kInit = random(B * H * sMax * D, 11);
        float[] vInit = random(B * H * sMax * D, 12);
        float[] q = new float[B * T * C];
        float[] k = kInit.clone();
        float[] v = vInit.clone();
        HeadLayout.qkvToHeadsReference(q, k, v, qkv, B, T, H, D, sMax, start);
        Buf qBuf = cl.alloc("q", q.length);
        Buf kBuf = cl.upload("k", kInit.clone());
        Buf vBuf = cl.upload("v", vInit.clone());
        Buf qkvBuf = cl.upload("qkv", qkv);
        cl.qkvToHeads(qBuf, kBuf, vBuf, qkvBuf, B, T, H, D, sMax, start);
        assertClose("q", read(cl, qBuf, q.length), q, FP32_EXACT);
        assertClose("k cache", read(cl, kBuf, k.length), k, FP32_EXACT);
        assertClose("v cache", read(cl, vBuf, v.length), v, FP32_EXACT);

        float[] merged = new float[B * T * C];
        HeadLayout.mergeHeadsReference(merged, q, B, T, H, D);
        Buf m = cl.alloc("merged", merged.length);
        cl.mergeHeads(m, qBuf, B, T, H, D);
        assertClose("merge", read(cl, m, merged.length), merged, FP32_EXACT);
    }

    @ParameterizedTest(name = "{0} B={1} T={2} H={3} D={4}")
    @MethodSource("headCases")
    void attentionOverACacheWithSpareRowsMatchesTheReference(String binding, int B, int T, int H, int D) {
        ClBackend cl = backends.get(binding);
        int sMax = T + 9;
        int[] lengths = new int[B];
        for (int b = 0; b < B; b++) {
            lengths[b] = T + (b % 3) * 2; // some sequences are further along than others
        }
        int sk = java.util.Arrays.stream(lengths).max().orElseThrow();
        AttentionProblem problem = new AttentionProblem(new AttentionShape(B, H, H, T, sk, D), true,
                AttentionProblem.defaultScale(D), lengths);
        float[] q = random(B * H * T * D, 13);
        float[] k = random(B * H * sMax * D, 14);
        float[] v = random(B * H * sMax * D, 15);
        Buf wantOut = cpu.alloc("out", q.length);
        Buf wantLse = cpu.alloc("lse", (long) B * H * T);
        cpu.attention(wantOut, wantLse, cpu.upload("q", q), cpu.upload("k", k), cpu.upload("v", v), problem, sMax);
        Buf out = cl.alloc("out", q.length);
        Buf lse = cl.alloc("lse", (long) B * H * T);
        cl.attention(out, lse, cl.upload("q", q), cl.upload("k", k), cl.upload("v", v), problem, sMax);
        float[] expected = new float[q.length];
        cpu.read(wantOut, 0, expected, 0, expected.length);
        assertClose("attention", read(cl, out, q.length), expected, gpuinfer.check.Tolerance.FP32_ATTENTION);
    }

    static float[] read(Backend backend, Buf buf, int n) {
        float[] out = new float[n];
        backend.read(buf, 0, out, 0, n);
        return out;
    }

    static float[] random(int n, long seed) {
        return RandomTensors.gaussian(seed, n, n).data();
    }

    static void assertClose(String name, float[] got, float[] want, Tolerance tolerance) {
        Comparison c = Validate.compare(name, got, want, tolerance);
        assertTrue(c.passed(), c::report);
    }
}
