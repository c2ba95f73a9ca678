package gpuinfer.profile;

import gpuinfer.cl.KernelTiming;
import gpuinfer.util.AtomicFiles;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** The per-kernel table, and the CSV, trace and roofline files of a profile. */
public final class ProfileOutput {
    private ProfileOutput() {
    }

    public static void printTable(PrintWriter out, List<KernelProfile.Row> rows, DevicePeaks peaks) {
        boolean labels = rows.stream().anyMatch(r -> !r.label().isEmpty());
        out.printf("%s%-22s %-16s %6s %10s %9s %9s %9s %6s %10s %9s %9s %8s %7s %7s%n", labels ? String.format("%-18s ", "shape") : "",
                "kernel", "global", "calls", "total ms", "mean ms", "median", "p95", "share", "MFLOP/call", "MB/call",
                "GFLOP/s", "GB/s", "%FLOP", "%BW");
        for (KernelProfile.Row r : rows) {
            out.printf(Locale.ROOT, "%s%-22s %-16s %6d %10.3f %9.4f %9.4f %9.4f %5.1f%% %10.3f %9.3f %9.2f %8.2f %6.1f%% %6.1f%%%n",
                    labels ? String.format("%-18s ", r.label()) : "", r.kernel(), r.global().replace(" ", ""), r.calls(), r.totalMs(),
                    r.meanMs(), r.medianMs(), r.p95Ms(), 100 * r.share(), r.flopsPerLaunch() / 1e6, r.bytesPerLaunch() / 1e6,
                    r.gflops(), r.gbps(), r.computePercent(), r.bandwidthPercent());
        }
        if (peaks != null) {
            out.printf(Locale.ROOT, "device peaks (measured by kernels/peaks.cl %s): %.1f GFLOP/s FMA, %.1f GB/s copy%n",
                    peaks.options(), peaks.gflops(), peaks.copyGbps());
        }
    }

    public static void printOverhead(PrintWriter out, KernelProfile.Overhead o) {
        out.printf(Locale.ROOT, "wall %.2f ms, kernels %.2f ms (device busy %.0f%% of the wall time); enqueue-to-start median %.1f us, "
                        + "p95 %.1f us; device idle between kernels %.2f ms%n", o.wallMs(), o.kernelMs(), o.busyPercent(),
                o.queueToStartUs(), o.queueToStartP95Us(), o.idleMs());
    }

    public static void writeCsv(Path file, List<KernelProfile.Row> rows) throws IOException {
        StringBuilder csv = new StringBuilder("label,kernel,global,options,calls,total_ms,mean_ms,median_ms,p95_ms,share,"
                + "flops_per_call,bytes_per_call,gflops,gbps,compute_percent,bandwidth_percent\n");
        for (KernelProfile.Row r : rows) {
            csv.append(String.format(Locale.ROOT, "\"%s\",%s,\"%s\",\"%s\",%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.1f,%.1f,%.4f,%.4f,%.3f,%.3f%n",
                    r.label(), r.kernel(), r.global(), r.options(), r.calls(), r.totalMs(), r.meanMs(), r.medianMs(), r.p95Ms(),
                    r.share(), r.flopsPerLaunch(), r.bytesPerLaunch(), r.gflops(), r.gbps(), r.computePercent(), r.bandwidthPercent()));
        }
        AtomicFiles.write(file, out -> out.write(csv.toString().getBytes(StandardCharsets.UTF_8)));
    }

    /** Writes whichever of the three files were asked for, and says so. */
    public static void writeFiles(PrintWriter out, String device, String title, List<KernelTiming> launches,
                                  List<KernelProfile.Row> rows, DevicePeaks peaks, Path trace, Path csv, Path roofline)
            throws IOException {
        if (trace != null) {
            ChromeTrace.write(trace, device, launches);
            out.println("trace: " + trace + " (" + launches.size() + " kernel launches; open it in https://ui.perfetto.dev or chrome://tracing)");
        }
        if (csv != null) {
            writeCsv(csv, rows);
            out.println("csv: " + csv);
        }
        if (roofline != null) {
            RooflineSvg.write(roofline, title, rows, peaks);
            out.println("roofline: " + roofline);
        }
    }
}
