package gpuinfer.ops;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Rope} against formulas written independently of it: Hugging Face's rotate_half form for
 * {@link Rope.Order#HALVES}, Meta's complex-number form for {@link Rope.Order#INTERLEAVED}, Meta's frequency formula,
 * and PyTorch goldens (tools/golden_rope.py) of Llama 3's frequency scaling and of both rotations.
 */
class RopeTest {
    /** Frequencies in double against float64 PyTorch: pow against 1/x**y differs in the last bits only. */
    static final double FREQUENCY_RTOL = 1e-12;
    /**
     * A rotation computed in double and rounded once to float32 against a float64 result: at most one float32 ulp
     * (2^-23 relative) apart, whatever cos and sin's last double bits. atol covers results that cancel to near zero.
     */
    static final Tolerance ROUNDED_ONCE = new Tolerance(1e-12, 0x1p-23);

    private static final Path GOLDEN = Path.of("src", "test", "resources", "golden", "rope", "rope.json");

    static List<JsonNode> goldenCases() throws IOException {
        List<JsonNode> cases = new ArrayList<>();
        new ObjectMapper().readTree(GOLDEN.toFile()).get("cases").forEach(cases::add);
        return cases;
    }

    static Rope goldenRope(JsonNode c, Rope.Order order) {
        JsonNode s = c.get("llama3");
        Rope.Llama3Scaling llama3 = s.isNull() ? null : new Rope.Llama3Scaling(s.get("factor").asDouble(),
                s.get("low_freq_factor").asDouble(), s.get("high_freq_factor").asDouble(),
                s.get("original_max_position_embeddings").asInt());
        return Rope.of(c.get("dims").asInt(), order, c.get("theta").asDouble(), 1, llama3);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("goldenCases")
    void inverseFrequenciesMatchPyTorch(JsonNode c) {
        Rope rope = goldenRope(c, Rope.Order.HALVES);
        JsonNode want = c.get("inverse_frequency");
        assertEquals(want.size(), rope.inverseFrequency().length, "pairs");
        for (int i = 0; i < want.size(); i++) {
            double w = want.get(i).asDouble();
            double got = rope.inverseFrequency()[i];
            assertTrue(Math.abs(got - w) <= FREQUENCY_RTOL * Math.abs(w),
                    c.get("name").asText() + " pair " + i + ": " + got + ", PyTorch " + w);
        }
    }

    @Test
    void theGoldensExerciseEveryBandOfLlama3Scaling() throws IOException {
        int smoothed = 0;
        int smallDimsSmoothed = 0;
        for (JsonNode c : goldenCases()) {
            JsonNode bands = c.get("bands");
            if (!bands.isNull()) {
                assertTrue(bands.get("kept").asInt() > 0 && bands.get("divided").asInt() > 0, c.get("name").asText());
                smoothed += bands.get("smoothed").asInt();
                if (c.get("dims").asInt() <= 64 && c.get("llama3").get("original_max_position_embeddings").asInt() <= 64) {
                    smallDimsSmoothed += bands.get("smoothed").asInt();
                }
            }
        }
        assertTrue(smoothed > 0 && smallDimsSmoothed > 0, "the goldens must include pairs in the smooth band");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("goldenCases")
    void rotationsMatchPyTorch(JsonNode c) {
        int dims = c.get("dims").asInt();
        float[] x = new float[dims];
        for (int i = 0; i < dims; i++) {
            x[i] = (float) c.get("x").get(i).asDouble();
        }
        for (Rope.Order order : Rope.Order.values()) {
            Rope rope = goldenRope(c, order);
            JsonNode rows = c.get(order == Rope.Order.HALVES ? "halves" : "interleaved");
            for (int p = 0; p < c.get("positions").size(); p++) {
                int position = c.get("positions").get(p).asInt();
                float[] got = x.clone();
                rope.rotate(got, 0, position);
                float[] want = new float[dims];
                for (int i = 0; i < dims; i++) {
                    want[i] = (float) rows.get(p).get(i).asDouble();
                }
                assertClose(c.get("name").asText() + " " + order + " position " + position, got, want, ROUNDED_ONCE);
            }
        }
    }

    static Stream<Arguments> formulaCases() {
        List<Arguments> all = new ArrayList<>();
        for (int[] s : new int[][] {{2, 2}, {8, 8}, {8, 12}, {64, 64}, {32, 64}, {128, 128}, {64, 80}}) { // dims, D
            for (double theta : new double[] {10000, 500000}) {
                all.add(Arguments.of(s[0], s[1], theta));
            }
        }
        return all.stream();
    }

    /** Meta's precompute_freqs_cis: 1 / theta ** (arange(0, dim, 2)[: dim // 2] / dim). */
    @ParameterizedTest(name = "dims={0} D={1} theta={2}")
    @MethodSource("formulaCases")
    void inverseFrequenciesMatchMetasFormula(int dims, int D, double theta) {
        Rope rope = Rope.of(dims, Rope.Order.INTERLEAVED, theta, 1, null);
        int i = 0;
        for (int k = 0; k < dims; k += 2) {
            double want = 1.0 / Math.pow(theta, (double) k / dims);
            assertEquals(want, rope.inverseFrequency()[i], FREQUENCY_RTOL * want, "pair " + i);
            i++;
        }
        Rope linear = Rope.of(dims, Rope.Order.INTERLEAVED, theta, 4, null);
        assertEquals(rope.inverseFrequency()[dims / 2 - 1] / 4, linear.inverseFrequency()[dims / 2 - 1],
                FREQUENCY_RTOL * rope.inverseFrequency()[dims / 2 - 1], "linear scaling divides positions by 4");
    }

    /**
     * HALVES against Hugging Face's form: emb = cat([freqs, freqs]); x·cos(emb) + rotate_half(x)·sin(emb), with
     * rotate_half(x) = cat([-x2, x1]); with dims < D, GPT-NeoX's partial rotary: rotate x[:dims], pass x[dims:]. Run
     * through the CPU reference of the heads op, so its placement of the rotated values is checked too.
     */
    @ParameterizedTest(name = "dims={0} D={1} theta={2}")
    @MethodSource("formulaCases")
    void halvesMatchHuggingFacesRotateHalf(int dims, int D, double theta) {
        Rope rope = Rope.of(dims, Rope.Order.HALVES, theta, 1, null);
        checkAgainst(rope, D, (x, position) -> {
            double[] out = new double[D];
            int half = dims / 2;
            for (int j = 0; j < D; j++) {
                if (j >= dims) {
                    out[j] = x[j]; // the pass-through part
                    continue;
                }
                double angle = position * rope.inverseFrequency()[j % half]; // cat([freqs, freqs])
                double rotatedHalf = j < half ? -x[j + half] : x[j - half];
                out[j] = x[j] * Math.cos(angle) + rotatedHalf * Math.sin(angle);
            }
            return out;
        });
    }

    /** INTERLEAVED against Meta's form: consecutive pairs as complex numbers, multiplied by polar(1, angle). */
    @ParameterizedTest(name = "dims={0} D={1} theta={2}")
    @MethodSource("formulaCases")
    void interleavedMatchesMetasComplexForm(int dims, int D, double theta) {
        Rope rope = Rope.of(dims, Rope.Order.INTERLEAVED, theta, 1, null);
        checkAgainst(rope, D, (x, position) -> {
            double[] out = new double[D];
            for (int j = dims; j < D; j++) {
                out[j] = x[j];
            }
            for (int pair = 0; pair < dims / 2; pair++) {
                Complex z = new Complex(x[2 * pair], x[2 * pair + 1]);
                Complex w = z.times(Complex.polar(1, position * rope.inverseFrequency()[pair]));
                out[2 * pair] = w.re;
                out[2 * pair + 1] = w.im;
            }
            return out;
        });
    }

    private record Complex(double re, double im) {
        static Complex polar(double abs, double angle) {
            return new Complex(abs * Math.cos(angle), abs * Math.sin(angle));
        }

        Complex times(Complex o) {
            return new Complex(re * o.re - im * o.im, re * o.im + im * o.re);
        }
    }

    interface HeadFormula {
        double[] rotate(float[] head, int position);
    }

    /** Rotates one query head and one key head at positions 0 .. far through the heads reference, against a formula. */
    private static void checkAgainst(Rope rope, int D, HeadFormula formula) {
        SplittableRandom random = new SplittableRandom(D * 31L + rope.dims());
        int[] starts = {0, 1, 4093, 32765};
        int T = 3;
        for (int start : starts) {
            HeadSplit split = HeadSplit.separate(1, T, 1, 1, D, start + T);
            float[] qSrc = gaussian(random, T * D);
            float[] kSrc = gaussian(random, T * D);
            float[] q = new float[T * D];
            float[] k = new float[(start + T) * D];
            float[] v = new float[(start + T) * D];
            HeadLayout.toHeadsReference(q, k, v, qSrc, kSrc, kSrc, split, new int[] {start}, rope);
            for (int t = 0; t < T; t++) {
                float[] qHead = java.util.Arrays.copyOfRange(qSrc, t * D, (t + 1) * D);
                float[] kHead = java.util.Arrays.copyOfRange(kSrc, t * D, (t + 1) * D);
                String where = rope + ", D " + D + ", position " + (start + t);
                assertClose("q " + where, java.util.Arrays.copyOfRange(q, t * D, (t + 1) * D),
                        toFloat(formula.rotate(qHead, start + t)), ROUNDED_ONCE);
                assertClose("k " + where, java.util.Arrays.copyOfRange(k, (start + t) * D, (start + t + 1) * D),
                        toFloat(formula.rotate(kHead, start + t)), ROUNDED_ONCE);
            }
        }
    }

    @Test
    void tableHoldsCosineAndSineOfEachRowsAngles() {
        Rope rope = Rope.of(8, Rope.Order.HALVES, 10000, 1, null);
        int[] positions = {0, 5, 131071};
        float[] table = rope.table(positions);
        assertEquals(positions.length * 4 * 2, table.length);
        for (int r = 0; r < positions.length; r++) {
            for (int i = 0; i < 4; i++) {
                double angle = positions[r] * Math.pow(10000, -i / 4.0);
                assertEquals((float) Math.cos(angle), table[(r * 4 + i) * 2], 0x1p-24, "cos row " + r + " pair " + i);
                assertEquals((float) Math.sin(angle), table[(r * 4 + i) * 2 + 1], 0x1p-24, "sin row " + r + " pair " + i);
            }
        }
    }

    @Test
    void badConfigurationsSayWhatIsWrong() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Rope.of(7, Rope.Order.HALVES, 10000, 1, null))
                .getMessage().contains("even"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Rope.of(8, Rope.Order.HALVES, 1, 1, null))
                .getMessage().contains("theta"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Rope.Llama3Scaling(8, 4, 1, 8192))
                .getMessage().contains("low_freq_factor"));
    }

    private static float[] gaussian(SplittableRandom random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return v;
    }

    private static float[] toFloat(double[] v) {
        float[] f = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            f[i] = (float) v[i];
        }
        return f;
    }

    private static void assertClose(String name, float[] got, float[] want, Tolerance tolerance) {
        Comparison c = Validate.compare(name, got, want, tolerance);
        assertTrue(c.passed(), c::report);
    }
}
