package gpuinfer.ops;

import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.testing.BackendsPerBinding;
import gpuinfer.testing.NoLeaksInClass;
import gpuinfer.testing.OpenClTestSupport;
import gpuinfer.weights.WeightTensor;
import gpuinfer.weights.WeightType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static gpuinfer.ops.ClOpsTest.random;
import static gpuinfer.ops.ClOpsTest.read;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ops Llama-family blocks add (RMSNorm, SwiGLU, heads with grouped key/value heads and rotary embeddings, an
 * embedding without a position table) on the OpenCL backend of each binding, against the CPU backend, over awkward
 * shapes: one row, row lengths one short of and one past the work-group sizes, huge and tiny magnitudes, one and
 * several sequences at different cache rows, partial rope, both pair orders, positions near 0 and in the thousands.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(NoLeaksInClass.class)
class ClLlamaBlockOpsTest {
    /**
     * RMSNorm: the float32 sum of squares (positive terms, no cancellation: about sqrt(C/LN_WG + log2 LN_WG) ulps),
     * rsqrt (OpenCL allows 2 ulps) and two products against double. Measured on PoCL up to 2049 values a row, any
     * magnitude (rows of 1e-4 to 2e4, eps 1e-5 and 1e-6): 2.4e-7 relative (9.5e-7 absolute on outputs of ~10); this
     * allows about eight times that. atol covers outputs rounded near zero.
     */
    static final Tolerance RMSNORM = new Tolerance(1e-7, 2e-6);
    /**
     * SwiGLU: exp (OpenCL allows 3 ulps), one division (2.5 ulps) and two products, no cancellation, so the error is
     * relative. Measured on PoCL: 2.4e-7 relative (3.8e-6 absolute on outputs of ~4e4). atol 1e-30 lets a result the reference rounds to a denormal near
     * 1e-42 (g = -100) be flushed to zero by the device.
     */
    static final Tolerance SWIGLU = new Tolerance(1e-30, 1e-6);
    /**
     * Rotated q and k: two float32 products and an fma with the cos/sin table rounded to float32 (the reference
     * rotates in double from the exact angles); with inputs ~N(0, 1) an output's error is a few ulps of the inputs'
     * magnitude, and can be large relative to an output that cancels to near zero, hence the absolute part. Measured
     * on PoCL (positions 0 to 4094, theta 1e4 and 5e5): 2.4e-7 absolute, eight times below this.
     */
    static final Tolerance ROTATED = new Tolerance(2e-6, 2e-6);

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

    // ---- RMSNorm ------------------------------------------------------------------------------------------------

    static Stream<Arguments> rmsNormCases() {
        List<Arguments> all = new ArrayList<>();
        for (String binding : OpenClTestSupport.bindings()) {
            for (int R : new int[] {1, 4}) {
                for (int C : new int[] {1, 7, 15, 17, 63, 65, 257, 2049}) {
                    for (double scale : new double[] {1e-4, 1, 1e4}) {
                        for (float eps : new float[] {1e-5f, 1e-6f}) {
                            all.add(Arguments.of(binding, R, C, scale, eps));
                        }
                    }
                }
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} R={1} C={2} |x|~{3} eps={4}")
    @MethodSource("rmsNormCases")
    void rmsNormMatchesItsReference(String binding, int R, int C, double scale, float eps) {
        ClBackend cl = backends.get(binding);
        float[] x = random(R * C, 21);
        for (int i = 0; i < x.length; i++) {
            // rows of 1e-4 have mean squares near eps: there the result depends on eps as much as on x
            x[i] = (float) (x[i] * scale * (1 + (i / C) % 2));
        }
        float[] weight = random(C, 22);
        float[] want = new float[R * C];
        RmsNorm.reference(want, x, weight, R, C, eps);
        Buf y = cl.alloc("y", (long) R * C);
        cl.rmsNorm(y, cl.upload("x", x), cl.upload("weight", weight), R, C, eps);
        assertClose("rmsnorm " + binding + " R=" + R + " C=" + C + " |x|~" + scale + " eps=" + eps, read(cl, y, R * C),
                want, RMSNORM);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void rmsNormRejectsShapesItsBuffersDoNotHold(String binding) {
        ClBackend cl = backends.get(binding);
        Buf x = cl.alloc("x", 10);
        Buf w = cl.alloc("w", 5);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> cl.rmsNorm(x, x, w, 3, 5, 1e-5f));
        assertTrue(e.getMessage().contains("'x' holds 10 floats but the shapes need 15"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> cl.rmsNorm(x, x, w, 0, 5, 1e-5f));
        assertTrue(e.getMessage().contains("at least 1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> cl.rmsNorm(x, x, w, 2, 5, Float.NaN));
        assertTrue(e.getMessage().contains("eps"), e.getMessage());
    }

    // ---- SwiGLU -------------------------------------------------------------------------------------------------

    static Stream<Arguments> swigluCases() {
        int[][] shapes = {{1, 1}, {1, 7}, {1, 63}, {3, 65}, {2, 129}, {5, 2049}};
        List<Arguments> all = new ArrayList<>();
        for (String binding : OpenClTestSupport.bindings()) {
            for (int[] s : shapes) {
                for (String into : new String[] {"y", "gate", "up"}) {
                    all.add(Arguments.of(binding, s[0], s[1], into));
                }
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} R={1} I={2} into {3}")
    @MethodSource("swigluCases")
    void swigluMatchesItsReferenceAtExtremeGates(String binding, int R, int I, String into) {
        ClBackend cl = backends.get(binding);
        float[] extremes = {100, -100, 1e4f, -1e4f, 0, -0f, 88, -88, 1e-30f, -1e-30f, 20, -20};
        float[] gate = random(R * I, 23);
        for (int i = 0; i < gate.length; i++) {
            gate[i] = i % 2 == 0 ? extremes[(i / 2) % extremes.length] : gate[i] * 4;
        }
        float[] up = random(R * I, 24);
        float[] want = new float[R * I];
        SwiGlu.reference(want, gate, up, R, I);
        Buf g = cl.upload("gate", gate);
        Buf u = cl.upload("up", up);
        Buf y = switch (into) {
            case "gate" -> g;
            case "up" -> u;
            default -> cl.alloc("y", (long) R * I);
        };
        cl.swiglu(y, g, u, R, I);
        float[] got = read(cl, y, R * I);
        for (int i = 0; i < got.length; i++) {
            int at = i;
            assertTrue(Float.isFinite(got[i]), () -> "swiglu(" + gate[at] + ") * " + up[at] + " gave " + got[at]);
        }
        assertClose("swiglu " + binding + " R=" + R + " I=" + I + " into " + into, got, want, SWIGLU);
    }

    // ---- embedding without a position table ---------------------------------------------------------------------

    static Stream<Arguments> embedCases() {
        List<Arguments> all = new ArrayList<>();
        for (String binding : OpenClTestSupport.bindings()) {
            for (int[] s : new int[][] {{1, 32}, {3, 64}, {7, 96}, {5, 2048}}) {
                for (WeightType type : new WeightType[] {WeightType.F32, WeightType.F16, WeightType.Q8_0}) {
                    all.add(Arguments.of(binding, s[0], s[1], type));
                }
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} R={1} C={2} {3}")
    @MethodSource("embedCases")
    void embeddingWithoutAPositionTableMatchesItsReference(String binding, int R, int C, WeightType type) {
        ClBackend cl = backends.get(binding);
        int V = 13;
        WeightTensor wte = WeightTensor.quantized("wte", type, random(V * C, 25), V, C);
        SplittableRandom rnd = new SplittableRandom(R * 7L + C);
        int[] tokens = rnd.ints(R, 0, V).toArray();
        int[] positions = rnd.ints(R, 0, 1 << 20).toArray(); // far past any table: must not be read
        Buf want = cpu.alloc("want", (long) R * C);
        cpu.embed(want, cpu.upload("wte", wte), null, tokens, positions, C);
        Buf y = cl.alloc("y", (long) R * C);
        cl.embed(y, cl.upload("wte", wte), null, tokens, positions, C);
        // each value is one table entry, dequantised exactly: bit-identical
        assertClose("embed without positions " + type, read(cl, y, R * C), read(cpu, want, R * C), ClOpsTest.FP32_EXACT);
    }

    // ---- heads --------------------------------------------------------------------------------------------------

    /**
     * One toHeads case. layout: "separate" (three buffers, with padding columns around the heads when pad > 0),
     * "fused" (one [q | k | v] row of H + 2·Hkv heads, as Phi-3 and GPT-2 write them).
     */
    record HeadCase(int B, int T, int H, int Hkv, int D, int[] start, int sMax, String layout, int pad, Rope rope) {
        HeadSplit split() {
            if (layout.equals("fused")) {
                int width = (H + 2 * Hkv) * D + pad;
                return new HeadSplit(B, T, H, Hkv, D, sMax, pad, width, pad + H * D, pad + (H + Hkv) * D, width);
            }
            return new HeadSplit(B, T, H, Hkv, D, sMax, pad, H * D + 2 * pad, pad, pad, Hkv * D + 2 * pad);
        }

        @Override
        public String toString() {
            return "B=" + B + " T=" + T + " H=" + H + " Hkv=" + Hkv + " D=" + D + " start=" + Arrays.toString(start)
                    + " sMax=" + sMax + " " + layout + (pad > 0 ? " pad " + pad : "")
                    + (rope == null ? " no rope" : " rope " + rope.dims() + " " + rope.order());
        }
    }

    static Rope rope(int dims, Rope.Order order, double theta) {
        return Rope.of(dims, order, theta, 1, null);
    }

    static List<HeadCase> headCases() {
        Rope.Order I = Rope.Order.INTERLEAVED;
        Rope.Order HV = Rope.Order.HALVES;
        Rope.Llama3Scaling llama3 = new Rope.Llama3Scaling(8, 1, 4, 8192);
        return List.of(
                new HeadCase(1, 1, 1, 1, 1, new int[] {0}, 1, "separate", 0, null),
                new HeadCase(1, 1, 1, 1, 2, new int[] {3}, 4, "separate", 0, rope(2, I, 10000)),
                new HeadCase(3, 5, 3, 3, 7, new int[] {0, 7, 2}, 12, "separate", 3, null),
                new HeadCase(3, 5, 8, 8, 64, new int[] {0, 9, 4}, 16, "separate", 0, rope(64, I, 10000)),
                new HeadCase(3, 5, 8, 2, 64, new int[] {2, 0, 11}, 16, "separate", 0, rope(64, HV, 10000)),
                new HeadCase(3, 1, 4, 2, 64, new int[] {5, 0, 15}, 16, "separate", 1, rope(64, I, 500000)),
                new HeadCase(1, 5, 4, 1, 128, new int[] {0}, 5, "separate", 0, rope(128, HV, 500000)),
                new HeadCase(1, 1, 8, 1, 128, new int[] {37}, 40, "separate", 0,
                        Rope.of(128, I, 500000, 1, llama3)),
                new HeadCase(2, 3, 4, 4, 128, new int[] {1, 6}, 9, "separate", 0, rope(32, I, 10000)),
                new HeadCase(2, 3, 4, 2, 16, new int[] {0, 4}, 8, "separate", 2, rope(8, HV, 10000)),
                new HeadCase(1, 3, 4, 2, 16, new int[] {4000}, 4003, "separate", 0, rope(16, HV, 10000)),
                new HeadCase(1, 5, 2, 1, 8, new int[] {4090}, 4096, "separate", 0, rope(8, I, 10000)),
                new HeadCase(1, 2, 2, 2, 6, new int[] {4093}, 4096, "separate", 0, rope(4, I, 10000)),
                new HeadCase(3, 5, 4, 2, 64, new int[] {0, 3, 1}, 8, "fused", 0, rope(64, HV, 10000)),
                new HeadCase(2, 4, 4, 1, 32, new int[] {2, 0}, 7, "fused", 5, rope(16, I, 10000)),
                new HeadCase(3, 5, 4, 4, 16, new int[] {0, 5, 1}, 10, "fused", 0, null));
    }

    static Stream<Arguments> headArguments() {
        List<Arguments> all = new ArrayList<>();
        for (String binding : OpenClTestSupport.bindings()) {
            for (HeadCase c : headCases()) {
                all.add(Arguments.of(binding, c));
            }
        }
        return all.stream();
    }

    /** The outputs of one toHeads call: q, and both caches with their untouched rows. */
    record HeadOutputs(float[] q, float[] k, float[] v) {
    }

    static HeadOutputs toHeads(Backend backend, HeadCase c, float[] qSrc, float[] kSrc, float[] vSrc, float[] kInit,
                               float[] vInit) {
        HeadSplit split = c.split();
        Buf q = backend.alloc("q", (long) c.B * c.H * c.T * c.D);
        Buf k = backend.upload("k cache", kInit.clone());
        Buf v = backend.upload("v cache", vInit.clone());
        if (c.layout.equals("fused")) {
            Buf qkv = backend.upload("qkv", qSrc);
            backend.toHeads(q, k, v, qkv, qkv, qkv, split, c.start, c.rope);
        } else {
            backend.toHeads(q, k, v, backend.upload("q src", qSrc), backend.upload("k src", kSrc),
                    backend.upload("v src", vSrc), split, c.start, c.rope);
        }
        return new HeadOutputs(read(backend, q, c.B * c.H * c.T * c.D), read(backend, k, kInit.length),
                read(backend, v, vInit.length));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("headArguments")
    void headsMatchTheReference(String binding, HeadCase c) {
        ClBackend cl = backends.get(binding);
        HeadSplit split = c.split();
        float[] qSrc = random(split.rows() * split.qStride(), 26);
        float[] kSrc = random(split.rows() * split.kvStride(), 27);
        float[] vSrc = random(split.rows() * split.kvStride(), 28);
        float[] kInit = random(c.B * c.Hkv * c.sMax * c.D, 29);
        float[] vInit = random(c.B * c.Hkv * c.sMax * c.D, 30);
        HeadOutputs want = toHeads(cpu, c, qSrc, kSrc, vSrc, kInit, vInit);
        HeadOutputs got = toHeads(cl, c, qSrc, kSrc, vSrc, kInit, vInit);
        // without rope the kernel copies; with rope the values past the rotated ones are still copies
        Tolerance rotated = c.rope == null ? ClOpsTest.FP32_EXACT : ROTATED;
        assertClose("q " + c, got.q, want.q, rotated);
        assertClose("k cache " + c, got.k, want.k, rotated);
        assertClose("v cache " + c, got.v, want.v, ClOpsTest.FP32_EXACT);
        if (c.rope != null && c.rope.dims() < c.D) {
            assertPassedThrough("q " + c, got.q, want.q, c.D, c.rope.dims());
            assertPassedThrough("k cache " + c, got.k, want.k, c.D, c.rope.dims());
        }
    }

    /** Values d >= dims of every head are copied, bit for bit. */
    private static void assertPassedThrough(String name, float[] got, float[] want, int D, int dims) {
        for (int i = 0; i < got.length; i++) {
            if (i % D >= dims && Float.floatToRawIntBits(got[i]) != Float.floatToRawIntBits(want[i])) {
                throw new AssertionError(name + ": value " + i % D + " of a head (past the " + dims + " rotated) is "
                        + got[i] + ", not a copy of " + want[i]);
            }
        }
    }

    static Stream<Arguments> gpt2Shapes() {
        int[][] shapes = {{1, 1, 1, 1}, {1, 1, 12, 64}, {3, 5, 4, 16}, {2, 7, 3, 5}}; // B, T, H, D
        List<Arguments> all = new ArrayList<>();
        for (String binding : OpenClTestSupport.bindings()) {
            for (int[] s : shapes) {
                all.add(Arguments.of(binding, s[0], s[1], s[2], s[3]));
            }
        }
        return all.stream();
    }

    /** GPT-2's qkvToHeads goes through the same heads kernel; it must stay a plain copy, bit-identical. */
    @ParameterizedTest(name = "{0} B={1} T={2} H={3} D={4}")
    @MethodSource("gpt2Shapes")
    void gpt2FusedLayoutIsABitExactCopy(String binding, int B, int T, int H, int D) {
        ClBackend cl = backends.get(binding);
        int C = H * D;
        int sMax = T + 4;
        int[] start = new int[B];
        for (int b = 0; b < B; b++) {
            start[b] = (b * 3) % 5;
        }
        float[] qkv = random(B * T * 3 * C, 31);
        float[] kInit = random(B * H * sMax * D, 32);
        float[] vInit = random(B * H * sMax * D, 33);
        float[] q = new float[B * T * C];
        float[] k = kInit.clone();
        float[] v = vInit.clone();
        HeadLayout.qkvToHeadsReference(q, k, v, qkv, B, T, H, D, sMax, start); // GPT-2's own reference
        Buf qBuf = cl.alloc("q", q.length);
        Buf kBuf = cl.upload("k", kInit.clone());
        Buf vBuf = cl.upload("v", vInit.clone());
        cl.qkvToHeads(qBuf, kBuf, vBuf, cl.upload("qkv", qkv), B, T, H, D, sMax, start);
        assertClose("gpt2 q", read(cl, qBuf, q.length), q, ClOpsTest.FP32_EXACT);
        assertClose("gpt2 k cache", read(cl, kBuf, k.length), k, ClOpsTest.FP32_EXACT);
        assertClose("gpt2 v cache", read(cl, vBuf, v.length), v, ClOpsTest.FP32_EXACT);
    }

    static Stream<String> bindings() {
        return OpenClTestSupport.bindings().stream();
    }

    /**
     * The rope table is cached between calls: the layers of one step reuse it, and the next step (new positions) or
     * another rope (a model with per-layer ropes) must not. Three layers, two steps, then a second rope.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void ropeTableFollowsPositionsAndRopeAcrossCalls(String binding) {
        ClBackend cl = backends.get(binding);
        int B = 2, T = 3, H = 4, Hkv = 2, D = 16, sMax = 12;
        Rope first = rope(16, Rope.Order.HALVES, 10000);
        Rope second = Rope.of(16, Rope.Order.HALVES, 10000, 4, null); // same dims and order, other frequencies
        int[][] starts = {{0, 2}, {0, 2}, {0, 2}, {3, 5}, {3, 5}, {6, 8}, {6, 8}};
        Rope[] ropes = {first, first, first, first, first, first, second};
        HeadSplit split = HeadSplit.separate(B, T, H, Hkv, D, sMax);
        for (int call = 0; call < starts.length; call++) {
            HeadCase c = new HeadCase(B, T, H, Hkv, D, starts[call], sMax, "separate", 0, ropes[call]);
            float[] qSrc = random(split.rows() * H * D, 40 + call);
            float[] kSrc = random(split.rows() * Hkv * D, 50 + call);
            float[] vSrc = random(split.rows() * Hkv * D, 60 + call);
            float[] kInit = random(B * Hkv * sMax * D, 70 + call);
            float[] vInit = random(B * Hkv * sMax * D, 80 + call);
            HeadOutputs want = toHeads(cpu, c, qSrc, kSrc, vSrc, kInit, vInit);
            HeadOutputs got = toHeads(cl, c, qSrc, kSrc, vSrc, kInit, vInit);
            assertClose("call " + call + " q", got.q, want.q, ROTATED);
            assertClose("call " + call + " k cache", got.k, want.k, ROTATED);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void headsRejectStartsPastTheCacheAndRopesWiderThanAHead(String binding) {
        for (Backend backend : new Backend[] {cpu, backends.get(binding)}) {
            HeadSplit split = HeadSplit.separate(2, 3, 4, 2, 8, 6);
            Buf q = backend.alloc("q", 2 * 3 * 4 * 8);
            Buf kv = backend.alloc("kv", 2 * 2 * 6 * 8);
            Buf src = backend.alloc("src", 6 * 4 * 8);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> backend.toHeads(q, kv, kv, src, src, src, split, new int[] {0, 4}, null));
            assertTrue(e.getMessage().contains("sequence 1 starts at cache row 4"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class,
                    () -> backend.toHeads(q, kv, kv, src, src, src, split, new int[] {0}, null));
            assertTrue(e.getMessage().contains("1 cache starts for 2 sequences"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> backend.toHeads(q, kv, kv, src, src, src, split,
                    new int[] {0, 1}, rope(16, Rope.Order.INTERLEAVED, 10000)));
            assertTrue(e.getMessage().contains("rotates 16 values per head but heads have 8"), e.getMessage());
        }
    }

    static void assertClose(String name, float[] got, float[] want, Tolerance tolerance) {
        Comparison c = Validate.compare(name, got, want, tolerance);
        System.out.println(c.summary());
        assertTrue(c.passed(), c::report);
    }
}
