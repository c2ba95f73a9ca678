package gpuinfer.attention.ring;

import gpuinfer.attention.AttentionResult;

import java.util.List;

/**
 * A ring run: the gathered result ([B,H,Sq,D] output and [B,H,Sq] log-sum-exp) and what each rank did.
 *
 * @param wallMillis wall time from the first upload to the last download
 */
public record RingResult(AttentionResult result, List<RankStats> ranks, RingLayout layout, String transfer,
                         double wallMillis) {
    /** Largest over smallest per-rank work (1 is perfectly balanced; infinity when a rank had none). */
    public double workImbalance() {
        long max = ranks.stream().mapToLong(RankStats::work).max().orElse(0);
        long min = ranks.stream().mapToLong(RankStats::work).min().orElse(0);
        return min == 0 ? (max == 0 ? 1 : Double.POSITIVE_INFINITY) : (double) max / min;
    }

    public double computeMillis() {
        return ranks.stream().mapToDouble(RankStats::computeMillis).sum();
    }

    public double transferMillis() {
        return ranks.stream().mapToDouble(RankStats::transferMillis).sum();
    }
}
