package gpuinfer.ops;

import gpuinfer.InputException;
import gpuinfer.check.Tolerance;
import gpuinfer.testing.BackendsPerBinding;
import gpuinfer.testing.NoLeaksInClass;
import gpuinfer.testing.OpenClTestSupport;
import gpuinfer.weights.WeightTensor;
import gpuinfer.weights.WeightType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static gpuinfer.ops.ClOpsTest.assertClose;
import static gpuinfer.ops.ClOpsTest.random;
import static gpuinfer.ops.ClOpsTest.read;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The linear and embedding kernels for every stored weight format (F32, F16, BF16, Q8_0, Q4_0) against their CPU
 * reference (dequantise exactly, then the double-accumulated product), on both bindings, over shapes that straddle
 * the kernels' blocks: one row, one output, inner sizes that are not multiples of the vector width (float formats)
 * or are one block, output counts that do not divide by NB. Every other case uploads the weight as a conversion
 * computed row by row while it streams (the --weights path), the others from one buffer (a mapped file's path).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(NoLeaksInClass.class)
class WeightFormatOpsTest {
    /**
     * float32 sums against double. The weights are exact float32 values in every format (the dequantised products
     * d·q fit 19 bits), so the format changes nothing about the accumulation error: float32 weights' tolerance.
     */
    static final Tolerance FP32_LINEAR = ClOpsTest.FP32_LINEAR;

    private BackendsPerBinding backends;

    @BeforeAll
    void open() {
        backends = BackendsPerBinding.open();
    }

    @AfterAll
    void close() {
        backends.close();
    }

    static Stream<Arguments> linearCases() {
        int[][] floatShapes = { // R, N, K
                {1, 1, 1}, {1, 7, 5}, {1, 301, 64}, {2, 33, 17}, {3, 130, 48}, {5, 9, 200}, {17, 100, 33},
                {64, 192, 128}, {129, 65, 31}};
        int[][] blockShapes = {
                {1, 1, 32}, {1, 7, 64}, {1, 301, 96}, {2, 33, 32}, {3, 130, 160}, {4, 64, 64}, {5, 9, 224},
                {17, 100, 96}, {64, 192, 128}, {129, 65, 32}, {1, 768, 768}};
        List<Arguments> all = new ArrayList<>();
        int i = 0;
        for (String binding : OpenClTestSupport.bindings()) {
            for (WeightType type : WeightType.targets()) {
                for (int[] s : type.isBlockQuantized() ? blockShapes : floatShapes) {
                    Activation act = Activation.values()[i % Activation.values().length];
                    all.add(Arguments.of(binding, type, s[0], s[1], s[2], act, i % 2 == 0, i % 3 != 0, i % 2 == 1));
                    i++;
                }
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} {1} R={2} N={3} K={4} {5} bias={6} residual={7} streamed={8}")
    @MethodSource("linearCases")
    void linearMatchesItsReferenceForEveryFormat(String binding, WeightType type, int R, int N, int K, Activation act,
                                                boolean bias, boolean residual, boolean streamed) {
        ClBackend cl = backends.get(binding);
        float[] x = random(R * K, 1);
        WeightTensor w = WeightTensor.ofFloats("w", random(N * K, 2), N, K).to(type);
        if (!streamed) {
            w = w.materialized();
        }
        float[] b = bias ? random(N, 3) : null;
        float[] res = residual ? random(R * N, 4) : null;
        float[] want = new float[R * N];
        Linear.reference(want, x, WeightRows.of(w), b, res, R, N, K, act);

        Buf y = cl.alloc("y", (long) R * N);
        Buf wBuf = cl.upload("w", w);
        assertEquals(type, wBuf.type());
        cl.linear(y, cl.upload("x", x), wBuf, bias ? cl.upload("b", b) : null, residual ? cl.upload("r", res) : null,
                R, N, K, act);
        assertClose("linear " + type, read(cl, y, R * N), want, FP32_LINEAR);
    }

    static Stream<Arguments> embeddingCases() {
        WeightType[][] pairs = {{WeightType.Q8_0, WeightType.F32}, {WeightType.Q4_0, WeightType.F16},
                {WeightType.F16, WeightType.BF16}, {WeightType.BF16, WeightType.F32}, {WeightType.F32, WeightType.Q8_0},
                {WeightType.Q4_0, WeightType.Q4_0}};
        int[] widths = {32, 96, 768};
        List<Arguments> all = new ArrayList<>();
        for (String binding : OpenClTestSupport.bindings()) {
            for (WeightType[] pair : pairs) {
                for (int C : widths) {
                    all.add(Arguments.of(binding, pair[0], pair[1], C));
                }
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} wte {1} wpe {2} C={3}")
    @MethodSource("embeddingCases")
    void embeddingReadsEveryFormatExactly(String binding, WeightType wteType, WeightType wpeType, int C) {
        ClBackend cl = backends.get(binding);
        int V = 13;
        int P = 9;
        int R = 7;
        WeightTensor wte = WeightTensor.quantized("wte", wteType, random(V * C, 5), V, C);
        WeightTensor wpe = WeightTensor.quantized("wpe", wpeType, random(P * C, 6), P, C);
        SplittableRandom rnd = new SplittableRandom(C);
        int[] tokens = rnd.ints(R, 0, V).toArray();
        int[] positions = rnd.ints(R, 0, P).toArray();
        float[] want = new float[R * C];
        Embedding.reference(want, WeightRows.of(wte), WeightRows.of(wpe), tokens, positions, C);
        Buf y = cl.alloc("y", (long) R * C);
        cl.embed(y, cl.upload("wte", wte), cl.upload("wpe", wpe), tokens, positions, C);
        assertClose("embed", read(cl, y, R * C), want, new Tolerance(0, 0));
    }

    /**
     * Prefill (16 rows of x or more) widens narrow weights to float32 once, then multiplies: with x the identity the
     * product is W transposed, so the widening must reproduce every stored value exactly (K of 48 takes the float
     * formats' partial last chunk).
     */
    @Test
    void thePrefillWideningReproducesEveryStoredValueExactly() {
        for (String binding : OpenClTestSupport.bindings()) {
            ClBackend cl = backends.get(binding);
            for (WeightType type : new WeightType[] {WeightType.F16, WeightType.BF16, WeightType.Q8_0, WeightType.Q4_0}) {
                int K = type.isBlockQuantized() ? 96 : 48;
                int N = 37;
                WeightTensor w = WeightTensor.quantized("w", type, random(N * K, 11), N, K);
                float[] identity = new float[K * K];
                for (int i = 0; i < K; i++) {
                    identity[i * K + i] = 1f;
                }
                Buf y = cl.alloc("y", (long) K * N);
                cl.linear(y, cl.upload("x", identity), cl.upload("w", w), null, null, K, N, K, Activation.NONE);
                float[] values = w.toFloats();
                float[] transposed = new float[K * N];
                for (int n = 0; n < N; n++) {
                    for (int k = 0; k < K; k++) {
                        transposed[k * N + n] = values[n * K + k];
                    }
                }
                assertClose(binding + " " + type + " widened", read(cl, y, K * N), transposed, new Tolerance(0, 0));
            }
        }
    }

    @Test
    void blockFormatsRefuseRowsThatEndMidBlock() {
        InputException e = assertThrows(InputException.class,
                () -> WeightTensor.ofFloats("blk.0.ffn_up.weight", new float[3 * 33], 3, 33).to(WeightType.Q8_0));
        assertTrue(e.getMessage().contains("blk.0.ffn_up.weight") && e.getMessage().contains("multiple of 32"), e.getMessage());
        assertThrows(InputException.class, () -> WeightTensor.of("w", WeightType.Q4_0, new long[] {2, 48},
                java.nio.ByteBuffer.allocate(2 * 27)));

        // a device buffer of Q8_0 rows launched with a K that is not whole blocks: refused before the launch
        ClBackend cl = backends.get(OpenClTestSupport.bindings().get(0));
        Buf w = cl.upload("w", WeightTensor.quantized("w", WeightType.Q8_0, random(4 * 64, 7), 4, 64));
        Buf x = cl.upload("x", random(2 * 33, 8));
        Buf y = cl.alloc("y", 8);
        InputException launch = assertThrows(InputException.class, () -> cl.linear(y, x, w, null, null, 2, 4, 33, Activation.NONE));
        assertTrue(launch.getMessage().contains("multiple of 32"), launch.getMessage());
        // and a K that reads past the buffer's rows
        assertThrows(IllegalArgumentException.class, () -> cl.linear(y, x, w, null, null, 1, 4, 96, Activation.NONE));
    }

    @Test
    void aMappedWeightIsReadInPlaceOrCopiedWithTheSameResults() {
        int R = 2;
        int N = 37;
        int K = 96;
        float[] x = random(R * K, 11);
        WeightTensor quantized = WeightTensor.quantized("w", WeightType.Q8_0, random(N * K, 12), N, K);
        java.nio.ByteBuffer direct = java.nio.ByteBuffer.allocateDirect((int) quantized.storedBytes())
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        direct.put(quantized.buffer().orElseThrow()).flip();
        WeightTensor mapped = WeightTensor.of("w", WeightType.Q8_0, new long[] {N, K}, direct); // as a mapped file's
        float[] want = new float[R * N];
        Linear.reference(want, x, quantized.toFloats(), null, null, R, N, K, Activation.NONE);
        for (String binding : OpenClTestSupport.bindings()) {
            try (gpuinfer.cl.ClContext context = OpenClTestSupport.context(binding);
                 ClBackend inPlace = new ClBackend(context, gpuinfer.variants.KernelSettings.defaults(), false);
                 ClBackend copied = new ClBackend(context, gpuinfer.variants.KernelSettings.defaults(), true)) {
                float[][] results = new float[2][];
                ClBackend[] both = {inPlace, copied};
                for (int i = 0; i < 2; i++) {
                    Buf w = both[i].upload("w", mapped);
                    // the device reads host memory in place exactly when it shares it (a CPU device) and may
                    assertEquals(i == 0 && context.device().info().sharesHostMemory(), ((ClBackend.DeviceBuf) w).buffer().usesHostMemory(), binding + " " + i);
                    Buf y = both[i].alloc("y", R * N);
                    both[i].linear(y, both[i].upload("x", x), w, null, null, R, N, K, Activation.NONE);
                    results[i] = read(both[i], y, R * N);
                }
                assertClose(binding + " in place", results[0], want, FP32_LINEAR);
                org.junit.jupiter.api.Assertions.assertArrayEquals(results[0], results[1], binding + ": in place and copied");
            }
        }
    }

    @Test
    void theCpuBackendRunsStoredFormatsToo() {
        CpuBackend cpu = new CpuBackend();
        int R = 3;
        int N = 5;
        int K = 64;
        float[] x = random(R * K, 9);
        WeightTensor w = WeightTensor.quantized("w", WeightType.Q4_0, random(N * K, 10), N, K);
        float[] dequantised = w.toFloats();
        float[] want = new float[R * N];
        Linear.reference(want, x, dequantised, null, null, R, N, K, Activation.NONE);
        Buf y = cpu.alloc("y", R * N);
        cpu.linear(y, cpu.upload("x", x), cpu.upload("w", w), null, null, R, N, K, Activation.NONE);
        assertClose("cpu linear q4_0", read(cpu, y, R * N), want, new Tolerance(0, 0));
    }
}
