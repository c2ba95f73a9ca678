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
 * The linear layer in every weight format on the device {@code --device auto} picks, over shapes around the kernels'
 * tiles, against the CPU reference: rows of x for linear_rows (1, 3), linear_nt (4, 15) and the widened prefill
 * (16, 65: one past a 64-row tile); outputs one short of and one past 64 (N = 63, 65), a single output (N = 1), and
 * K not a multiple of the vector width (33, float formats), and K = 160: five 32-value blocks, so linear_rows's
 * four-block loop (its scales widened four at a time) and its one-block tail both run. On CPUs the prefill rows run
 * linear_packed from pack_rows's panels (16 outputs wide with VEC = 8, MB = 4 rows, 64-row groups): rows 17 and 63 are
 * one past a work-item's rows and one short of a group's, N = 15 and 17 one short of and one past a panel, and K = 480
 * and 544 one short of and one past pack_rows's group of 16 chunks of 32 (those two only at 16 and 17 rows: Oclgrind
 * is slow). Every activation, with bias and residual. A main, not a
 * test: {@code tools/oclgrind_check.sh} runs it on Oclgrind, which checks every memory access and looks for races
 * (the JUnit fork cannot host Oclgrind); WeightFormatOpsTest covers the same kernels on the test device.
 *
 * <p>Prints one line per case and the programs built (their tuning values); exits 1 on any mismatch.
 */
public final class LinearShapeSweep {
    private LinearShapeSweep() {
    }

    public static void main(String[] args) {
        ClRuntime runtime = ClRuntime.get(ClRuntime.DEFAULT_BINDING);
        SplittableRandom random = new SplittableRandom(1);
        Tolerance tolerance = new Tolerance(1e-4, 1e-4);
        int cases = 0;
        int failures = 0;
        try (ClContext context = runtime.createContext(runtime.select("auto"), ProgramCache.defaultCache());
             ClBackend cl = new ClBackend(context)) {
            System.out.println("device " + context.device().name() + "; prefill (16 rows or more) runs "
                    + (Linear.OnDevice.packedPrefill(context.device().info()) ? "pack_rows + linear_packed" : "linear_nt"));
            for (WeightType type : WeightType.targets()) {
                for (int R : new int[] {1, 3, 4, 15, 16, 17, 63, 65}) {
                    for (int[] nk : new int[][] {{63, 64}, {65, 96}, {1, 32}, {17, 33}, {9, 160}, {15, 480}, {17, 544}}) {
                        int N = nk[0];
                        int K = nk[1];
                        if (!type.fitsRow(K) || (K >= 480 && R != 16 && R != 17)) {
                            continue;
                        }
                        Activation act = Activation.values()[cases % Activation.values().length];
                        float[] x = gaussian(random, R * K, 1);
                        float[] bias = gaussian(random, N, 1);
                        float[] residual = gaussian(random, R * N, 1);
                        WeightTensor w = WeightTensor.quantized("w", type, gaussian(random, N * K, 0.2f), N, K);
                        float[] want = new float[R * N];
                        Linear.reference(want, x, w.toFloats(), bias, residual, R, N, K, act);
                        Buf y = cl.alloc("y", R * N);
                        cl.linear(y, cl.upload("x", x), cl.upload("w", w), cl.upload("bias", bias), cl.upload("residual", residual),
                                R, N, K, act);
                        float[] got = new float[R * N];
                        cl.read(y, 0, got, 0, got.length);
                        Comparison c = Validate.compare(type + " R=" + R + " N=" + N + " K=" + K + " " + act, got, want, tolerance);
                        cases++;
                        if (c.passed()) {
                            System.out.println("ok    " + c.name() + ", max abs error " + (float) c.maxAbsError());
                        } else {
                            failures++;
                            System.out.println("FAIL  " + c);
                        }
                    }
                }
            }
            context.builds().stream().filter(b -> !b.origin().equals("memory"))
                    .forEach(b -> System.out.println("built " + b.source() + " " + b.options()));
        }
        System.out.println(cases + " cases, " + failures + " mismatches");
        System.exit(failures == 0 ? 0 : 1);
    }

    private static float[] gaussian(SplittableRandom random, int n, float scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian() * scale;
        }
        return v;
    }
}
