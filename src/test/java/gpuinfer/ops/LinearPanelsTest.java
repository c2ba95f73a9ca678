package gpuinfer.ops;

import gpuinfer.check.Comparison;
import gpuinfer.check.Validate;
import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClQueue;
import gpuinfer.testing.NoLeaksInClass;
import gpuinfer.testing.OpenClTestSupport;
import gpuinfer.variants.KernelSettings;
import gpuinfer.variants.Variants;
import gpuinfer.weights.WeightTensor;
import gpuinfer.weights.WeightType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;

import static gpuinfer.ops.ClOpsTest.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Float32 weights packed once into linear_packed's panels ({@link Linear.OnDevice#pack}, {@link ClBackend#linear}):
 * which formats and families pack once; every row count of decode and prefill (1 to 16, and around the group's rows)
 * against {@link Linear#reference} with outputs around the panel width and K from 1 to past pack_rows's chunk group;
 * a row's bits the same whatever the number of rows beside it (what batching relies on), on both bindings; the
 * backend packs a weight once and releases the panels.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(NoLeaksInClass.class)
class LinearPanelsTest {
    private final List<ClContext> contexts = new ArrayList<>();

    @BeforeAll
    void open() {
        for (String binding : OpenClTestSupport.bindings()) {
            contexts.add(OpenClTestSupport.context(binding));
        }
    }

    @AfterAll
    void close() {
        contexts.forEach(ClContext::close);
    }

    /** The formats kept in panels as stored. */
    static final List<WeightType> PACKED_ONCE = List.of(WeightType.F32, WeightType.F16, WeightType.BF16);

    private static KernelSettings quiet() {
        return KernelSettings.defaults().withWarnings(message -> { });
    }

    @Test
    void floatWeightsPackOnceWhereThePrefillVariantIsLinearPacked() {
        ClContext context = contexts.get(0);
        boolean gpu = context.device().info().isGpu();
        try (Linear.OnDevice cpuFamily = new Linear.OnDevice(context, quiet().withFamily(KernelSettings.Family.CPU), Map.of());
             Linear.OnDevice gpuFamily = new Linear.OnDevice(context, quiet().withFamily(KernelSettings.Family.GPU), Map.of());
             Linear.OnDevice auto = new Linear.OnDevice(context, quiet(), Map.of());
             Linear.OnDevice nt = new Linear.OnDevice(context,
                     Variants.linearPrefill("f32").forcing(quiet(), "linear_nt/f32"), Map.of())) {
            for (WeightType type : PACKED_ONCE) {
                assertTrue(cpuFamily.packsOnce(type), type.label);
                assertEquals(!gpu, auto.packsOnce(type), type.label);
                // a GPU-shaped prefill (linear_tiled) reads W as stored
                assertFalse(gpuFamily.packsOnce(type), type.label);
            }
            // block formats run along k in 32-value blocks: widened per prefill step, never kept in panels
            for (WeightType blocks : List.of(WeightType.Q8_0, WeightType.Q4_0)) {
                assertFalse(cpuFamily.packsOnce(blocks), blocks.label);
                assertThrows(IllegalArgumentException.class, () -> cpuFamily.pack(context.queue(), null, blocks, 1, 32));
            }
            assertFalse(nt.packsOnce(WeightType.F32), "linear_nt forced for float32 prefill");
        }
    }

    /** Rows of x: every decode batch up to 16 and a prefill step's rows around linear_packed's group of rows. */
    private static int[] rows(Linear.Config c) {
        TreeSet<Integer> all = new TreeSet<>(List.of(1, 2, 3, 4, 5, 7, 8, 15, 16, 17));
        int group = c.wgr() * c.mb();
        all.addAll(List.of(c.mb() + 1, group - 1, group + 1));
        return all.stream().mapToInt(Integer::intValue).toArray();
    }

    @TestFactory
    Stream<DynamicTest> panelsMatchTheReferenceAtEveryRowCount() {
        List<DynamicTest> tests = new ArrayList<>();
        for (ClContext context : contexts) {
            for (WeightType type : PACKED_ONCE) {
                tests.add(DynamicTest.dynamicTest(context.binding() + " " + type.label, () -> {
                    try (Linear.OnDevice op = new Linear.OnDevice(context, quiet().withFamily(KernelSettings.Family.CPU), Map.of())) {
                        Linear.Config c = op.config("linear_packed/" + type.label, 17);
                        int pn = c.nb() * c.vec();
                        int cases = 0;
                        for (int R : rows(c)) {
                            for (int N : new int[] {1, pn - 1, pn + 1, 2 * pn + 3}) {
                                for (int K : new int[] {1, c.vec() + 1, 33, 511, 513}) {
                                    check(context, op, type, R, N, K, cases++);
                                }
                            }
                        }
                        assertTrue(cases > 200, cases + " cases");
                    }
                }));
            }
        }
        return tests.stream();
    }

    /**
     * linear_packed sums each output's K products of unit-scale values in one float32 accumulator, k after k: partial
     * sums grow to about sqrt(K) and each addition rounds by up to half an ulp of them, so the error walks to about
     * u·K (u = 2^-24); four times that, and at least LinearVariantsTest's 1e-5 (K = 513: 1.2e-4).
     */
    static gpuinfer.check.Tolerance tolerance(int K) {
        return new gpuinfer.check.Tolerance(Math.max(1e-5, 4 * 0x1p-24 * K), 1e-4);
    }

    private void check(ClContext context, Linear.OnDevice op, WeightType type, int R, int N, int K, int i) {
        Activation act = Activation.values()[i % Activation.values().length];
        boolean hasBias = i % 2 == 0;
        boolean inPlace = i % 3 == 0;
        long seed = 500 + i;
        float[] x = random(R * K, seed);
        // the reference multiplies the stored values (exact floats), so only the accumulation error counts
        WeightTensor stored = WeightTensor.quantized("w", type, random(N * K, seed + 1), N, K);
        float[] w = stored.toFloats();
        float[] bias = hasBias ? random(N, seed + 2) : null;
        float[] residual = random(R * N, seed + 3);
        float[] want = new float[R * N];
        Linear.reference(want, x, w, bias, residual, R, N, K, act);
        ClQueue queue = context.queue();
        try (ClBuffer xb = context.createBuffer(x, "x");
             ClBuffer wb = upload(context, stored);
             ClBuffer bb = bias == null ? null : context.createBuffer(bias, "bias");
             ClBuffer rb = inPlace ? null : context.createBuffer(residual, "residual");
             ClBuffer y = inPlace ? context.createBuffer(residual, "y = residual") : context.createBuffer(4L * R * N, "y");
             Linear.OnDevice.Panels panels = op.pack(queue, wb, type, N, K)) {
            assertEquals(type.rowBytes(K) * ((N + panels.pn() - 1) / panels.pn()) * panels.pn(), panels.buffer().bytes(),
                    "panels keep the stored format");
            op.enqueue(queue, y, xb, panels, bb, inPlace ? y : rb, R, act);
            float[] got = new float[R * N];
            queue.read(y, got);
            Comparison cmp = Validate.compare(type.label + " panels R=" + R + " N=" + N + " K=" + K + " " + act + " bias=" + hasBias
                    + (inPlace ? " residual in y" : ""), got, want, tolerance(K));
            assertTrue(cmp.passed(), cmp::report);
        }
    }

    /** A weight's stored bytes in a new device buffer. */
    private static ClBuffer upload(ClContext context, WeightTensor w) {
        java.nio.ByteBuffer bytes = w.buffer().orElseThrow();
        ClBuffer buffer = context.createBuffer(bytes.remaining(), "w " + w.type().label);
        context.queue().write(buffer, 0, bytes);
        return buffer;
    }

    /**
     * The rows of a 40-row product, computed again as products of their first 1, 2, 3, 4, 7, 16 and 17 rows: every
     * row the same bits (a sequence's logits must not depend on how many others share its step, decode or prefill).
     */
    @TestFactory
    Stream<DynamicTest> aRowIsTheSameBitsWhateverTheRowsBesideIt() {
        List<DynamicTest> tests = new ArrayList<>();
        for (ClContext context : contexts) {
            for (WeightType type : PACKED_ONCE) {
                tests.add(DynamicTest.dynamicTest(context.binding() + " " + type.label, () -> {
                    int all = 40;
                    int N = 37;
                    int K = 301;
                    float[] x = random(all * K, 7);
                    WeightTensor w = WeightTensor.quantized("w", type, random(N * K, 8), N, K);
                    float[] bias = random(N, 9);
                    ClQueue queue = context.queue();
                    try (Linear.OnDevice op = new Linear.OnDevice(context, quiet().withFamily(KernelSettings.Family.CPU), Map.of());
                         ClBuffer xb = context.createBuffer(x, "x");
                         ClBuffer wb = upload(context, w);
                         ClBuffer bb = context.createBuffer(bias, "bias");
                         ClBuffer y = context.createBuffer(4L * all * N, "y");
                         Linear.OnDevice.Panels panels = op.pack(queue, wb, type, N, K)) {
                        op.enqueue(queue, y, xb, panels, bb, null, all, Activation.GELU_TANH);
                        float[] together = new float[all * N];
                        queue.read(y, together);
                        for (int R : new int[] {1, 2, 3, 4, 7, 16, 17}) {
                            op.enqueue(queue, y, xb, panels, bb, null, R, Activation.GELU_TANH);
                            float[] fewer = new float[R * N];
                            queue.read(y, fewer);
                            assertArrayEquals(Arrays.copyOf(together, R * N), fewer, 0.0f, R + " rows against " + all);
                        }
                    }
                }));
            }
        }
        return tests.stream();
    }

    @Test
    void panelsOfAnotherWidthAreRefused() {
        ClContext context = contexts.get(0);
        KernelSettings cpu = quiet().withFamily(KernelSettings.Family.CPU);
        try (Linear.OnDevice op = new Linear.OnDevice(context, cpu, Map.of());
             Linear.OnDevice wider = new Linear.OnDevice(context, cpu, Map.of("linear/prefill", Map.of("NB", "3")));
             ClBuffer wb = context.createBuffer(random(20 * 9, 1), "w");
             ClBuffer xb = context.createBuffer(random(9, 2), "x");
             ClBuffer y = context.createBuffer(4L * 20, "y");
             Linear.OnDevice.Panels panels = op.pack(context.queue(), wb, WeightType.F32, 20, 9)) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> wider.enqueue(context.queue(), y, xb, panels, null, null, 1, Activation.NONE));
            assertTrue(e.getMessage().contains("do not match linear_packed's PN"), e.getMessage());
        }
    }

    /** The backend packs a float32 weight on its first product only, and its close releases the panels. */
    @Test
    void theBackendPacksAWeightOnceAndReleasesItsPanels() {
        ClContext context = contexts.get(0);
        long before = context.allocatedBytes();
        int N = 50;
        int K = 64;
        try (ClBackend backend = new ClBackend(context, quiet().withFamily(KernelSettings.Family.CPU))) {
            Buf w = backend.upload("w", random(N * K, 3));
            Buf x = backend.upload("x", random(4 * K, 4));
            Buf y = backend.alloc("y", 4L * N);
            backend.linear(y, x, w, null, null, 1, N, K, Activation.NONE);
            backend.finish();
            long afterFirst = context.allocatedBytes();
            float[] one = new float[N];
            backend.read(y, 0, one, 0, N);
            backend.linear(y, x, w, null, null, 4, N, K, Activation.NONE);
            backend.linear(y, x, w, null, null, 2, N, K, Activation.NONE);
            backend.finish();
            assertEquals(afterFirst, context.allocatedBytes(), "packed once");
            float[] first = new float[N];
            backend.read(y, 0, first, 0, N);
            assertArrayEquals(one, first, 0.0f, "row 0 alone and beside others");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> backend.linear(y, x, w, null, null, 1, N / 2, 2 * K, Activation.NONE));
            assertTrue(e.getMessage().contains("[50, 64] before and now as [25, 128]"), e.getMessage());
        }
        assertEquals(before, context.allocatedBytes(), "the backend released the panels with its buffers");
    }
}
