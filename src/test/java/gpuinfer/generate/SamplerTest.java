package gpuinfer.generate;

import gpuinfer.InputException;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SamplerTest {
    private static final float[] LOGITS = {1f, 3f, 2f, 3f, -1f, 0.5f};

    @Test
    void greedyTakesTheFirstLargestLogit() {
        assertEquals(1, new Sampler(SamplingOptions.greedy(), 0).sample(LOGITS, 0, LOGITS.length));
        assertEquals(3, Sampler.argmax(new float[] {9, 9, 0, 1, 2, 7}, 2, 4), "offset respected");
    }

    @Test
    void topKOneIsGreedyAndTheSameSeedRepeats() {
        Sampler k1 = new Sampler(new SamplingOptions(1.0, 1, 1.0, 5), 0);
        for (int i = 0; i < 50; i++) {
            assertEquals(1, k1.sample(LOGITS, 0, LOGITS.length));
        }
        Sampler a = new Sampler(new SamplingOptions(1.0, 0, 1.0, 42), 3);
        Sampler b = new Sampler(new SamplingOptions(1.0, 0, 1.0, 42), 3);
        for (int i = 0; i < 100; i++) {
            assertEquals(a.sample(LOGITS, 0, LOGITS.length), b.sample(LOGITS, 0, LOGITS.length));
        }
    }

    @Test
    void samplingFollowsTheSoftmaxWithinTopKAndTopP() {
        // temperature 1, all tokens: frequencies approach softmax(LOGITS)
        Map<Integer, Integer> counts = draw(new SamplingOptions(1.0, 0, 1.0, 1), 40000);
        double z = 0;
        for (float l : LOGITS) {
            z += Math.exp(l);
        }
        for (int i = 0; i < LOGITS.length; i++) {
            double expected = Math.exp(LOGITS[i]) / z;
            assertEquals(expected, counts.getOrDefault(i, 0) / 40000.0, 0.01, "token " + i);
        }
        // top-k 3 keeps tokens 1, 3 (logit 3) and 2 (logit 2) only
        assertTrue(draw(new SamplingOptions(1.0, 3, 1.0, 2), 5000).keySet().stream().allMatch(t -> t == 1 || t == 2 || t == 3));
        // top-p 0.5: tokens 1 and 3 together hold 0.36 + 0.36 > 0.5, so token 2 and below never appear
        assertTrue(draw(new SamplingOptions(1.0, 0, 0.5, 3), 5000).keySet().stream().allMatch(t -> t == 1 || t == 3));
        // a low temperature concentrates on the top tokens
        Map<Integer, Integer> cold = draw(new SamplingOptions(0.05, 0, 1.0, 4), 5000);
        assertTrue(cold.getOrDefault(1, 0) + cold.getOrDefault(3, 0) == 5000, cold.toString());
    }

    @Test
    void candidatesAreTheLargestLogitsInTheOrderOfAFullSort() {
        SplittableRandom random = new SplittableRandom(7);
        float[] special = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 0.0f, -0.0f, Float.MAX_VALUE,
                -Float.MAX_VALUE, Float.MIN_VALUE, -Float.MIN_VALUE, 1e30f, -1e30f};
        for (int trial = 0; trial < 300; trial++) {
            int V = 1 + random.nextInt(trial < 200 ? 70 : 3000);
            int offset = random.nextInt(5);
            float[] logits = new float[offset + V + 3];
            for (int i = 0; i < logits.length; i++) {
                // few distinct values, so ties are common; now and then a special value
                logits[i] = random.nextInt(10) == 0 ? special[random.nextInt(special.length)] : random.nextInt(12) - 6 + (trial % 2) * 0.25f;
            }
            int[] want = fullSort(logits, offset, V);
            for (int keep : new int[] {1, 2, Math.max(1, V / 3), Math.max(1, V - 1), V}) {
                assertArrayEquals(Arrays.copyOf(want, keep), Sampler.candidates(logits, offset, V, keep),
                        "V " + V + " keep " + keep + " " + Arrays.toString(Arrays.copyOfRange(logits, offset, offset + V)));
            }
        }
    }

    /** The order sampling used before candidates(): every id boxed and sorted by logit (Float.compare), then id. */
    private static int[] fullSort(float[] logits, int offset, int V) {
        Integer[] order = new Integer[V];
        for (int i = 0; i < V; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> {
            int c = Float.compare(logits[offset + b], logits[offset + a]);
            return c != 0 ? c : Integer.compare(a, b);
        });
        return Arrays.stream(order).mapToInt(Integer::intValue).toArray();
    }

    @Test
    void invalidOptionsNameTheOption() {
        assertTrue(assertThrows(InputException.class, () -> new SamplingOptions(-1, 0, 1, 0)).getMessage().contains("--temperature"));
        assertTrue(assertThrows(InputException.class, () -> new SamplingOptions(1, -2, 1, 0)).getMessage().contains("--top-k"));
        assertTrue(assertThrows(InputException.class, () -> new SamplingOptions(1, 0, 0, 0)).getMessage().contains("--top-p must be within (0, 1]"));
        assertTrue(assertThrows(InputException.class, () -> new SamplingOptions(1, 0, 1.5, 0)).getMessage().contains("--top-p"));
    }

    private static Map<Integer, Integer> draw(SamplingOptions options, int n) {
        Sampler sampler = new Sampler(options, 0);
        Map<Integer, Integer> counts = new HashMap<>();
        for (int i = 0; i < n; i++) {
            counts.merge(sampler.sample(LOGITS, 0, LOGITS.length), 1, Integer::sum);
        }
        return counts;
    }
}
