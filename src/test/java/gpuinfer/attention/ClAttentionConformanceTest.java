package gpuinfer.attention;

import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.DeviceMemoryException;
import gpuinfer.tensor.RandomTensors;
import gpuinfer.tensor.Tensor;
import gpuinfer.testing.Golden;
import gpuinfer.testing.NoLeaksInClass;
import gpuinfer.testing.OpenClTestSupport;
import gpuinfer.variants.KernelSettings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every OpenCL attention path (naive, flash, and flash with the GPU-shaped variants preferred: flash_dsplit and
 * flash_decode_dsplit, whatever the device) against the CPU reference, on both bindings: a matrix of shapes, decode
 * shapes, key padding, rows that see no key, large logits, every supported head size, and the log-sum-exp.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(NoLeaksInClass.class)
class ClAttentionConformanceTest {
    private final Map<String, ClContext> contexts = new HashMap<>();
    private final Map<String, ClAttention> ops = new HashMap<>();
    /** The paths under test: the OpenCL implementations, and flash with GPU-shaped variants preferred. */
    static final List<String> IMPLS = List.of("naive", "flash", "flash-gpu");

    @BeforeAll
    void open() {
        for (String binding : OpenClTestSupport.bindings()) {
            ClContext context = OpenClTestSupport.context(binding);
            contexts.put(binding, context);
            for (String impl : AttentionImpls.OPENCL) {
                ops.put(binding + "/" + impl, AttentionImpls.create(impl, context));
            }
            ops.put(binding + "/flash-gpu", new FlashAttention(context,
                    KernelSettings.defaults().withFamily(KernelSettings.Family.GPU), Map.of()));
        }
    }

    @AfterAll
    void close() {
        ops.values().forEach(ClAttention::close);
        contexts.values().forEach(ClContext::close);
    }

    private ClAttention op(String binding, String impl) {
        return ops.get(binding + "/" + impl);
    }

    /**
     * B 1-3; H 1-8 with several Hkv dividing H; Sq and Sk from 1 to 300, many not a multiple of any tile (16, 64)
     * or work-group row count; D 16-128; Sq < Sk (decode against a cache), Sq = Sk, and Sq > Sk (rows that see no
     * key when causal).
     */
    static List<AttentionShape> shapes() {
        return List.of(
                new AttentionShape(1, 1, 1, 1, 1, 16),
                new AttentionShape(1, 1, 1, 1, 300, 64),
                new AttentionShape(1, 4, 1, 1, 257, 32),
                new AttentionShape(2, 4, 2, 3, 45, 16),
                new AttentionShape(1, 2, 2, 7, 7, 24),
                new AttentionShape(3, 2, 1, 17, 33, 48),
                new AttentionShape(2, 8, 2, 77, 300, 64),
                new AttentionShape(1, 6, 3, 64, 64, 64),
                new AttentionShape(1, 8, 8, 65, 129, 80),
                new AttentionShape(2, 3, 1, 100, 100, 96),
                new AttentionShape(1, 4, 4, 33, 17, 16),
                new AttentionShape(1, 2, 1, 300, 31, 32),
                new AttentionShape(3, 8, 4, 31, 255, 128),
                new AttentionShape(1, 1, 1, 300, 300, 128),
                new AttentionShape(2, 6, 2, 129, 190, 40));
    }

    /** Shapes the flash kernels treat specially: decode (split-K), every head size it supports, long keys. */
    static List<AttentionShape> flashShapes() {
        return List.of(
                new AttentionShape(1, 12, 12, 1, 4096, 64),
                new AttentionShape(2, 8, 2, 2, 1000, 128),
                new AttentionShape(1, 4, 1, 5, 777, 80),
                new AttentionShape(1, 2, 2, 8, 64, 96),
                new AttentionShape(1, 2, 2, 9, 70, 32),
                new AttentionShape(1, 2, 1, 70, 200, 256),
                new AttentionShape(1, 1, 1, 1, 1, 256),
                new AttentionShape(2, 2, 2, 130, 130, 32),
                new AttentionShape(1, 2, 1, 513, 513, 64));
    }

    static Stream<Arguments> cases() {
        List<Arguments> all = new ArrayList<>();
        for (String binding : OpenClTestSupport.bindings()) {
            for (String impl : IMPLS) {
                for (AttentionShape shape : shapes()) {
                    all.add(Arguments.of(binding, impl, shape, true));
                    all.add(Arguments.of(binding, impl, shape, false));
                }
            }
            for (String impl : List.of("flash", "flash-gpu")) {
                for (AttentionShape shape : flashShapes()) {
                    all.add(Arguments.of(binding, impl, shape, true));
                    all.add(Arguments.of(binding, impl, shape, false));
                }
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2} causal={3}")
    @MethodSource("cases")
    void matchesCpuReference(String binding, String impl, AttentionShape shape, boolean causal) {
        check(op(binding, impl), AttentionProblem.of(shape, causal), shape.hashCode() * 31L + (causal ? 1 : 0), 1f);
    }

    static Stream<Arguments> paddingCases() {
        List<Arguments> all = new ArrayList<>();
        for (String binding : OpenClTestSupport.bindings()) {
            for (String impl : IMPLS) {
                // The decode example; a length of 0 hides every key of that batch entry.
                all.add(Arguments.of(binding, impl, new AttentionShape(3, 8, 2, 1, 5000, 128), true, new int[] {5000, 17, 1}));
                all.add(Arguments.of(binding, impl, new AttentionShape(3, 4, 2, 40, 90, 64), true, new int[] {90, 0, 37}));
                all.add(Arguments.of(binding, impl, new AttentionShape(2, 2, 1, 70, 70, 32), false, new int[] {3, 70}));
                all.add(Arguments.of(binding, impl, new AttentionShape(2, 4, 4, 3, 300, 80), false, new int[] {0, 299}));
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2} causal={3} kv-lens={4}")
    @MethodSource("paddingCases")
    void keyPaddingMasksMatchTheReference(String binding, String impl, AttentionShape shape, boolean causal, int[] lens) {
        AttentionProblem problem = AttentionProblem.of(shape, causal).withKvLens(lens);
        AttentionResult result = check(op(binding, impl), problem, 11, 1f);
        if (lens[0] == 0 || lens[1] == 0) {
            assertTrue(problem.rowsWithoutKeys() > 0);
            assertNoNaN(result);
        }
    }

    static Stream<Arguments> largeLogitCases() {
        List<Arguments> all = new ArrayList<>();
        for (String binding : OpenClTestSupport.bindings()) {
            for (String impl : IMPLS) {
                all.add(Arguments.of(binding, impl, new AttentionShape(1, 2, 2, 70, 70, 64)));
                all.add(Arguments.of(binding, impl, new AttentionShape(1, 2, 1, 1, 3000, 64)));
            }
        }
        return all.stream();
    }

    /** Logits of magnitude about 1e4: a softmax without max-subtraction would overflow to inf and NaN. */
    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("largeLogitCases")
    void largeLogitsStayFinite(String binding, String impl, AttentionShape shape) {
        // q ~ N(0, 1) scaled by 1e4/sqrt(D) * sqrt(D)/... : scores = scale * q.k ~ N(0, 1) * factor
        float factor = 1e4f / 3;
        AttentionResult result = check(op(binding, impl), AttentionProblem.of(shape, true), 7, factor);
        assertNoNaN(result);
    }

    static Stream<Arguments> goldenCases() {
        List<Arguments> all = new ArrayList<>();
        for (String binding : OpenClTestSupport.bindings()) {
            for (String impl : IMPLS) {
                for (Golden golden : Golden.attentionCases()) {
                    all.add(Arguments.of(binding, impl, golden));
                }
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("goldenCases")
    void matchesNumpyGolden(String binding, String impl, Golden golden) {
        AttentionResult got = op(binding, impl).run(golden.problem(), golden.q(), golden.k(), golden.v());
        Tolerance tolerance = largeLogitTolerance(golden.name().equals("large_logits") ? 1e4f : 1f, golden.v());
        Comparison out = Validate.compare("out", got.out().data(), golden.out().data(), tolerance);
        assertTrue(out.passed(), out::report);
        Comparison lse = Validate.compare("lse", got.lse().data(), golden.lse().data(), tolerance);
        assertTrue(lse.passed(), lse::report);
    }

    static Stream<Arguments> everyPath() {
        List<Arguments> all = new ArrayList<>();
        for (String binding : OpenClTestSupport.bindings()) {
            for (String impl : IMPLS) {
                all.add(Arguments.of(binding, impl));
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("everyPath")
    void rowsThatSeeNoKeyAreZeroWithLseMinusInfinity(String binding, String impl) {
        AttentionShape shape = new AttentionShape(1, 2, 1, 40, 10, 16);
        AttentionProblem problem = AttentionProblem.of(shape, true);
        AttentionResult result = check(op(binding, impl), problem, 5, 1f);
        float[] out = result.out().data();
        for (int h = 0; h < 2; h++) {
            for (int i = 0; i < 30; i++) {
                for (int c = 0; c < 16; c++) {
                    assertEquals(0.0f, out[(h * 40 + i) * 16 + c], "head " + h + " row " + i + " sees no key");
                }
                assertEquals(Float.NEGATIVE_INFINITY, result.lse().data()[h * 40 + i]);
            }
        }
        assertEquals(60, problem.rowsWithoutKeys());
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("everyPath")
    void refusesAShapeTheDeviceCannotHoldBeforeAllocating(String binding, String impl) {
        ClContext context = contexts.get(binding);
        long before = context.allocatedBytes();
        AttentionProblem huge = AttentionProblem.of(new AttentionShape(1, 12, 12, 65536, 65536, 64), true);
        if (impl.equals("naive")) {
            DeviceMemoryException e = assertThrows(DeviceMemoryException.class, () -> op(binding, impl).checkFits(huge));
            assertTrue(e.getMessage().contains("--impl flash"), e.getMessage());
            assertTrue(e.getMessage().contains(Long.toString(op(binding, impl).deviceBytes(huge))), e.getMessage());
        } else {
            op(binding, impl).checkFits(huge);
            AttentionShape s = huge.shape();
            long expected = 4 * (2 * s.queryElements() + 2 * s.keyValueElements() + (long) s.heads() * s.queryLen() + 1);
            assertEquals(expected, op(binding, impl).deviceBytes(huge), "flash: Q, K, V, O and one float per row");
        }
        assertEquals(before, context.allocatedBytes(), "nothing was allocated");
    }

    private static AttentionResult check(ClAttention op, AttentionProblem problem, long seed, float qScale) {
        AttentionShape shape = problem.shape();
        Tensor q = RandomTensors.gaussian(seed, 0, shape.queryShape());
        if (qScale != 1f) {
            for (int i = 0; i < q.size(); i++) {
                q.data()[i] *= qScale;
            }
        }
        Tensor k = RandomTensors.gaussian(seed, 1, shape.keyValueShape());
        Tensor v = RandomTensors.gaussian(seed, 2, shape.keyValueShape());
        AttentionResult got = op.run(problem, q, k, v);
        AttentionResult want = new CpuAttention().run(problem, q, k, v);
        Tolerance tolerance = largeLogitTolerance(qScale, v);
        Comparison out = Validate.compare("out", got.out().data(), want.out().data(), tolerance);
        assertTrue(out.passed(), () -> op.name() + " " + problem + "\n" + out.report());
        Comparison lse = Validate.compare("lse", got.lse().data(), want.lse().data(), tolerance);
        assertTrue(lse.passed(), () -> op.name() + " " + problem + "\n" + lse.report());
        return got;
    }

    /**
     * float32 tolerance, widened for large logits: a logit of magnitude L is only known to within a few ulp(L) in
     * float32 (ulp(1e4) is about 1e-3), and probabilities inherit that as a relative error, outputs as an absolute
     * error of that times |v|.
     */
    static Tolerance largeLogitTolerance(float logitScale, Tensor v) {
        if (logitScale <= 1f) {
            return Tolerance.FP32_ATTENTION;
        }
        float maxV = 0;
        for (float x : v.data()) {
            maxV = Math.max(maxV, Math.abs(x));
        }
        return new Tolerance(16 * Math.ulp(logitScale) * Math.max(1, maxV), Tolerance.FP32_ATTENTION.rtol());
    }

    private static void assertNoNaN(AttentionResult result) {
        for (float x : result.out().data()) {
            assertTrue(Float.isFinite(x), "non-finite output " + x);
        }
    }
}
