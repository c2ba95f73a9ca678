package gpuinfer.profile;

import gpuinfer.bench.Stats;
import gpuinfer.cl.KernelTiming;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Per-kernel statistics of recorded launches, and how much of the wall time the device spent in kernels. */
public final class KernelProfile {
    private KernelProfile() {
    }

    /**
     * One kernel at one launch size.
     *
     * @param share          of the summed device time of all kernels
     * @param flopsPerLaunch as the op declares its useful work
     * @param bytesPerLaunch compulsory traffic: inputs read once, outputs written once
     */
    public record Row(String label, String kernel, String global, String options, int calls, double totalMs, double meanMs,
                      double medianMs, double p95Ms, double share, double flopsPerLaunch, double bytesPerLaunch,
                      double gflops, double gbps, double computePercent, double bandwidthPercent) {
        public double intensity() {
            return bytesPerLaunch == 0 ? 0 : flopsPerLaunch / bytesPerLaunch;
        }
    }

    /**
     * Device time against wall time.
     *
     * @param queueToStartUs median of each launch's CL_PROFILING_COMMAND_START - QUEUED: host submission and waiting
     * @param idleMs         device time between the end of one kernel and the start of the next, summed
     */
    public record Overhead(double wallMs, double kernelMs, double queueToStartUs, double queueToStartP95Us, double idleMs) {
        public double busyPercent() {
            return wallMs == 0 ? 0 : 100 * kernelMs / wallMs;
        }
    }

    public static List<Row> rows(String label, List<KernelTiming> timings, DevicePeaks peaks) {
        Map<String, List<KernelTiming>> groups = new LinkedHashMap<>();
        for (KernelTiming t : timings) {
            groups.computeIfAbsent(t.kernel() + " " + Arrays.toString(t.global()) + " " + t.options(), k -> new ArrayList<>()).add(t);
        }
        double total = timings.stream().mapToDouble(KernelTiming::millis).sum();
        List<Row> rows = new ArrayList<>();
        for (List<KernelTiming> g : groups.values()) {
            double[] ms = g.stream().mapToDouble(KernelTiming::millis).toArray();
            double sum = Arrays.stream(ms).sum();
            double flops = g.stream().mapToDouble(t -> t.cost().flops()).average().orElse(0);
            double bytes = g.stream().mapToDouble(t -> t.cost().bytes()).average().orElse(0);
            double median = Stats.median(ms);
            double gflops = median > 0 ? flops / (median * 1e6) : 0;
            double gbps = median > 0 ? bytes / (median * 1e6) : 0;
            KernelTiming first = g.get(0);
            rows.add(new Row(label, first.kernel(), Arrays.toString(first.global()), first.options(), g.size(), sum, sum / g.size(),
                    median, percentile(ms, 0.95), total == 0 ? 0 : sum / total, flops, bytes, gflops, gbps,
                    peaks == null ? 0 : 100 * gflops / peaks.gflops(), peaks == null ? 0 : 100 * gbps / peaks.copyGbps()));
        }
        rows.sort(Comparator.comparingDouble(Row::totalMs).reversed());
        return rows;
    }

    /** Overhead of several runs, each a list of launches in order with its wall time. */
    public static Overhead overhead(List<List<KernelTiming>> runs, double[] wallMs) {
        double kernels = 0;
        double idle = 0;
        List<Double> waits = new ArrayList<>();
        for (List<KernelTiming> run : runs) {
            long lastEnd = -1;
            for (KernelTiming t : run) {
                kernels += t.millis();
                waits.add((t.startNs() - t.queuedNs()) / 1e3);
                if (lastEnd >= 0 && t.startNs() > lastEnd) {
                    idle += (t.startNs() - lastEnd) / 1e6;
                }
                lastEnd = Math.max(lastEnd, t.endNs());
            }
        }
        double[] w = waits.stream().mapToDouble(Double::doubleValue).toArray();
        return new Overhead(Arrays.stream(wallMs).sum(), kernels, Stats.median(w), percentile(w, 0.95), idle);
    }

    static double percentile(double[] values, double p) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int index = (int) Math.ceil(p * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
    }
}
