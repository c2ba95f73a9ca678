package gpuinfer.profile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.bench.Stats;
import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClKernel;
import gpuinfer.cl.ClProgram;
import gpuinfer.cl.ClQueue;
import gpuinfer.cl.DeviceInfo;
import gpuinfer.cl.KernelSource;
import gpuinfer.cl.KernelTiming;
import gpuinfer.util.AtomicFiles;
import gpuinfer.util.CacheDirectory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A device's measured ceilings (kernels/peaks.cl): FMA throughput and copy bandwidth, measured once per device and
 * driver version and kept in {@code <cache dir>/peaks/}.
 *
 * @param gflops      float32 FMA throughput, GFLOP/s (2 per FMA)
 * @param copyGbps    copy bandwidth, GB/s counting bytes read plus bytes written
 */
public record DevicePeaks(double gflops, double copyGbps, String options) {
    private static final int ITERATIONS = 2048;
    private static final long COPY_BYTES = 64L << 20;

    /** The cached figures for this context's device, measuring them first if there are none. */
    public static DevicePeaks of(ClContext context) {
        return of(context, false);
    }

    /** As {@link #of(ClContext)}; {@code remeasure} ignores and replaces the cached figures. */
    public static DevicePeaks of(ClContext context, boolean remeasure) {
        Path file = file(context.device().info());
        if (!remeasure && Files.isRegularFile(file)) {
            try {
                JsonNode json = new ObjectMapper().readTree(file.toFile());
                if (json.path("gflops").asDouble() > 0 && json.path("copyGbps").asDouble() > 0) {
                    return new DevicePeaks(json.path("gflops").asDouble(), json.path("copyGbps").asDouble(),
                            json.path("options").asText());
                }
            } catch (IOException | RuntimeException e) {
                // a damaged file is measured again
            }
        }
        DevicePeaks peaks = measure(context);
        try {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("device", context.device().name());
            doc.put("driver", context.device().info().driverVersion());
            doc.put("gflops", peaks.gflops());
            doc.put("copyGbps", peaks.copyGbps());
            doc.put("options", peaks.options());
            byte[] bytes = new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(doc);
            AtomicFiles.write(file, out -> out.write(bytes));
        } catch (IOException e) {
            System.err.println("warning: could not store the device peaks in " + file + ": " + e.getMessage());
        }
        return peaks;
    }

    static Path file(DeviceInfo device) {
        String key = (device.name() + "-" + device.driverVersion()).replaceAll("[^A-Za-z0-9_.-]+", "_");
        return CacheDirectory.root().resolve("peaks").resolve(key + ".json");
    }

    /**
     * CPU reference of {@code peak_fma}: for each work-item, the 8 chains x ← a·x + b started at the kernel's
     * float32 values (gid·1e-9 + k), iterated in double, and summed; every one of the VEC lanes holds that sum.
     *
     * @return [items * vec]
     */
    static float[] fmaReference(int items, int vec, float a, float b, int iterations) {
        float[] out = new float[items * vec];
        for (int gid = 0; gid < items; gid++) {
            float start = (float) gid * 1e-9f;
            double sum = 0;
            for (int chain = 0; chain < 8; chain++) {
                double x = start + (float) chain;
                for (int i = 0; i < iterations; i++) {
                    x = x * a + b;
                }
                sum += x;
            }
            java.util.Arrays.fill(out, gid * vec, (gid + 1) * vec, (float) sum);
        }
        return out;
    }

    /** Runs the two microbenchmarks (about a second) and returns their medians. */
    public static DevicePeaks measure(ClContext context) {
        DeviceInfo info = context.device().info();
        int vec = info.isGpu() ? 4 : Math.max(4, Math.min(16, info.preferredFloatVectorWidth()));
        int wg = (int) Math.min(64, info.maxWorkGroupSize());
        String options = "-DVEC=" + vec + " -DWG=" + wg;
        ClProgram program = context.program(KernelSource.load("peaks.cl"), options);
        ClQueue queue = context.queue();
        long items = (long) Math.max(1, info.computeUnits()) * wg * (info.isGpu() ? 64 : 8);
        long copyItems = COPY_BYTES / 4 / vec;
        try (ClKernel fma = program.kernel("peak_fma");
             ClKernel copy = program.kernel("peak_copy");
             ClBuffer out = context.createBuffer(4L * items * vec, "peak_fma out");
             ClBuffer x = context.createBuffer(COPY_BYTES, "peak_copy x");
             ClBuffer y = context.createBuffer(COPY_BYTES, "peak_copy y")) {
            queue.zero(x);
            fma.arg(0, out).arg(1, 0.999f).arg(2, 0.001f).arg(3, ITERATIONS);
            copy.arg(0, x).arg(1, y);
            double[] gflops = new double[5];
            double[] gbps = new double[5];
            for (int r = -1; r < 5; r++) {
                queue.startRecording();
                queue.launch(fma, new long[] {items}, new long[] {wg});
                queue.launch(copy, new long[] {(copyItems + wg - 1) / wg * wg}, new long[] {wg});
                List<KernelTiming> t = queue.stopRecording();
                if (r >= 0) {
                    gflops[r] = items * (double) ITERATIONS * 8 * vec * 2 / t.get(0).durationNs();
                    gbps[r] = 2.0 * COPY_BYTES / t.get(1).durationNs();
                }
            }
            return new DevicePeaks(Stats.median(gflops), Stats.median(gbps), options);
        }
    }
}
