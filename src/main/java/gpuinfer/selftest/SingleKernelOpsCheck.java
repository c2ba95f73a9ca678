package gpuinfer.selftest;

import gpuinfer.check.Tolerance;
import gpuinfer.ops.Backend;
import gpuinfer.ops.Buf;
import gpuinfer.ops.ClBackend;
import gpuinfer.ops.CpuBackend;
import gpuinfer.ops.HeadSplit;
import gpuinfer.ops.Rope;
import gpuinfer.util.Interruption;
import gpuinfer.weights.WeightTensor;
import gpuinfer.weights.WeightType;

import java.util.List;
import java.util.SplittableRandom;

/**
 * The ops of {@code kernels/transformer.cl}, which have one kernel each (nothing to switch to when one is wrong), on
 * the OpenCL backend against the CPU backend (their references), over shapes one short of and one past the kernels'
 * work-group sizes (rows of 17 and 257 values around LN_WG 16 or 256, 65 columns around COPY_WG 64), single rows and
 * values, grouped kv heads with rotary embeddings in both pair orders, and GPT-2's fused q/k/v rows.
 */
final class SingleKernelOpsCheck {
    /** The ops this class tests, by kernel name. */
    static final List<String> OPS = List.of("layernorm", "rmsnorm", "swiglu", "heads", "merge_heads", "gather_rows",
            "embed");

    /**
     * LayerNorm: two float32 reductions of up to 257 values and a division, against double; ClOpsTest's tolerance.
     */
    static final Tolerance LAYERNORM = new Tolerance(2e-5, 1e-4);
    /**
     * RMSNorm: one float32 sum of squares, rsqrt (2 ulps allowed) and two products. ClLlamaBlockOpsTest allows
     * (1e-7, 2e-6), eight times what PoCL shows; another driver sums in another order and may use its ulp allowances
     * fully, so five times that here. A wrong kernel is off by whole units.
     */
    static final Tolerance RMSNORM = new Tolerance(5e-7, 1e-5);
    /**
     * SwiGLU: exp (3 ulps), a division (2.5 ulps) and two products, no cancellation: relative. atol 1e-30 lets a
     * device flush a result the reference rounds to a denormal. Four times ClLlamaBlockOpsTest's rtol.
     */
    static final Tolerance SWIGLU = new Tolerance(1e-30, 4e-6);
    /**
     * Rotated q and k: float32 products with the cos/sin table rounded to float32 (the reference rotates in double):
     * a few ulps of inputs ~N(0, 1). Twice ClLlamaBlockOpsTest's tolerance.
     */
    static final Tolerance ROTATED = new Tolerance(4e-6, 4e-6);
    /** Copies and gathers (heads without rope, merge_heads, gather_rows, embed of exactly dequantised rows). */
    static final Tolerance EXACT = new Tolerance(0, 0);

    private SingleKernelOpsCheck() {
    }

    /** The tolerance a result of {@code op} is reported against (heads also compares its copies exactly). */
    static Tolerance tolerance(String op) {
        return switch (op) {
            case "layernorm" -> LAYERNORM;
            case "rmsnorm" -> RMSNORM;
            case "swiglu" -> SWIGLU;
            case "heads" -> ROTATED;
            case "merge_heads", "gather_rows", "embed" -> EXACT;
            default -> throw new IllegalArgumentException("no single-kernel op " + op + " (" + OPS + ")");
        };
    }

    /** Runs one op on {@code cl} and on the CPU reference. */
    static VariantResult run(ClBackend cl, String op) {
        ErrorTally tally = new ErrorTally(op, DeviceSelfTest.NO_ALTERNATIVE, tolerance(op));
        SplittableRandom random = new SplittableRandom(op.hashCode());
        CpuBackend cpu = new CpuBackend();
        try {
            switch (op) {
                case "layernorm" -> layerNorm(cl, cpu, tally, random);
                case "rmsnorm" -> rmsNorm(cl, cpu, tally, random);
                case "swiglu" -> swiglu(cl, cpu, tally, random);
                case "heads" -> heads(cl, cpu, tally, random);
                case "merge_heads" -> mergeHeads(cl, cpu, tally, random);
                case "gather_rows" -> gatherRows(cl, cpu, tally, random);
                case "embed" -> embed(cl, cpu, tally, random);
                default -> throw new IllegalArgumentException("no single-kernel op " + op + " (" + OPS + ")");
            }
        } catch (Interruption.Interrupted e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (RuntimeException e) {
            return tally.result(e);
        }
        return tally.result(null);
    }

    private static void layerNorm(ClBackend cl, CpuBackend cpu, ErrorTally tally, SplittableRandom random) {
        for (int[] rc : new int[][] {{1, 1}, {3, 17}, {2, 257}}) {
            int R = rc[0];
            int C = rc[1];
            tally.shape("R=" + R + " C=" + C);
            float[] x = gaussian(random, R * C, 3);
            float[] weight = gaussian(random, C, 1);
            float[] bias = gaussian(random, C, 1);
            float[][] got = onBoth(cl, cpu, (b, y) -> b.layerNorm(y, b.upload("x", x.clone()), b.upload("w", weight.clone()),
                    b.upload("b", bias.clone()), R, C, 1e-5f), R * C);
            tally.compare("y", got[0], got[1]);
        }
    }

    private static void rmsNorm(ClBackend cl, CpuBackend cpu, ErrorTally tally, SplittableRandom random) {
        for (int[] rc : new int[][] {{1, 1}, {3, 17}, {2, 257}}) {
            int R = rc[0];
            int C = rc[1];
            tally.shape("R=" + R + " C=" + C);
            float[] x = gaussian(random, R * C, R == 1 ? 1e4f : 1);
            float[] weight = gaussian(random, C, 1);
            float[][] got = onBoth(cl, cpu, (b, y) -> b.rmsNorm(y, b.upload("x", x.clone()), b.upload("w", weight.clone()),
                    R, C, 1e-6f), R * C);
            tally.compare("y", got[0], got[1]);
        }
    }

    private static void swiglu(ClBackend cl, CpuBackend cpu, ErrorTally tally, SplittableRandom random) {
        for (int[] ri : new int[][] {{1, 1}, {3, 65}}) {
            int R = ri[0];
            int I = ri[1];
            tally.shape("R=" + R + " I=" + I);
            float[] gate = gaussian(random, R * I, 20);
            gate[0] = -100;
            gate[gate.length - 1] = 100;
            float[] up = gaussian(random, R * I, 1);
            float[][] got = onBoth(cl, cpu, (b, y) -> b.swiglu(y, b.upload("gate", gate.clone()), b.upload("up", up.clone()),
                    R, I), R * I);
            tally.compare("y", got[0], got[1]);
        }
    }

    /** One toHeads call: its split, the cache rows each sequence starts at, and the rope (null for none). */
    private record HeadsCase(HeadSplit split, int[] start, Rope rope, boolean fused, String label) {
    }

    private static void heads(ClBackend cl, CpuBackend cpu, ErrorTally tally, SplittableRandom random) {
        List<HeadsCase> cases = List.of(
                new HeadsCase(HeadSplit.separate(2, 3, 4, 2, 16, 8), new int[] {0, 4},
                        Rope.of(16, Rope.Order.HALVES, 10000, 1, null), false, "B=2 T=3 H=4/2 D=16 rope halves"),
                new HeadsCase(HeadSplit.separate(1, 1, 1, 1, 2, 4), new int[] {3},
                        Rope.of(2, Rope.Order.INTERLEAVED, 10000, 1, null), false, "B=1 T=1 H=1 D=2 rope interleaved"),
                new HeadsCase(HeadSplit.fused(3, 1, 2, 11, 6), new int[] {0, 5, 2}, null, true, "B=3 T=1 H=2 D=11 fused"));
        for (HeadsCase c : cases) {
            tally.shape(c.label());
            HeadSplit s = c.split();
            float[] qSrc = gaussian(random, s.rows() * s.qStride(), 1);
            float[] kSrc = gaussian(random, s.rows() * s.kvStride(), 1);
            float[] vSrc = gaussian(random, s.rows() * s.kvStride(), 1);
            int cache = s.B() * s.Hkv() * s.sMax() * s.D();
            float[] kInit = gaussian(random, cache, 1);
            float[] vInit = gaussian(random, cache, 1);
            float[][] device = toHeads(cl, c, qSrc, kSrc, vSrc, kInit, vInit);
            float[][] reference = toHeads(cpu, c, qSrc, kSrc, vSrc, kInit, vInit);
            Tolerance rotated = c.rope() == null ? EXACT : ROTATED;
            tally.compare("q", device[0], reference[0], rotated);
            tally.compare("k cache", device[1], reference[1], rotated);
            tally.compare("v cache", device[2], reference[2], EXACT);
        }
    }

    private static float[][] toHeads(Backend b, HeadsCase c, float[] qSrc, float[] kSrc, float[] vSrc, float[] kInit,
                                     float[] vInit) {
        HeadSplit s = c.split();
        Buf q = b.alloc("q", (long) s.B() * s.H() * s.T() * s.D());
        Buf k = b.upload("k cache", kInit.clone());
        Buf v = b.upload("v cache", vInit.clone());
        if (c.fused()) {
            Buf qkv = b.upload("qkv", qSrc.clone());
            b.toHeads(q, k, v, qkv, qkv, qkv, s, c.start(), c.rope());
        } else {
            b.toHeads(q, k, v, b.upload("q src", qSrc.clone()), b.upload("k src", kSrc.clone()),
                    b.upload("v src", vSrc.clone()), s, c.start(), c.rope());
        }
        return new float[][] {read(b, q, s.B() * s.H() * s.T() * s.D()), read(b, k, kInit.length), read(b, v, vInit.length)};
    }

    private static void mergeHeads(ClBackend cl, CpuBackend cpu, ErrorTally tally, SplittableRandom random) {
        int B = 2, T = 3, H = 3, D = 7;
        tally.shape("B=2 T=3 H=3 D=7");
        float[] x = gaussian(random, B * H * T * D, 1);
        float[][] got = onBoth(cl, cpu, (b, y) -> b.mergeHeads(y, b.upload("x", x.clone()), B, T, H, D), B * T * H * D);
        tally.compare("y", got[0], got[1]);
    }

    private static void gatherRows(ClBackend cl, CpuBackend cpu, ErrorTally tally, SplittableRandom random) {
        int C = 65;
        int[] rows = {4, 0, 4};
        tally.shape("rows 4,0,4 of [5, 65]");
        float[] x = gaussian(random, 5 * C, 1);
        float[][] got = onBoth(cl, cpu, (b, y) -> b.gatherRows(y, b.upload("x", x.clone()), rows, C), rows.length * C);
        tally.compare("y", got[0], got[1]);
    }

    private static void embed(ClBackend cl, CpuBackend cpu, ErrorTally tally, SplittableRandom random) {
        int C = 65;
        tally.shape("f32 token and position tables, R=3 C=65");
        WeightTensor wte = WeightTensor.ofFloats("wte", gaussian(random, 7 * C, 1), 7, C);
        WeightTensor wpe = WeightTensor.ofFloats("wpe", gaussian(random, 9 * C, 1), 9, C);
        int[] tokens = {6, 0, 6};
        int[] positions = {0, 8, 3};
        float[][] got = onBoth(cl, cpu, (b, y) -> b.embed(y, b.upload("wte", wte), b.upload("wpe", wpe), tokens, positions, C),
                tokens.length * C);
        tally.compare("y", got[0], got[1]);

        int blockC = 64;
        tally.shape("q8_0 token table, no positions, R=2 C=64");
        WeightTensor quantized = WeightTensor.quantized("wte", WeightType.Q8_0, gaussian(random, 5 * blockC, 1), 5, blockC);
        int[] few = {4, 1};
        got = onBoth(cl, cpu, (b, y) -> b.embed(y, b.upload("wte", quantized), null, few, new int[] {1 << 20, 1 << 21}, blockC),
                few.length * blockC);
        tally.compare("y", got[0], got[1]);
    }

    /** Enqueues an op writing {@code y} on a backend. */
    private interface Op {
        void run(Backend backend, Buf y);
    }

    /** {device result, reference result} of an op writing {@code size} floats. */
    private static float[][] onBoth(ClBackend cl, CpuBackend cpu, Op op, int size) {
        float[][] results = new float[2][];
        int i = 0;
        for (Backend b : new Backend[] {cl, cpu}) {
            Buf y = b.alloc("y", size);
            op.run(b, y);
            results[i++] = read(b, y, size);
        }
        return results;
    }

    private static float[] read(Backend b, Buf buf, int size) {
        float[] values = new float[size];
        b.read(buf, 0, values, 0, size);
        return values;
    }

    private static float[] gaussian(SplittableRandom random, int n, float scale) {
        return LinearCheck.gaussian(random, n, scale);
    }
}
