package gpuinfer.attention.ring;

import gpuinfer.attention.AttentionResult;

import java.util.List;

/**
 * A ring run: the gathered result ([B,H,Sq,D] output and [B,H,Sq] log-sum-exp) and what each rank did.
 *
 * @param memory     how many key/value slots each rank held
 * @param wallMillis wall time from the first upload to the last download
 * @param timelines  per rank, its kernels and transfers in time (for traces)
 */
public record RingResult(AttentionResult result, List<RankStats> ranks, RingLayout layout, RingMemory memory,
                         String transfer, double wallMillis, List<RankTimeline> timelines) {
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

    /** The largest device memory of one rank. */
    public long maxRankBytes() {
        return ranks.stream().mapToLong(RankStats::deviceBytes).max().orElse(0);
    }
}
