package gpuinfer.viz;

import gpuinfer.check.Tolerance;
import gpuinfer.model.ModelLocator;
import gpuinfer.text.Gpt2Tokenizer;
import gpuinfer.text.Tokenizer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link NextTokens}: softmax in double, the top k, and the before/after table. */
class NextTokensTest {
    /** Softmax in double of float logits: exp and the sum lose a few double ulps. */
    static final Tolerance DOUBLE_SOFTMAX = new Tolerance(1e-15, 1e-12);
    static Tokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = Gpt2Tokenizer.fromModelDirectory(ModelLocator.bundled());
    }

    static void near(double want, double got, String what) {
        assertTrue(DOUBLE_SOFTMAX.accepts(got, want), what + ": got " + got + ", want " + want);
    }

    @Test
    void softmaxOfKnownLogits() {
        double[] p = NextTokens.probabilities(new float[] {0, (float) Math.log(2), (float) Math.log(3), Float.NEGATIVE_INFINITY});
        // float32 ln 2 and ln 3 are off by up to 2^-24 relative: exp moves by as much, so compare at 1e-7
        Tolerance roundedLogits = new Tolerance(1e-7, 1e-7);
        double[] want = {1 / 6.0, 2 / 6.0, 3 / 6.0, 0};
        for (int i = 0; i < 4; i++) {
            assertTrue(roundedLogits.accepts(p[i], want[i]), "p[" + i + "] = " + p[i]);
        }
        assertEquals(0, p[3], "-Infinity gets exactly 0");
        double[] big = NextTokens.probabilities(new float[] {1000, 1000});
        near(0.5, big[0], "no overflow at large logits");
        assertThrows(IllegalArgumentException.class, () -> NextTokens.probabilities(new float[] {1, Float.NaN}));
        assertThrows(IllegalArgumentException.class, () -> NextTokens.probabilities(new float[] {1, Float.POSITIVE_INFINITY}));
        assertThrows(IllegalArgumentException.class,
                () -> NextTokens.probabilities(new float[] {Float.NEGATIVE_INFINITY, Float.NEGATIVE_INFINITY}));
    }

    static float[] randomLogits(int n, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] logits = new float[n];
        for (int i = 0; i < n; i++) {
            logits[i] = (float) (random.nextGaussian() * 3);
        }
        return logits;
    }

    @Test
    void topKIsTheHeadOfAFullSort() {
        float[] logits = randomLogits(tokenizer.vocabSize(), 9);
        double[] p = NextTokens.probabilities(logits);
        double sum = 0;
        for (double v : p) {
            sum += v;
        }
        near(1, sum, "probabilities sum to 1");
        List<Integer> sorted = IntStream.range(0, p.length).boxed()
                .sorted(Comparator.<Integer>comparingDouble(i -> -p[i]).thenComparingInt(i -> i)).toList();
        List<NextTokens.Candidate> top = NextTokens.top(logits, tokenizer, 10);
        assertEquals(10, top.size());
        for (int r = 0; r < 10; r++) {
            NextTokens.Candidate c = top.get(r);
            assertEquals(sorted.get(r), c.id(), "rank " + r);
            assertEquals(p[c.id()], c.probability(), "rank " + r);
            assertEquals(tokenizer.decode(new int[] {c.id()}), c.text());
        }
    }

    @Test
    void tiesGoToTheLowerIdAndKIsCappedAtTheVocabulary() {
        float[] logits = {1, 3, 3, 0, 3};
        List<NextTokens.Candidate> top = NextTokens.top(logits, tokenizer, 3);
        assertEquals(List.of(1, 2, 4), top.stream().map(NextTokens.Candidate::id).toList());
        assertEquals(5, NextTokens.top(logits, tokenizer, 50).size());
        assertThrows(IllegalArgumentException.class, () -> NextTokens.top(logits, tokenizer, 0));
    }

    @Test
    void idsPastTheTokenizerAreNamed() {
        float[] logits = new float[tokenizer.vocabSize() + 2]; // a padded output head
        logits[tokenizer.vocabSize() + 1] = 10;
        NextTokens.Candidate first = NextTokens.top(logits, tokenizer, 1).get(0);
        assertEquals(tokenizer.vocabSize() + 1, first.id());
        assertTrue(first.text().contains("no token"), first.text());
    }

    @Test
    void beforeAndAfterTableListsBothTopsWithBothProbabilities() {
        int k = 10;
        float[] before = randomLogits(tokenizer.vocabSize(), 21);
        float[] after = before.clone();
        int promoted = 123;
        after[promoted] = 40; // now the most likely by far; every former top token falls
        double[] pBefore = NextTokens.probabilities(before);
        double[] pAfter = NextTokens.probabilities(after);
        List<NextTokens.Change> table = NextTokens.diff(before, after, tokenizer, k);

        Set<Integer> want = new HashSet<>();
        NextTokens.top(before, tokenizer, k).forEach(c -> want.add(c.id()));
        NextTokens.top(after, tokenizer, k).forEach(c -> want.add(c.id()));
        Set<Integer> got = new HashSet<>();
        table.forEach(c -> got.add(c.id()));
        assertEquals(want, got, "the union of both top-k lists");
        assertEquals(promoted, table.get(0).id(), "the promoted token has the largest probability");
        for (int r = 0; r < table.size(); r++) {
            NextTokens.Change c = table.get(r);
            assertEquals(pBefore[c.id()], c.before(), "before, id " + c.id());
            assertEquals(pAfter[c.id()], c.after(), "after, id " + c.id());
            assertEquals(c.after() - c.before(), c.difference());
            if (r > 0) {
                assertTrue(table.get(r - 1).larger() >= c.larger(), "sorted by the larger probability at " + r);
            }
        }
        NextTokens.Change formerFirst = table.stream().filter(c -> c.id() != promoted).findFirst().orElseThrow();
        assertTrue(formerFirst.after() < formerFirst.before(), "a former top token is listed with its fallen probability");
        assertThrows(IllegalArgumentException.class, () -> NextTokens.diff(before, new float[5], tokenizer, k));
    }
}
