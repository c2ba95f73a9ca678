package gpuinfer.profile;

import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.cl.KernelTiming;
import gpuinfer.util.AtomicFiles;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Chrome trace-event JSON (opens in Perfetto and chrome://tracing): one complete event per kernel launch on the
 * device track, and the wait from enqueue to start of each launch on a second track. Times are microseconds from
 * the first launch's enqueue, on the device's clock.
 */
public final class ChromeTrace {
    private ChromeTrace() {
    }

    public static void write(Path file, String device, List<KernelTiming> launches) throws IOException {
        long origin = launches.stream().mapToLong(KernelTiming::queuedNs).min().orElse(0);
        List<Map<String, Object>> events = new ArrayList<>();
        events.add(meta("process_name", 0, Map.of("name", "gpu-infer on " + device)));
        events.add(meta("thread_name", 1, Map.of("name", "kernels (device)")));
        events.add(meta("thread_name", 2, Map.of("name", "enqueue to start")));
        for (KernelTiming t : launches) {
            Map<String, Object> args = new LinkedHashMap<>();
            args.put("global", t.global());
            args.put("local", t.local());
            args.put("options", t.options());
            args.put("flops", t.cost().flops());
            args.put("bytes", t.cost().bytes());
            events.add(complete(t.kernel(), "kernel", 1, (t.startNs() - origin) / 1e3, t.durationNs() / 1e3, args));
            events.add(complete(t.kernel() + " (waiting)", "queue", 2, (t.queuedNs() - origin) / 1e3,
                    (t.startNs() - t.queuedNs()) / 1e3, Map.of()));
        }
        writeEvents(file, events);
    }

    /** Writes {"traceEvents": events, "displayTimeUnit": "ms"}, whole or not at all. */
    static void writeEvents(Path file, List<Map<String, Object>> events) throws IOException {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("traceEvents", events);
        doc.put("displayTimeUnit", "ms");
        byte[] bytes = new ObjectMapper().writeValueAsBytes(doc);
        AtomicFiles.write(file, out -> out.write(bytes));
    }

    private static Map<String, Object> complete(String name, String category, int tid, double ts, double dur, Map<String, Object> args) {
        return complete(name, category, 0, tid, ts, dur, args);
    }

    /** A complete ("X") event: a span of {@code dur} microseconds from {@code ts} on track (pid, tid). */
    static Map<String, Object> complete(String name, String category, int pid, int tid, double ts, double dur,
                                        Map<String, Object> args) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("name", name);
        e.put("cat", category);
        e.put("ph", "X");
        e.put("pid", pid);
        e.put("tid", tid);
        e.put("ts", ts);
        e.put("dur", dur);
        e.put("args", args);
        return e;
    }

    private static Map<String, Object> meta(String name, int tid, Map<String, Object> args) {
        return meta(name, 0, tid, args);
    }

    /** A metadata ("M") event: process_name, thread_name, process_labels, ... */
    static Map<String, Object> meta(String name, int pid, int tid, Map<String, Object> args) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("name", name);
        e.put("ph", "M");
        e.put("pid", pid);
        e.put("tid", tid);
        e.put("args", args);
        return e;
    }
}
