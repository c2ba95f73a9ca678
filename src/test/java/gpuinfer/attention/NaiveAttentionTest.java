package gpuinfer.attention;

import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.DeviceMemoryException;
import gpuinfer.tensor.RandomTensors;
import gpuinfer.tensor.Tensor;
import gpuinfer.testing.Golden;
import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The naive OpenCL path against the CPU reference over a matrix of shapes, on both bindings. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(NoLeaks.class)
class NaiveAttentionTest {
    private final Map<String, ClContext> contexts = new HashMap<>();
    private final Map<String, NaiveAttention> ops = new HashMap<>();

    @BeforeAll
    void open() {
        for (String binding : OpenClTestSupport.bindings()) {
            ClContext context = OpenClTestSupport.context(binding);
            contexts.put(binding, context);
            ops.put(binding, new NaiveAttention(context));
        }
    }

    @AfterAll
    void close() {
        ops.values().forEach(NaiveAttention::close);
        contexts.values().forEach(ClContext::close);
    }

    /**
     * B 1-3; H 1-8 with several Hkv dividing H; Sq and Sk from 1 to 300, many not a multiple of any tile (16, 64);
     * D 16-128; Sq < Sk (decode against a cache), Sq = Sk, and Sq > Sk (rows that see no key when causal).
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

    static Stream<Arguments> cases() {
        List<Arguments> all = new ArrayList<>();
        for (String binding : OpenClTestSupport.bindings()) {
            for (AttentionShape shape : shapes()) {
                all.add(Arguments.of(binding, shape, true));
                all.add(Arguments.of(binding, shape, false));
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} {1} causal={2}")
    @MethodSource("cases")
    void matchesCpuReference(String binding, AttentionShape shape, boolean causal) {
        AttentionProblem problem = AttentionProblem.of(shape, causal);
        long seed = shape.hashCode() * 31L + (causal ? 1 : 0);
        Tensor q = RandomTensors.gaussian(seed, 0, shape.queryShape());
        Tensor k = RandomTensors.gaussian(seed, 1, shape.keyValueShape());
        Tensor v = RandomTensors.gaussian(seed, 2, shape.keyValueShape());

        AttentionResult got = ops.get(binding).run(problem, q, k, v);
        AttentionResult want = new CpuAttention().run(problem, q, k, v);

        Comparison comparison = Validate.compare("out", got.out().data(), want.out().data(), Tolerance.FP32_ATTENTION);
        assertTrue(comparison.passed(), comparison::report);
        assertEquals(3, got.kernels().size(), "scores, softmax and P.V are each one timed launch");
    }

    static Stream<Arguments> goldenCases() {
        List<Arguments> all = new ArrayList<>();
        for (String binding : OpenClTestSupport.bindings()) {
            for (Golden golden : Golden.attentionCases()) {
                all.add(Arguments.of(binding, golden));
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("goldenCases")
    void matchesNumpyGolden(String binding, Golden golden) {
        AttentionResult got = ops.get(binding).run(golden.problem(), golden.q(), golden.k(), golden.v());
        Comparison comparison = Validate.compare("out", got.out().data(), golden.out().data(), toleranceFor(golden));
        assertTrue(comparison.passed(), comparison::report);
    }

    /**
     * float32 tolerance, widened for the large-logit case: a logit of magnitude L is only known to within a few ulp(L)
     * in float32 (ulp(1e4) is about 1e-3), and probabilities inherit that as a relative error.
     */
    static Tolerance toleranceFor(Golden golden) {
        if (!golden.name().equals("large_logits")) {
            return Tolerance.FP32_ATTENTION;
        }
        float maxV = 0;
        for (float x : golden.v().data()) {
            maxV = Math.max(maxV, Math.abs(x));
        }
        return new Tolerance(16 * Math.ulp(1.0e4f) * maxV, Tolerance.FP32_ATTENTION.rtol());
    }

    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void refusesAScoreMatrixTheDeviceCannotHoldBeforeAllocating(String binding) {
        ClContext context = contexts.get(binding);
        AttentionProblem huge = AttentionProblem.of(new AttentionShape(1, 12, 12, 65536, 65536, 64), true);
        long before = context.allocatedBytes();
        DeviceMemoryException e = assertThrows(DeviceMemoryException.class, () -> ops.get(binding).checkFits(huge));
        assertTrue(e.getMessage().contains("--impl flash"), e.getMessage());
        assertTrue(e.getMessage().contains(Long.toString(ops.get(binding).deviceBytes(huge))), e.getMessage());
        assertEquals(before, context.allocatedBytes(), "nothing was allocated");
    }

    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void rowsThatSeeNoKeyAreZero(String binding) {
        AttentionShape shape = new AttentionShape(1, 2, 1, 40, 10, 16);
        AttentionProblem problem = AttentionProblem.of(shape, true);
        Tensor q = RandomTensors.gaussian(5, 0, shape.queryShape());
        Tensor k = RandomTensors.gaussian(5, 1, shape.keyValueShape());
        Tensor v = RandomTensors.gaussian(5, 2, shape.keyValueShape());
        float[] out = ops.get(binding).run(problem, q, k, v).out().data();
        for (int h = 0; h < 2; h++) {
            for (int i = 0; i < 30; i++) {
                for (int c = 0; c < 16; c++) {
                    assertEquals(0.0f, out[(h * 40 + i) * 16 + c], "head " + h + " row " + i + " sees no key");
                }
            }
        }
        assertEquals(60, problem.rowsWithoutKeys());
    }
}
