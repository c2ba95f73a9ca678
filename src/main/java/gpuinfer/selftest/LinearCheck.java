package gpuinfer.selftest;

import gpuinfer.check.Tolerance;
import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClQueue;
import gpuinfer.ops.Activation;
import gpuinfer.ops.Linear;
import gpuinfer.variants.KernelSettings;
import gpuinfer.weights.WeightTensor;
import gpuinfer.weights.WeightType;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.SplittableRandom;

/**
 * One linear variant ({@link Linear.OnDevice}, built with settings that force it) against {@link Linear#reference} on
 * the same stored weights, so that only the device's accumulation error counts, whatever the format.
 */
final class LinearCheck {
    private LinearCheck() {
    }

    /**
     * float32 sums of at most 288 products of x ~ N(0, 1) and w ~ N(0, 0.2²) (sums of a few units) against double:
     * errors of a few ulps, below 1e-6 on PoCL; ClOpsTest's tolerance for float32 weights.
     */
    static final Tolerance FLOAT_WEIGHTS = new Tolerance(1e-5, 1e-4);
    /**
     * Q8_0 and Q4_0: the reference multiplies the exactly dequantised weights d·q; a kernel may multiply a block's
     * partial sum by d instead (one more rounding per 32 values), hence twice the absolute part.
     */
    static final Tolerance BLOCK_WEIGHTS = new Tolerance(2e-5, 1e-4);

    /** The tolerance of a weight format; F16 and BF16 values are exact float32 values, so they sum as float32 does. */
    static Tolerance tolerance(WeightType type) {
        return switch (type) {
            case F32, F16, BF16 -> FLOAT_WEIGHTS;
            case Q8_0, Q4_0 -> BLOCK_WEIGHTS;
            default -> throw new IllegalArgumentException(type + " weights do not run on the device");
        };
    }

    /**
     * One shape: rows R of x, outputs N, inner size K, the activation, and what is added: a bias, a residual from
     * another buffer, or a residual added in place (y holds it before the call).
     */
    record Shape(int R, int N, int K, Activation act, boolean bias, Residual residual) {
        String label() {
            return "R=" + R + " N=" + N + " K=" + K;
        }
    }

    enum Residual { NONE, SEPARATE, IN_PLACE }

    /**
     * Decode (R &le; 16): one row; N = 1 and 65 (one past a group of 64 outputs); seven rows (linear_matvec's groups of
     * three, and one more) with N = 63. K is not a
     * multiple of any vector width (33, 65) and one past 256 (257) for the float formats; one block, 5 blocks (a
     * loop of four and a tail) and 9 blocks for the block formats.
     */
    static List<Shape> decodeShapes(WeightType type) {
        boolean blocks = type.isBlockQuantized();
        return List.of(
                new Shape(1, 1, blocks ? 32 : 33, Activation.NONE, false, Residual.NONE),
                new Shape(1, 65, blocks ? 288 : 257, Activation.GELU_TANH, true, Residual.SEPARATE),
                new Shape(7, 63, blocks ? 160 : 65, Activation.GELU_ERF, true, Residual.IN_PLACE));
    }

    /**
     * Prefill (R &gt; 16, where the prefill variants run): 17 rows and a single output; 18 rows and 65 outputs; 65 rows (one past a 64-row group) and 17 outputs (one past a 16-wide panel).
     */
    static List<Shape> prefillShapes(WeightType type) {
        boolean blocks = type.isBlockQuantized();
        return List.of(
                new Shape(17, 1, blocks ? 32 : 33, Activation.GELU_ERF, true, Residual.NONE),
                new Shape(18, 65, blocks ? 160 : 65, Activation.NONE, true, Residual.SEPARATE),
                new Shape(65, 17, blocks ? 288 : 257, Activation.GELU_TANH, false, Residual.IN_PLACE));
    }

    /**
     * Runs {@code variant} (which {@code forced} makes the op choose) over {@code shapes}; linear_packed, where the
     * format is packed once (F32, F16, BF16), also over the decode shapes, from panels.
     */
    static VariantResult run(ClContext context, KernelSettings forced, String variant, String point, WeightType type,
                             List<Shape> shapes) {
        ErrorTally tally = new ErrorTally(variant, point, tolerance(type));
        try (Linear.OnDevice op = new Linear.OnDevice(context, forced, java.util.Map.of())) {
            for (Shape s : shapes) {
                tally.shape(s.label());
                String ran = op.variant(s.R(), type);
                if (!ran.equals(variant)) {
                    tally.notRun("the op runs " + ran + " for " + s.label() + " here (" + variant
                            + " does not fit this device's kernel limits, or this build does not have it)");
                    break;
                }
                runShape(context, op, tally, type, s, false);
            }
            if (Linear.OnDevice.kernelOf(variant).equals("linear_packed") && op.packsOnce(type)) {
                // the model multiplies these formats from panels packed once at every row count: decode's rows too
                for (Shape s : decodeShapes(type)) {
                    tally.shape(s.label() + " from panels");
                    runShape(context, op, tally, type, s, true);
                }
            }
        } catch (gpuinfer.util.Interruption.Interrupted e) {
            throw e;
        } catch (RuntimeException e) {
            return tally.result(e);
        }
        return tally.result(null);
    }

    /** One shape; {@code panels}: W packed once ({@link Linear.OnDevice#pack}) and multiplied from the panels. */
    private static void runShape(ClContext context, Linear.OnDevice op, ErrorTally tally, WeightType type, Shape s,
                                 boolean panels) {
        SplittableRandom random = new SplittableRandom(31L * s.R() + 7L * s.N() + s.K());
        float[] x = gaussian(random, s.R() * s.K(), 1);
        WeightTensor w = WeightTensor.quantized("w", type, gaussian(random, s.N() * s.K(), 0.2f), s.N(), s.K());
        float[] bias = s.bias() ? gaussian(random, s.N(), 1) : null;
        float[] residual = s.residual() == Residual.NONE ? null : gaussian(random, s.R() * s.N(), 1);
        float[] want = new float[s.R() * s.N()];
        // the reference multiplies the stored weights (dequantised exactly), so the format's rounding is not counted
        Linear.reference(want, x, w.toFloats(), bias, residual, s.R(), s.N(), s.K(), s.act());

        ByteBuffer stored = ByteBuffer.allocateDirect(Math.toIntExact(w.storedBytes())).order(ByteOrder.LITTLE_ENDIAN);
        w.storedRows(0, s.N(), stored);
        stored.flip();
        ClQueue queue = context.queue();
        float[] yStart = s.residual() == Residual.IN_PLACE ? residual : new float[s.R() * s.N()];
        try (ClBuffer xBuf = context.createBuffer(x, "self-test x [" + s.R() + ", " + s.K() + "]");
             ClBuffer wBuf = context.createBuffer(Math.max(1, w.storedBytes()), "self-test w [" + s.N() + ", " + s.K()
                     + "] " + type.label);
             ClBuffer biasBuf = bias == null ? null : context.createBuffer(bias, "self-test bias [" + s.N() + "]");
             ClBuffer residualBuf = s.residual() == Residual.SEPARATE
                     ? context.createBuffer(residual, "self-test residual [" + s.R() + ", " + s.N() + "]") : null;
             ClBuffer yBuf = context.createBuffer(yStart, "self-test y [" + s.R() + ", " + s.N() + "]")) {
            queue.write(wBuf, 0, stored);
            ClBuffer residualArg = s.residual() == Residual.IN_PLACE ? yBuf : residualBuf;
            float[] got = new float[s.R() * s.N()];
            if (panels) {
                try (Linear.OnDevice.Panels packed = op.pack(queue, wBuf, type, s.N(), s.K())) {
                    op.enqueue(queue, yBuf, xBuf, packed, biasBuf, residualArg, s.R(), s.act());
                    queue.read(yBuf, got);
                }
            } else {
                op.enqueue(queue, yBuf, xBuf, wBuf, type, biasBuf, residualArg, s.R(), s.N(), s.K(), s.act());
                queue.read(yBuf, got);
            }
            tally.compare("y", got, want);
        }
    }

    static float[] gaussian(SplittableRandom random, int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian() * scale;
        }
        return v;
    }
}
