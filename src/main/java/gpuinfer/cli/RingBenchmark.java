package gpuinfer.cli;

import gpuinfer.InputException;
import gpuinfer.attention.AttentionImpls;
import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionResult;
import gpuinfer.attention.AttentionShape;
import gpuinfer.attention.ClAttention;
import gpuinfer.attention.ring.BlockTransfer;
import gpuinfer.attention.ring.RankStats;
import gpuinfer.attention.ring.RingAttention;
import gpuinfer.attention.ring.RingLayout;
import gpuinfer.attention.ring.RingMemory;
import gpuinfer.attention.ring.RingResult;
import gpuinfer.bench.Stats;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClDevice;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code gpu-infer bench attention --rings N,...}: causal prefill at each size with plain flash on the whole device
 * (N = 1, the anchor) and, for each N, ring attention on N ranks of each kind (sub-devices, queue pairs), with the
 * zigzag and the contiguous layout, and the low-memory mode on the first kind with zigzag; all in one process and
 * session, medians of the repeats. Per row: the compute time (from the first enqueue until every queue has finished,
 * the ring's steps with their transfers; the inputs' upload and the output's download excluded), speed-up T1 / TN, efficiency T1 / (N · TN), the share of the ranks'
 * time spent in transfers (their transfer time over N · TN: overlapped with compute in the overlap mode, not in the
 * low-memory mode), and the balance between ranks: visible (query, key) pairs max/min, and kernel time max/min.
 */
final class RingBenchmark {
    private final OpenClOptions opencl;
    private final Map<String, String> defines;
    private final int warmup;
    private final int repeat;

    RingBenchmark(OpenClOptions opencl, Map<String, String> defines, int warmup, int repeat) {
        this.opencl = opencl;
        this.defines = defines;
        this.warmup = warmup;
        this.repeat = repeat;
    }

    /** One configuration's medians. */
    record Row(int size, int ranks, String kind, String layout, String memory, double millis, double speedUp,
               double efficiency, double transferShare, double workBalance, double computeBalance, long rankBytes,
               String note) {
        Map<String, Object> json() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("S", size);
            m.put("ranks", ranks);
            m.put("kind", kind);
            m.put("layout", layout);
            m.put("memory", memory);
            m.put("median_ms", Double.isNaN(millis) ? null : millis);
            m.put("speed_up", Double.isNaN(speedUp) ? null : speedUp);
            m.put("efficiency", Double.isNaN(efficiency) ? null : efficiency);
            m.put("transfer_share", Double.isNaN(transferShare) ? null : transferShare);
            m.put("work_max_over_min", Double.isNaN(workBalance) ? null : workBalance);
            m.put("compute_max_over_min", Double.isNaN(computeBalance) ? null : computeBalance);
            m.put("rank_bytes", rankBytes);
            m.put("note", note);
            return m;
        }
    }

    List<Row> run(PrintWriter out, ClDevice device, int[] sizes, int[] ringSizes, List<String> kinds, int heads, int headDim) {
        for (int n : ringSizes) {
            if (n < 2) {
                throw new InputException("--rings takes rank counts of at least 2 (N = 1, plain flash on the whole device, "
                        + "always runs as the anchor), not " + n + ".");
            }
        }
        for (String kind : kinds) {
            if (!List.of("subdevices", "queues", "contexts").contains(kind)) {
                throw new InputException("Unknown --ring-kinds '" + kind + "': use " + RingRanks.KINDS + ".");
            }
        }
        out.printf("ring attention benchmark on %s %s through %s; B=1 H=%d D=%d causal float32; median of %d runs after "
                + "%d warm-up%n%n", device.id(), device.name(), opencl.runtime().binding(), heads, headDim, repeat, warmup);
        out.printf("%6s %2s  %-12s %-10s %-7s %10s %8s %10s %9s %9s %9s %10s%n", "S", "N", "ranks", "layout", "memory",
                "median ms", "speed-up", "efficiency", "transfer", "work m/m", "time m/m", "rank mem");
        List<Row> rows = new ArrayList<>();
        for (int s : sizes) {
            AttentionShape shape = new AttentionShape(1, heads, heads, s, s, headDim);
            AttentionProblem problem = AttentionProblem.of(shape, true);
            AttentionCommand.Inputs inputs = AttentionCommand.Inputs.random(
                    "1," + heads + "," + heads + "," + s + "," + s + "," + headDim, 0);
            double t1;
            long singleBytes;
            try (ClContext context = opencl.openContext(device);
                 ClAttention flash = AttentionImpls.create("flash", context, opencl.settings(context), defines)) {
                flash.checkFits(problem);
                double[] times = new double[repeat];
                for (int i = 0; i < warmup + repeat; i++) {
                    AttentionResult r = flash.run(problem, inputs.q(), inputs.k(), inputs.v());
                    if (i >= warmup) {
                        times[i - warmup] = r.computeMillis();
                    }
                }
                t1 = Stats.median(times);
                singleBytes = flash.deviceBytes(problem);
            }
            print(out, rows, new Row(s, 1, "whole device", "-", "-", t1, 1, 1, Double.NaN, Double.NaN, Double.NaN,
                    singleBytes, "plain flash"));
            for (int n : ringSizes) {
                for (int k = 0; k < kinds.size(); k++) {
                    String kind = kinds.get(k);
                    List<Object[]> configs = new ArrayList<>();
                    configs.add(new Object[] {RingLayout.ZIGZAG, RingMemory.OVERLAP});
                    configs.add(new Object[] {RingLayout.CONTIGUOUS, RingMemory.OVERLAP});
                    if (k == 0) {
                        configs.add(new Object[] {RingLayout.ZIGZAG, RingMemory.LOW});
                    }
                    for (Object[] config : configs) {
                        print(out, rows, ring(device, problem, inputs, n, kind, (RingLayout) config[0],
                                (RingMemory) config[1], t1));
                    }
                }
            }
        }
        out.println();
        out.println("ms: the compute phase, from the first enqueue until every queue has finished (for the ring its "
                + "steps with their transfers; the inputs' upload and the output's download excluded); speed-up "
                + "T1/TN; efficiency T1/(N*TN); transfer: the ranks' transfer time over N*TN (overlap: alongside "
                + "compute; low: in between); work m/m: visible (query, key) pairs of the busiest rank over the least "
                + "busy; time m/m: the same for kernel time; rank mem: device memory of the largest rank.");
        return rows;
    }

    private Row ring(ClDevice device, AttentionProblem problem, AttentionCommand.Inputs inputs, int n, String kind,
                     RingLayout layout, RingMemory memory, double t1) {
        int size = problem.shape().queryLen();
        try (RingRanks ranks = new RingRanks(opencl, device, n, kind);
             RingAttention op = new RingAttention(ranks.ranks(), layout, memory, BlockTransfer.forRanks(ranks.ranks()),
                     opencl::settings, defines)) {
            op.checkFits(problem);
            double[] times = new double[repeat];
            double[] transfer = new double[repeat];
            double[] timeBalance = new double[repeat];
            RingResult last = null;
            for (int i = 0; i < warmup + repeat; i++) {
                RingResult r = op.run(problem, inputs.q(), inputs.k(), inputs.v());
                if (i >= warmup) {
                    times[i - warmup] = r.result().computeMillis();
                    transfer[i - warmup] = r.transferMillis() / (n * r.result().computeMillis());
                    double max = r.ranks().stream().mapToDouble(RankStats::computeMillis).max().orElse(0);
                    double min = r.ranks().stream().mapToDouble(RankStats::computeMillis).min().orElse(0);
                    timeBalance[i - warmup] = max / min;
                    last = r;
                }
            }
            double tn = Stats.median(times);
            return new Row(size, n, kind, layout.label(), memory.label(), tn, t1 / tn, t1 / (n * tn),
                    Stats.median(transfer), last.workImbalance(), Stats.median(timeBalance), last.maxRankBytes(), "");
        } catch (InputException e) {
            // a device that cannot be split into N sub-devices: the row says why, the others still run
            return new Row(size, n, kind, layout.label(), memory.label(), Double.NaN, Double.NaN, Double.NaN, Double.NaN,
                    Double.NaN, Double.NaN, 0, e.getMessage());
        }
    }

    private static void print(PrintWriter out, List<Row> rows, Row r) {
        rows.add(r);
        if (Double.isNaN(r.millis())) {
            out.printf("%6d %2d  %-12s %-10s %-7s %s%n", r.size(), r.ranks(), r.kind(), r.layout(), r.memory(),
                    "not run: " + r.note());
        } else {
            out.printf(Locale.ROOT, "%6d %2d  %-12s %-10s %-7s %10.1f %7.2fx %10.2f %9s %9s %9s %10s%n", r.size(),
                    r.ranks(), r.kind(), r.layout(), r.memory(), r.millis(), r.speedUp(), r.efficiency(),
                    Double.isNaN(r.transferShare()) ? "-" : String.format(Locale.ROOT, "%.1f%%", 100 * r.transferShare()),
                    ratio(r.workBalance()), ratio(r.computeBalance()), gpuinfer.util.Sizes.bytes(r.rankBytes()));
        }
        out.flush();
    }

    private static String ratio(double value) {
        return Double.isNaN(value) ? "-" : String.format(Locale.ROOT, "%.2f", value);
    }
}
