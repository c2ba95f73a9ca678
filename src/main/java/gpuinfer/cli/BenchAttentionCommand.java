package gpuinfer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.InputException;
import gpuinfer.attention.AttentionImpls;
import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionShape;
import gpuinfer.attention.ClAttention;
import gpuinfer.bench.AttentionBenchmark;
import gpuinfer.bench.AttentionBenchmark.Measurement;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClDevice;
import gpuinfer.cl.DeviceMemoryException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code gpu-infer bench attention}: flash against naive, and against the PyTorch anchor when its JSON is given. */
@Command(name = "attention", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Benchmark attention for B=1 H=12 D=64 causal: prefill at each --sizes S (Sq = Sk = S) and",
                "decode (Sq = 1) at each --decode-lengths Sk. Prints medians, GFLOP/s (2*B*H*S*S*D for causal prefill,",
                "4*B*H*Sk*D for decode), K+V GB/s for decode, and ratios to the naive path run in the same process.",
                "", "Example (with the anchor, in one session): tools/bench_attention.sh", ""})
final class BenchAttentionCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--sizes", split = ",", defaultValue = "512,1024,2048,4096", paramLabel = "S,...",
            description = "Prefill sequence lengths (default: ${DEFAULT-VALUE}).")
    int[] sizes;

    @Option(names = "--decode-lengths", split = ",", defaultValue = "4096,32768", paramLabel = "SK,...",
            description = "Decode key lengths, Sq = 1 (default: ${DEFAULT-VALUE}).")
    int[] decode;

    @Option(names = "--heads", defaultValue = "12", description = "H = Hkv (default: ${DEFAULT-VALUE}).")
    int heads;

    @Option(names = "--head-dim", defaultValue = "64", description = "D (default: ${DEFAULT-VALUE}).")
    int headDim;

    @Mixin
    RepeatOptions.Measured repeats;

    @Option(names = "--no-naive", description = "Skip the naive path (it is slow at long sequences).")
    boolean noNaive;

    @Mixin
    FlashDefinesOption flashDefines;

    @Option(names = "--anchor", paramLabel = "ANCHOR.json",
            description = "JSON from tools/bench_anchor_attention.py measured in this session: printed side by side.")
    Path anchor;

    @Mixin
    MachineOption machineOption;

    @Mixin
    JsonOutputOptions json;

    @Option(names = "--rings", split = ",", paramLabel = "N,...",
            description = "Benchmark ring attention instead: at each --sizes S, plain flash on the whole device (N = 1) "
                    + "and, for each N, ring attention on N ranks of each --ring-kinds kind with the zigzag and the "
                    + "contiguous layout (and --ring-memory low on the first kind): time, speed-up, efficiency "
                    + "T1/(N*TN), transfer share, per-rank work and time balance.")
    int[] ring;

    @Option(names = "--ring-kinds", split = ",", defaultValue = "subdevices,queues", paramLabel = "KIND,...",
            description = "With --rings: the kinds of ranks to run, as attention --ring-ranks takes them "
                    + "(default: ${DEFAULT-VALUE}).")
    List<String> ringRanks;

    @Mixin
    OpenClOptions opencl;

    @Override
    public Integer call() throws IOException {
        repeats.checked();
        int repeat = repeats.repeat();
        int warmup = repeats.warmup();
        PrintWriter stdout = spec.commandLine().getOut();
        // under --json, standard output carries the JSON alone: the tables go to standard error
        PrintWriter out = json.replacesText() ? spec.commandLine().getErr() : stdout;
        Path machine = machineOption.machine;
        if (ring != null) {
            List<RingBenchmark.Row> ringRows = new RingBenchmark(opencl, flashDefines.defines, warmup, repeat).run(out,
                    opencl.selectDevice(), sizes, ring, ringRanks, heads, headDim);
            if (json.wanted()) {
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("binding", opencl.runtime().binding());
                doc.put("heads", heads);
                doc.put("headDim", headDim);
                doc.put("rows", ringRows.stream().map(RingBenchmark.Row::json).toList());
                json.emit(stdout, doc);
            }
            return ExitCodes.OK;
        }
        JsonNode anchorRows = anchor == null ? null : read(anchor).get("rows");
        JsonNode machineFigures = machine == null ? null : read(machine);
        ClDevice device = opencl.selectDevice();
        List<Map<String, Object>> rows = new ArrayList<>();
        try (ClContext context = opencl.openContext(device);
             ClAttention flash = AttentionImpls.create("flash", context, opencl.settings(context), flashDefines.defines);
             ClAttention naive = AttentionImpls.create("naive", context)) {
            out.printf("attention benchmark on %s %s (%s) through %s; B=1 H=%d D=%d causal float32; median of %d runs after %d warm-up%n",
                    device.id(), device.name(), device.platform().name(), context.binding(), heads, headDim, repeat, warmup);
            if (machineFigures != null) {
                out.printf("machine: SGEMM %.0f GFLOP/s (%s), copy bandwidth %.1f GB/s%n",
                        machineFigures.path("sgemm_gflops").asDouble(), machineFigures.path("blas").asText("?"),
                        BenchRunCommand.copyBandwidth(machineFigures));
            }
            out.println();
            out.printf("%-16s %10s %9s %10s %8s %11s %10s %9s %9s%n", "shape", "flash ms", "GFLOP/s", "naive ms",
                    "x naive", "anchor ms", "anchor GF", "x anchor", "K+V GB/s");
            List<AttentionProblem> problems = new ArrayList<>();
            for (int s : sizes) {
                problems.add(AttentionProblem.of(new AttentionShape(1, heads, heads, s, s, headDim), true));
            }
            for (int sk : decode) {
                problems.add(AttentionProblem.of(new AttentionShape(1, heads, heads, 1, sk, headDim), true));
            }
            String flashOptions = "";
            for (AttentionProblem problem : problems) {
                Measurement f = AttentionBenchmark.measure(context, flash, problem, warmup, repeat);
                flashOptions = f.options();
                Measurement n = null;
                if (!noNaive) {
                    try {
                        n = AttentionBenchmark.measure(context, naive, problem, Math.min(warmup, 1), Math.min(repeat, 3));
                    } catch (DeviceMemoryException tooLarge) {
                        n = null;
                    }
                }
                String name = problem.shape().queryLen() == 1 ? "decode Sk=" + problem.shape().keyLen()
                        : "prefill S=" + problem.shape().queryLen();
                JsonNode a = findAnchor(anchorRows, problem);
                double anchorMs = a == null ? Double.NaN : a.path("median_ms").asDouble(Double.NaN);
                boolean decodeRow = problem.shape().queryLen() == 1;
                out.printf("%-16s %10.2f %9.1f %10s %8s %11s %10s %9s %9s%n", name, f.medianMillis(), f.gflops(),
                        n == null ? "-" : fmt(n.medianMillis()), n == null ? "-" : fmt(n.medianMillis() / f.medianMillis()) + "x",
                        Double.isNaN(anchorMs) ? "-" : fmt(anchorMs),
                        a == null ? "-" : fmt(a.path("gflops").asDouble()),
                        Double.isNaN(anchorMs) ? "-" : fmt(anchorMs / f.medianMillis()) + "x",
                        decodeRow ? fmt(f.keyValueGbps()) : "");
                out.flush();
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("name", name);
                row.put("Sq", problem.shape().queryLen());
                row.put("Sk", problem.shape().keyLen());
                row.put("flash_median_ms", f.medianMillis());
                row.put("flash_runs_ms", f.wallMillis());
                row.put("flash_kernel_ms", f.kernelMillis());
                row.put("flash_kernels", f.kernels());
                row.put("flash_options", f.options());
                row.put("flash_gflops", f.gflops());
                row.put("naive_median_ms", n == null ? null : n.medianMillis());
                row.put("anchor_median_ms", Double.isNaN(anchorMs) ? null : anchorMs);
                row.put("kv_gbps", decodeRow ? f.keyValueGbps() : null);
                rows.add(row);
            }
            out.println();
            out.println("flash options: " + flashOptions);
            if (machineFigures != null) {
                double sgemm = machineFigures.path("sgemm_gflops").asDouble();
                double copy = BenchRunCommand.copyBandwidth(machineFigures);
                for (Map<String, Object> row : rows) {
                    if (row.get("kv_gbps") != null) {
                        out.printf("%s: K+V read at %.1f GB/s = %.0f%% of the measured copy bandwidth%n", row.get("name"),
                                (Double) row.get("kv_gbps"), 100 * (Double) row.get("kv_gbps") / copy);
                    } else {
                        out.printf("%s: %.1f GFLOP/s = %.0f%% of the measured SGEMM rate%n", row.get("name"),
                                (Double) row.get("flash_gflops"), 100 * (Double) row.get("flash_gflops") / sgemm);
                    }
                }
            }
        }
        if (json.wanted()) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("device", device.name());
            doc.put("binding", opencl.runtime().binding());
            doc.put("heads", heads);
            doc.put("headDim", headDim);
            doc.put("rows", rows);
            json.emit(stdout, doc);
        }
        return ExitCodes.OK;
    }

    private static JsonNode findAnchor(JsonNode rows, AttentionProblem problem) {
        if (rows == null) {
            return null;
        }
        for (JsonNode row : rows) {
            if (row.path("Sq").asInt() == problem.shape().queryLen() && row.path("Sk").asInt() == problem.shape().keyLen()
                    && row.path("H").asInt(problem.shape().heads()) == problem.shape().heads()
                    && row.path("D").asInt(problem.shape().headDim()) == problem.shape().headDim()) {
                return row;
            }
        }
        return null;
    }

    private static JsonNode read(Path file) {
        try {
            return new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new InputException(file + ": not readable JSON (" + e.getMessage() + ")");
        }
    }

    private static String fmt(double value) {
        return value >= 100 ? String.format(Locale.ROOT, "%.0f", value) : value >= 10 ? String.format(Locale.ROOT, "%.1f", value)
                : String.format(Locale.ROOT, "%.2f", value);
    }
}
