package gpuinfer.profile;

import gpuinfer.attention.ring.RankStats;
import gpuinfer.attention.ring.RankTimeline;
import gpuinfer.attention.ring.RingResult;
import gpuinfer.cl.KernelTiming;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Chrome trace-event file (Perfetto, chrome://tracing) of ring attention runs: one process per rank, named with
 * its device and peak device memory, with two tracks, its compute queue (each attention and merge kernel, device
 * profiling times) and its transfer queue (each send, read or write of a key/value block, host-timed blocking calls),
 * and a "device memory" counter per rank. Every time is on the host clock ({@link System#nanoTime()}): kernel times
 * are moved there by the rank's {@link RankTimeline#deviceToHostNs() offset}. Microseconds from the earliest event.
 */
public final class RingTrace {
    /** Track ids within a rank's process. */
    public static final int COMPUTE = 1;
    public static final int TRANSFER = 2;

    private RingTrace() {
    }

    public static void write(Path file, List<RingResult> runs) throws IOException {
        ChromeTrace.writeEvents(file, events(runs));
    }

    static List<Map<String, Object>> events(List<RingResult> runs) {
        long origin = Long.MAX_VALUE;
        for (RingResult run : runs) {
            for (RankTimeline t : run.timelines()) {
                for (KernelTiming k : t.kernels()) {
                    origin = Math.min(origin, k.startNs() + t.deviceToHostNs());
                }
                for (RankTimeline.Transfer x : t.transfers()) {
                    origin = Math.min(origin, x.startNs());
                }
            }
        }
        List<Map<String, Object>> events = new ArrayList<>();
        RingResult first = runs.get(0);
        for (RankStats st : first.ranks()) {
            int pid = st.rank();
            String memory = gpuinfer.util.Sizes.bytes(st.deviceBytes());
            events.add(ChromeTrace.meta("process_name", pid, 0, Map.of("name", "rank " + st.rank() + " on " + st.device())));
            events.add(ChromeTrace.meta("process_sort_index", pid, 0, Map.of("sort_index", pid)));
            events.add(ChromeTrace.meta("process_labels", pid, 0, Map.of("labels", "peak device memory " + memory + " ("
                    + st.deviceBytes() + " bytes)")));
            events.add(ChromeTrace.meta("thread_name", pid, COMPUTE, Map.of("name", "compute queue (kernels)")));
            events.add(ChromeTrace.meta("thread_name", pid, TRANSFER, Map.of("name", "transfer queue (key/value blocks)")));
            Map<String, Object> counter = new LinkedHashMap<>();
            counter.put("name", "device memory");
            counter.put("ph", "C");
            counter.put("pid", pid);
            counter.put("ts", 0.0);
            counter.put("args", Map.of("bytes", st.deviceBytes()));
            events.add(counter);
        }
        for (int i = 0; i < runs.size(); i++) {
            for (RankTimeline t : runs.get(i).timelines()) {
                for (KernelTiming k : t.kernels()) {
                    Map<String, Object> args = new LinkedHashMap<>();
                    args.put("run", i);
                    args.put("global", k.global());
                    args.put("options", k.options());
                    args.put("flops", k.cost().flops());
                    args.put("bytes", k.cost().bytes());
                    events.add(ChromeTrace.complete(k.kernel(), "kernel", t.rank(), COMPUTE,
                            (k.startNs() + t.deviceToHostNs() - origin) / 1e3, k.durationNs() / 1e3, args));
                }
                for (RankTimeline.Transfer x : t.transfers()) {
                    events.add(ChromeTrace.complete(x.what(), "transfer", t.rank(), TRANSFER, (x.startNs() - origin) / 1e3,
                            (x.endNs() - x.startNs()) / 1e3, Map.of("run", i, "bytes", x.bytes())));
                }
            }
        }
        return events;
    }
}
