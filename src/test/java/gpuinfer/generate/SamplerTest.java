package gpuinfer.generate;

import gpuinfer.InputException;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

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
