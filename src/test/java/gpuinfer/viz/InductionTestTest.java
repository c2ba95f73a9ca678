package gpuinfer.viz;

import gpuinfer.check.Tolerance;
import gpuinfer.model.ModelLocator;
import gpuinfer.text.Gpt2Tokenizer;
import gpuinfer.text.TokenType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

import static gpuinfer.viz.SyntheticMaps.PREVIOUS;
import static gpuinfer.viz.SyntheticMaps.SINK;
import static gpuinfer.viz.SyntheticMaps.UNIFORM;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link InductionTest}: the test sequence, and the scores of heads whose behaviour is known. */
class InductionTestTest {
    /** Sums of float32 weights in double over at most 64 rows. */
    static final Tolerance FLOAT_WEIGHTS = new Tolerance(1e-7, 1e-6);

    @Test
    void sequenceIsBosThenDistinctIdsTwice() {
        int length = 50;
        int bos = 7;
        int[] ids = InductionTest.tokens(1000, length, 42, bos);
        assertEquals(1 + 2 * length, ids.length);
        assertEquals(bos, ids[0]);
        assertArrayEquals(Arrays.copyOfRange(ids, 1, 1 + length), Arrays.copyOfRange(ids, 1 + length, 1 + 2 * length));
        Set<Integer> distinct = new HashSet<>();
        for (int i = 1; i <= length; i++) {
            assertNotEquals(bos, ids[i], "BOS is not drawn");
            assertTrue(ids[i] >= 0 && ids[i] < 1000);
            distinct.add(ids[i]);
        }
        assertEquals(length, distinct.size(), "no id repeats within a copy");
        assertArrayEquals(ids, InductionTest.tokens(1000, length, 42, bos), "same seed, same ids");
        assertFalse(Arrays.equals(ids, InductionTest.tokens(1000, length, 43, bos)), "another seed, other ids");
    }

    @Test
    void withoutBosTheSequenceIsTwoCopies() {
        int[] ids = InductionTest.tokens(100, 10, 1, -1);
        assertEquals(20, ids.length);
        assertArrayEquals(Arrays.copyOfRange(ids, 0, 10), Arrays.copyOfRange(ids, 10, 20));
    }

    @Test
    void onlyUsableIdsAreDrawnAndImpossibleRequestsFail() {
        int[] ids = InductionTest.tokens(100, 40, 3, -1, id -> id % 2 == 0);
        for (int id : ids) {
            assertEquals(0, id % 2, "odd ids are excluded");
        }
        assertThrows(IllegalArgumentException.class, () -> InductionTest.tokens(100, 51, 3, -1, id -> id % 2 == 0));
        assertThrows(IllegalArgumentException.class, () -> InductionTest.tokens(100, 2, 3, -1));
        assertThrows(IllegalArgumentException.class, () -> InductionTest.tokens(100, 10, 3, 100));
    }

    @Test
    void bundledTokenizerGivesEndOfTextThenOrdinaryTokens() {
        Gpt2Tokenizer tokenizer = Gpt2Tokenizer.fromModelDirectory(ModelLocator.bundled());
        int eot = tokenizer.bosId().getAsInt();
        int[] ids = InductionTest.tokens(tokenizer, tokenizer.vocabSize(), 64, 5);
        assertEquals(eot, ids[0]);
        for (int i = 1; i < ids.length; i++) {
            assertEquals(TokenType.NORMAL, tokenizer.tokenType(ids[i]), "id " + ids[i] + " at " + i);
        }
    }

    /** Copy 2's rows attend to the induction target; every other row is uniform. */
    static SyntheticMaps.Pattern induction(int offset, int length) {
        return (i, s) -> i >= offset + length ? SyntheticMaps.oneHot(s, i - length + 1) : UNIFORM.row(i, s);
    }

    @ParameterizedTest(name = "bos {0}")
    @ValueSource(ints = {-1, 3})
    void inductionHeadScoresOneOthersNearZero(int bos) {
        int length = 20;
        int offset = bos >= 0 ? 1 : 0;
        int[] ids = InductionTest.tokens(500, length, 11, bos);
        AttentionMaps maps = SyntheticMaps.of(ids, induction(offset, length), PREVIOUS, SINK, UNIFORM);
        double[][] scores = InductionTest.scores(maps);
        assertEquals(1, scores.length);
        assertEquals(4, scores[0].length);
        assertTrue(FLOAT_WEIGHTS.accepts(scores[0][0], 1), "induction head: " + scores[0][0]);
        assertEquals(0, scores[0][1], "previous-token head");
        assertEquals(0, scores[0][2], "sink head: the target is never position 0");
        double uniform = 0;
        for (int t = offset + length; t < offset + 2 * length; t++) {
            uniform += 1.0 / (t + 1);
        }
        assertTrue(FLOAT_WEIGHTS.accepts(scores[0][3], uniform / length), "uniform head: " + scores[0][3]);
        assertTrue(scores[0][3] < HeadStatistics.INDUCTION_THRESHOLD);

        HeadSummary inductionHead = HeadStatistics.summarize(maps, scores).get(0);
        assertTrue(inductionHead.inductionHead());
        assertFalse(HeadStatistics.summarize(maps, scores).get(1).inductionHead());
    }

    @Test
    void mapsOfAnotherSequenceOrWithMissingRowsAreRefused() {
        assertThrows(IllegalArgumentException.class,
                () -> InductionTest.scores(SyntheticMaps.of(SyntheticMaps.range(21), UNIFORM)));
        AttentionMaps all = SyntheticMaps.of(InductionTest.tokens(100, 10, 2, -1), UNIFORM);
        int[] rows = {0, 5, 10, 15};
        float[][][][] weights = new float[1][1][rows.length][];
        for (int r = 0; r < rows.length; r++) {
            weights[0][0][r] = all.row(0, 0, rows[r]);
        }
        AttentionMaps some = new AttentionMaps("synthetic", all.tokens(), all.tokenIds(), 1, 1, rows, weights, "");
        assertThrows(IllegalArgumentException.class, () -> InductionTest.scores(some));
    }
}
