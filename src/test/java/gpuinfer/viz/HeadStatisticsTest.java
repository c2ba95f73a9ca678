package gpuinfer.viz;

import gpuinfer.check.Tolerance;
import org.junit.jupiter.api.Test;

import java.util.List;

import static gpuinfer.viz.SyntheticMaps.PREVIOUS;
import static gpuinfer.viz.SyntheticMaps.SELF;
import static gpuinfer.viz.SyntheticMaps.SINK;
import static gpuinfer.viz.SyntheticMaps.UNIFORM;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link HeadStatistics} on hand-made heads whose statistics follow from their definition. */
class HeadStatisticsTest {
    /** Weights such as 1/(i+1) are float32: ~6e-8 relative each, summed in double over at most 64 rows. */
    static final Tolerance FLOAT_WEIGHTS = new Tolerance(1e-7, 1e-6);
    static final int S = 12;

    static void near(double want, double got, String what) {
        assertTrue(FLOAT_WEIGHTS.accepts(got, want), what + ": got " + got + ", want " + want + " (" + FLOAT_WEIGHTS + ")");
    }

    @Test
    void previousTokenHeadIsFlaggedAndLooksNowhereElse() {
        HeadSummary h = HeadStatistics.summarize(SyntheticMaps.of(SyntheticMaps.range(S), PREVIOUS), null).get(0);
        near(1, h.previousToken(), "previous-token share");
        near(0, h.self(), "self share");
        near(1.0 / (S - 1), h.firstToken(), "first-token share (only row 1's previous token is key 0)");
        near(0, h.entropy(), "entropy of one-hot rows");
        assertTrue(h.previousTokenHead());
        assertFalse(h.inductionHead());
        assertTrue(Double.isNaN(h.inductionScore()), "no induction test ran");
    }

    @Test
    void uniformRowHasEntropyLogOfVisibleKeys() {
        AttentionMaps maps = SyntheticMaps.of(SyntheticMaps.range(S), UNIFORM);
        double entropy = 0;
        double previous = 0;
        for (int i = 1; i < S; i++) {
            near(Math.log(i + 1), HeadStatistics.entropy(maps.row(0, 0, i)), "entropy of uniform row " + i);
            entropy += Math.log(i + 1);
            previous += 1.0 / (i + 1);
        }
        HeadSummary h = HeadStatistics.summarize(maps, null).get(0);
        near(entropy / (S - 1), h.entropy(), "mean entropy over rows 1..S-1");
        near(previous / (S - 1), h.previousToken(), "previous-token share");
        near(previous / (S - 1), h.firstToken(), "first-token share");
        near(previous / (S - 1), h.self(), "self share");
        assertFalse(h.previousTokenHead(), "an even spread is never a previous-token head");
    }

    @Test
    void uniformHeadIsNotFlaggedEvenOnTheShortestPrompt() {
        // rows 1 and 2: previous-token shares 1/2 and 1/3; the threshold is strict
        HeadSummary h = HeadStatistics.summarize(SyntheticMaps.of(SyntheticMaps.range(3), UNIFORM), null).get(0);
        assertFalse(h.previousTokenHead());
        HeadSummary two = HeadStatistics.summarize(SyntheticMaps.of(SyntheticMaps.range(2), UNIFORM), null).get(0);
        near(0.5, two.previousToken(), "row 1 of a uniform head");
        assertFalse(two.previousTokenHead(), "0.5 is not above the threshold");
    }

    @Test
    void sinkAndSelfHeads() {
        List<HeadSummary> all = HeadStatistics.summarize(SyntheticMaps.of(SyntheticMaps.range(S), SINK, SELF), null);
        HeadSummary sink = all.get(0);
        near(1, sink.firstToken(), "sink: first-token share");
        near(1.0 / (S - 1), sink.previousToken(), "sink: row 1's previous token is key 0");
        near(0, sink.self(), "sink: self share");
        assertFalse(sink.previousTokenHead());
        HeadSummary self = all.get(1);
        assertEquals(0, self.layer());
        assertEquals(1, self.head());
        near(1, self.self(), "self head: self share");
        near(0, self.previousToken(), "self head: previous-token share");
        near(0, self.firstToken(), "self head: first-token share");
        near(0, self.entropy(), "self head: entropy");
    }

    @Test
    void inductionScoresAreCarriedAndFlaggedAboveTheThreshold() {
        AttentionMaps maps = SyntheticMaps.of(SyntheticMaps.range(S), UNIFORM, SINK, PREVIOUS);
        double[][] scores = {{0.9, HeadStatistics.INDUCTION_THRESHOLD, 0.01}};
        List<HeadSummary> all = HeadStatistics.summarize(maps, scores);
        assertEquals(0.9, all.get(0).inductionScore());
        assertTrue(all.get(0).inductionHead());
        assertFalse(all.get(1).inductionHead(), "at the threshold is not above it");
        assertFalse(all.get(2).inductionHead());
        assertThrows(IllegalArgumentException.class, () -> HeadStatistics.summarize(maps, new double[][] {{0.9, 0.1}}));
        assertThrows(IllegalArgumentException.class, () -> HeadStatistics.summarize(maps, new double[2][3]));
    }

    @Test
    void onlyCapturedRowsCountAndMaskedRowsAreLeftOut() {
        AttentionMaps all = SyntheticMaps.of(SyntheticMaps.range(S), UNIFORM);
        int[] rows = {0, 3, 7, 11};
        float[][][][] weights = new float[1][1][rows.length][];
        for (int r = 0; r < rows.length; r++) {
            weights[0][0][r] = all.row(0, 0, rows[r]);
        }
        weights[0][0][2] = new float[S]; // row 7: every key masked, the row is zeros
        AttentionMaps some = new AttentionMaps("synthetic", all.tokens(), all.tokenIds(), 1, 1, rows, weights, "mask");
        HeadSummary h = HeadStatistics.summarize(some, null).get(0);
        near((Math.log(4) + Math.log(12)) / 2, h.entropy(), "mean entropy of rows 3 and 11");
        near((1.0 / 4 + 1.0 / 12) / 2, h.previousToken(), "previous-token share of rows 3 and 11");
    }

    @Test
    void aHeadWithNoInformativeRowHasNaNMeansAndNoFlag() {
        HeadSummary h = HeadStatistics.summarize(SyntheticMaps.of(SyntheticMaps.range(1), PREVIOUS), new double[][] {{0.2}})
                .get(0);
        assertTrue(Double.isNaN(h.entropy()) && Double.isNaN(h.previousToken()));
        assertFalse(h.previousTokenHead());
    }
}
