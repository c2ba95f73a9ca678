package gpuinfer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.InputException;
import gpuinfer.bench.ClblastAnchor;
import gpuinfer.bench.LinearGemmBenchmark;
import gpuinfer.bench.ModelBenchmark;
import gpuinfer.bench.PrefillGemm;
import gpuinfer.bench.Stats;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClDevice;
import gpuinfer.model.ModelConfig;
import gpuinfer.model.DecoderModel;
import gpuinfer.model.ModelWeights;
import gpuinfer.model.LoadedModel;
import gpuinfer.ops.ClBackend;
import gpuinfer.ops.Linear;
import gpuinfer.variants.KernelSettings;
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
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code gpu-infer bench run}: model prefill and decode throughput, beside the PyTorch anchor's. */
@Command(name = "run", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Benchmark a model: prefill of a --prompt-tokens prompt (logits of its last position), then",
                "--decode-tokens single-token steps against the KV cache. Prints medians over --repeat rounds:",
                "prefill tokens/s and GFLOP/s, decode tokens/s and the GB/s of weights read per token, and with",
                "--anchor/--machine the PyTorch figures and the machine's limits from the same session. Then the",
                "prefill's matrix products (--gemm-anchor): gpu-infer's linear kernel beside CLBlast's SGEMM on the",
                "same device and shapes, as GFLOP/s and their ratio.",
                "", "Example (random GPT-2 124M-shaped weights and the anchor in one session): tools/bench_gpt2.sh", ""})
final class BenchRunCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--prompt-tokens", defaultValue = "512", description = "Prompt length (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--decode-tokens", defaultValue = "64", description = "Decode steps per round (default: ${DEFAULT-VALUE}).")
    int decodeTokens;

    @Mixin
    RepeatOptions.Measured repeats;

    @Option(names = "--anchor", paramLabel = "GPT2.json", description = "JSON of tools/bench_anchor_gpt2.py from this session.")
    Path anchor;

    @Mixin
    MachineOption machineOption;

    @Option(names = "--llama-bench", paramLabel = "LLAMA.json",
            description = "JSON of llama.cpp's llama-bench (-o json) on the same GGUF file from this session: a prefill "
                    + "test (-p N -n 0) and a decode test (-n N, ideally -d with the prompt length).")
    Path llamaBench;

    @Mixin
    JsonOutputOptions json;

    @Option(names = "--gemm-anchor", defaultValue = "auto", paramLabel = "WHICH",
            description = "The prefill's matrix products (q/k/v, attention out, MLP, head for every row) timed alone with "
                    + "gpu-infer's linear kernel and with CLBlast's SGEMM on the same device: auto (CLBlast when "
                    + "libclblast is installed, else a line saying how to get it), clblast (fail without it), none "
                    + "(default: ${DEFAULT-VALUE}).")
    String gemmAnchor;

    @Option(names = "--gemm-runs", defaultValue = "3", paramLabel = "N",
            description = "Timed calls per matrix product and side, after one warm-up call; medians (default: ${DEFAULT-VALUE}).")
    int gemmRuns;

    @Option(names = "--cublas", paramLabel = "GEMM.json",
            description = "JSON of tools/anchor_gemm_cuda.py from this session (PyTorch torch.matmul on CUDA: cuBLAS, "
                    + "float32, TF32 off) on the same shapes: a cuBLAS column in the GEMM table.")
    Path cublas;

    @Option(names = "--kernel-shares", description = "Also print each decode kernel's share of device time (one extra profiled round).")
    boolean kernelShares;

    @Mixin
    OpenClOptions opencl;

    @Override
    public Integer call() throws IOException {
        repeats.checked();
        if (promptTokens < 1 || decodeTokens < 1) {
            throw new InputException("--prompt-tokens and --decode-tokens must be at least 1.");
        }
        if (!List.of("auto", "clblast", "none").contains(gemmAnchor)) {
            throw new InputException("Unknown --gemm-anchor '" + gemmAnchor + "': use auto, clblast or none.");
        }
        if (gemmRuns < 1) {
            throw new InputException("--gemm-runs must be at least 1.");
        }
        if (cublas != null && gemmAnchor.equals("none")) {
            throw new InputException("--cublas adds a column to the GEMM table, which --gemm-anchor none leaves out.");
        }
        JsonNode cublasJson = cublas == null ? null : read(cublas);
        ClblastAnchor.Lookup clblast = gemmAnchor.equals("none") ? null : ClblastAnchor.locate();
        if (gemmAnchor.equals("clblast") && clblast.library().isEmpty()) {
            throw new InputException("--gemm-anchor clblast: " + clblast.problem() + "; " + ClblastAnchor.INSTALL_HINT + ".");
        }
        PrintWriter stdout = spec.commandLine().getOut();
        // under --json, standard output carries the JSON alone: the tables go to standard error
        PrintWriter out = json.replacesText() ? spec.commandLine().getErr() : stdout;
        PrintWriter err = spec.commandLine().getErr();
        LoadedModel loaded = modelOptions.open(err);
        ModelConfig config = loaded.config();
        ModelWeights weights = loaded.weights();
        Path dir = loaded.path();
        if (promptTokens + decodeTokens > config.nPositions()) {
            throw new InputException("--prompt-tokens " + promptTokens + " plus --decode-tokens " + decodeTokens
                    + " exceed the model's n_positions " + config.nPositions() + ".");
        }
        ClDevice device = opencl.selectDevice();
        List<ModelBenchmark.Round> rounds = new ArrayList<>();
        List<PrefillGemm> gemms = PrefillGemm.forModel(config, weights.layers[0].qkvWeight != null, promptTokens);
        List<LinearGemmBenchmark.Measurement> ours = new ArrayList<>();
        try (ClContext context = opencl.openContext(device)) {
            KernelSettings settings = opencl.settings(context);
            try (DecoderModel gpt = new DecoderModel(new ClBackend(context, settings), weights, 1, promptTokens + decodeTokens, promptTokens, 1)) {
                for (int r = 0; r < repeats.warmup() + repeats.repeat(); r++) {
                    ModelBenchmark.Round round = ModelBenchmark.run(gpt, promptTokens, decodeTokens, r);
                    if (r >= repeats.warmup()) {
                        rounds.add(round);
                    }
                }
                if (kernelShares) {
                    List<ModelBenchmark.KernelShare> shares = ModelBenchmark.profileDecode(gpt, context.queue(), promptTokens, decodeTokens);
                    double total = shares.stream().mapToDouble(ModelBenchmark.KernelShare::millis).sum();
                    out.printf("decode kernels over %d steps (device time %.1f ms):%n", decodeTokens, total);
                    shares.sort((a, b) -> Double.compare(b.millis(), a.millis()));
                    for (ModelBenchmark.KernelShare s : shares) {
                        out.printf("  %-44s %5d calls %9.3f ms/step %5.1f%%  %s%n", s.kernel(), s.calls(), s.millis() / decodeTokens,
                                100 * s.millis() / total, s.options());
                    }
                    out.println();
                }
            }
            if (clblast != null) {
                // gpu-infer's side of the GEMM anchor, on this context; the model's buffers are released by now
                try (Linear.OnDevice linear = new Linear.OnDevice(context, settings, Map.of())) {
                    for (PrefillGemm gemm : gemms) {
                        ours.add(LinearGemmBenchmark.measure(context, linear, gemm, 1, gemmRuns));
                    }
                }
            }
        }
        ClblastAnchor.Result clblastResult = null;
        if (clblast != null && clblast.library().isPresent()) {
            err.println("CLBlast anchor: CLBlastSgemm on " + gemms.size() + " shapes in a child process (its first call "
                    + "per shape builds CLBlast's kernels, which takes a while on a CPU runtime)");
            err.flush();
            clblastResult = ClblastAnchor.run(clblast.library().get(), device, gemms, 1, gemmRuns);
        }
        double prefillMs = Stats.median(rounds.stream().mapToDouble(ModelBenchmark.Round::prefillMillis).toArray());
        double decodeMs = Stats.median(rounds.stream().mapToDouble(r -> Stats.median(r.decodeMillis())).toArray());
        double prefillTps = promptTokens / (prefillMs / 1e3);
        double prefillGflops = ModelBenchmark.prefillFlops(config, promptTokens) / (prefillMs * 1e6);
        double decodeTps = 1e3 / decodeMs;
        double weightBytes = weights.decodeBytesPerToken();
        double decodeGbps = weightBytes / (decodeMs * 1e6);

        JsonNode anchorJson = anchor == null ? null : read(anchor);
        JsonNode machineJson = machineOption.machine == null ? null : read(machineOption.machine);
        LlamaBench llama = llamaBench == null ? null : LlamaBench.read(read(llamaBench), llamaBench);
        out.printf("model %s: %d layers, C=%d, %d heads, vocab %d, %.1f M parameters; weights %s, %.1f MB read per decoded token%n",
                dir, config.nLayer(), config.nEmbd(), config.nHead(), config.vocabSize(), weights.parameterCount() / 1e6,
                weights.formats(), weightBytes / 1e6);
        out.printf("device %s %s through %s; median of %d rounds after %d warm-up%n%n", device.id(), device.name(),
                opencl.runtime().binding(), repeats.repeat(), repeats.warmup());
        out.printf("%-28s %14s %14s %12s%n", "", "prefill tok/s", "decode tok/s", "decode ms");
        out.printf("%-28s %14.1f %14.1f %12.2f%n", "gpu-infer (OpenCL)", prefillTps, decodeTps, decodeMs);
        if (llama != null) {
            out.printf("%-28s %14.1f %14.1f %12.2f   gpu-infer: %.2fx prefill, %.2fx decode%n",
                    "llama.cpp, " + llama.threads() + " threads", llama.prefillTps(), llama.decodeTps(), 1e3 / llama.decodeTps(),
                    prefillTps / llama.prefillTps(), decodeTps / llama.decodeTps());
        }
        if (anchorJson != null) {
            for (JsonNode setting : anchorJson.path("settings")) {
                double aPrefill = setting.path("prefill_tokens_per_s").asDouble();
                double aDecode = setting.path("decode_tokens_per_s").asDouble();
                out.printf("%-28s %14.1f %14.1f %12.2f   gpu-infer: %.2fx prefill, %.2fx decode%n",
                        "PyTorch, " + setting.path("name").asText(), aPrefill, aDecode,
                        setting.path("decode_ms_per_token").asDouble(), prefillTps / aPrefill, decodeTps / aDecode);
            }
        }
        out.println();
        out.printf("prefill: %.1f GFLOP/s", prefillGflops);
        if (machineJson != null) {
            out.printf(" = %.0f%% of the measured SGEMM rate (%.0f GFLOP/s)", 100 * prefillGflops / machineJson.path("sgemm_gflops").asDouble(),
                    machineJson.path("sgemm_gflops").asDouble());
        }
        out.println();
        out.printf("decode: %.1f MB of weights per token read at %.1f GB/s", weightBytes / 1e6, decodeGbps);
        if (machineJson != null) {
            out.printf(" = %.0f%% of the measured copy bandwidth (%.1f GB/s)", 100 * decodeGbps / copyBandwidth(machineJson),
                    copyBandwidth(machineJson));
        }
        out.println();
        if (llama != null) {
            out.printf("llama.cpp: %s (%s), prefill %s, decode %s%n", llama.modelType(), llama.modelFile(), llama.prefillTest(),
                    llama.decodeTest());
        }
        List<Map<String, Object>> gemmRows = clblast == null ? List.of() : printGemms(out, gemms, ours, clblast, clblastResult, cublasJson);
        if (json.wanted()) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("model", dir.toString());
            doc.put("device", device.name());
            doc.put("promptTokens", promptTokens);
            doc.put("decodeTokens", decodeTokens);
            doc.put("prefillMs", prefillMs);
            doc.put("prefillTokensPerSecond", prefillTps);
            doc.put("prefillGflops", prefillGflops);
            doc.put("decodeMsPerToken", decodeMs);
            doc.put("decodeTokensPerSecond", decodeTps);
            doc.put("decodeGbps", decodeGbps);
            doc.put("weights", weights.formats());
            doc.put("weightBytesPerToken", weightBytes);
            if (machineJson != null) {
                doc.put("copyGbps", copyBandwidth(machineJson));
            }
            if (llama != null) {
                doc.put("llamaCpp", Map.of("prefillTokensPerSecond", llama.prefillTps(), "decodeTokensPerSecond",
                        llama.decodeTps(), "threads", llama.threads(), "prefillTest", llama.prefillTest(), "decodeTest",
                        llama.decodeTest()));
            }
            if (clblast != null) {
                doc.put("gemm", gemmJson(gemmRows, clblast, clblastResult, cublasJson));
            }
            doc.put("rounds", rounds);
            json.emit(stdout, doc);
        }
        if (gemmAnchor.equals("clblast") && clblastResult != null && clblastResult.problem() != null) {
            err.println("error: --gemm-anchor clblast: the CLBlast anchor failed (see above).");
            return ExitCodes.DEVICE_FAILURE;
        }
        return ExitCodes.OK;
    }

    /**
     * The prefill GEMM table: gpu-infer's linear kernel and CLBlast's SGEMM on each shape, GFLOP/s and their ratio
     * (gpu-infer's rate over CLBlast's: above 1 gpu-infer is faster). A side whose sampled outputs are wrong shows
     * "wrong" and gets no ratio. Returns the rows for the JSON.
     */
    private List<Map<String, Object>> printGemms(PrintWriter out, List<PrefillGemm> gemms,
                                                 List<LinearGemmBenchmark.Measurement> ours, ClblastAnchor.Lookup clblast,
                                                 ClblastAnchor.Result result, JsonNode cublasJson) {
        out.println();
        out.printf("prefill GEMMs, float32 y[R,N] = x[R,K]·W[N,K]ᵀ alone, wall time per call, median of %d after 1 warm-up:%n",
                gemmRuns);
        out.printf("%-32s %6s %6s %6s %12s %9s %11s %9s %10s%s%n", "GEMM", "R", "N", "K", "gpu-infer ms", "GFLOP/s",
                "CLBlast ms", "GFLOP/s", "x CLBlast", cublasJson == null ? ""
                        : String.format(java.util.Locale.ROOT, " %11s %9s %9s", "cuBLAS ms", "GFLOP/s", "x cuBLAS"));
        List<Map<String, Object>> rows = new ArrayList<>();
        Map<String, String> kernelOptions = new LinkedHashMap<>();
        for (int i = 0; i < gemms.size(); i++) {
            PrefillGemm g = gemms.get(i);
            LinearGemmBenchmark.Measurement m = ours.get(i);
            boolean oursCorrect = m.worstError() <= PrefillGemm.ERROR_LIMIT;
            ClblastAnchor.Row c = result == null ? null : result.row(g).orElse(null);
            boolean both = c != null && c.correct() && oursCorrect;
            double cGflops = c == null ? Double.NaN : g.flops() / (c.medianMillis() * 1e6);
            double ratio = both ? m.gflops() / cGflops : Double.NaN;
            JsonNode cu = findGemm(cublasJson, g);
            double cuMs = cu == null ? Double.NaN : cu.path("median_ms").asDouble(Double.NaN);
            boolean cuCorrect = cu != null && cu.path("worst_error").asDouble(0) <= PrefillGemm.ERROR_LIMIT;
            double cuGflops = g.flops() / (cuMs * 1e6);
            boolean cuRatio = cuCorrect && oursCorrect && Double.isFinite(cuMs) && cuMs > 0;
            String cuCells = cublasJson == null ? "" : String.format(java.util.Locale.ROOT, " %11s %9s %9s",
                    Double.isFinite(cuMs) ? String.format(java.util.Locale.ROOT, "%.4f", cuMs) : "-",
                    !Double.isFinite(cuMs) ? "-" : cuCorrect ? String.format(java.util.Locale.ROOT, "%.1f", cuGflops) : "wrong",
                    cuRatio ? String.format(java.util.Locale.ROOT, "%.2fx", m.gflops() / cuGflops) : "-");
            out.printf("%-32s %6d %6d %6d %12.3f %9s %11s %9s %10s%s%n", g.label(), g.rows(), g.outputs(), g.inputs(),
                    m.medianMillis(), oursCorrect ? String.format(java.util.Locale.ROOT, "%.1f", m.gflops()) : "wrong",
                    c == null ? "-" : String.format(java.util.Locale.ROOT, "%.3f", c.medianMillis()),
                    c == null ? "-" : c.correct() ? String.format(java.util.Locale.ROOT, "%.1f", cGflops) : "wrong",
                    both ? String.format(java.util.Locale.ROOT, "%.2fx", ratio) : "-", cuCells);
            kernelOptions.merge(m.kernels(), m.options(), (a, b) -> a.equals(b) ? a : a + "; " + b);
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("label", g.label());
            row.put("R", g.rows());
            row.put("N", g.outputs());
            row.put("K", g.inputs());
            row.put("gflop", g.flops() / 1e9);
            row.put("gpuInferMedianMs", m.medianMillis());
            row.put("gpuInferRunsMs", m.runsMillis());
            row.put("gpuInferGflops", m.gflops());
            row.put("gpuInferKernels", m.kernels());
            row.put("gpuInferOptions", m.options());
            row.put("gpuInferWorstError", m.worstError());
            row.put("clblastMedianMs", c == null ? null : c.medianMillis());
            row.put("clblastRunsMs", c == null ? null : c.runsMillis());
            row.put("clblastGflops", c == null ? null : cGflops);
            row.put("clblastWorstError", c == null ? null : c.worstError());
            row.put("gpuInferOverClblast", both ? ratio : null);
            if (cublasJson != null) {
                row.put("cublasMedianMs", Double.isFinite(cuMs) ? cuMs : null);
                row.put("cublasGflops", Double.isFinite(cuMs) ? cuGflops : null);
                row.put("cublasWorstError", cu == null ? null : cu.path("worst_error").asDouble(Double.NaN));
                row.put("gpuInferOverCublas", cuRatio ? m.gflops() / cuGflops : null);
            }
            rows.add(row);
        }
        kernelOptions.forEach((kernels, options) -> out.printf("gpu-infer linear: %s, %s%n", kernels, options));
        double oursWorst = ours.stream().mapToDouble(LinearGemmBenchmark.Measurement::worstError).max().orElse(0);
        out.printf("gpu-infer outputs: worst sampled error %.1e of Σ|x·w| (limit %.0e)%n", oursWorst, PrefillGemm.ERROR_LIMIT);
        if (clblast.library().isEmpty()) {
            out.printf("CLBlast anchor: %s; %s%n", clblast.problem(), ClblastAnchor.INSTALL_HINT);
        } else if (result != null) {
            if (!result.rows().isEmpty()) {
                double worst = result.rows().stream().mapToDouble(ClblastAnchor.Row::worstError).max().orElse(0);
                out.printf("CLBlast anchor: CLBlastSgemm (row-major, W transposed) from %s on %s, in a child process "
                                + "(%.1f s with its kernel builds); worst sampled error %.1e of Σ|x·w| (limit %.0e)%n",
                        result.library(), result.device(), result.seconds(), worst, PrefillGemm.ERROR_LIMIT);
            }
            if (result.problem() != null) {
                out.printf("CLBlast anchor failed: %s%n", result.problem());
            }
        }
        if (cublasJson != null) {
            out.printf("cuBLAS anchor: %s (%s)%s%n", cublasJson.path("anchor").asText("?"), cublas,
                    cublasJson.path("tf32").asBoolean(true) ? "; TF32 was ON: not float32 products" : "");
        }
        return rows;
    }

    /** The row of an anchor JSON (tools/anchor_gemm_cuda.py) with this GEMM's R, N and K, or null. */
    private static JsonNode findGemm(JsonNode anchorJson, PrefillGemm g) {
        if (anchorJson == null) {
            return null;
        }
        for (JsonNode row : anchorJson.path("rows")) {
            if (row.path("R").asInt() == g.rows() && row.path("N").asInt() == g.outputs() && row.path("K").asInt() == g.inputs()) {
                return row;
            }
        }
        return null;
    }

    private Map<String, Object> gemmJson(List<Map<String, Object>> rows, ClblastAnchor.Lookup clblast,
                                         ClblastAnchor.Result result, JsonNode cublasJson) {
        Map<String, Object> anchor = new LinkedHashMap<>();
        if (clblast.library().isEmpty()) {
            anchor.put("status", "not found");
            anchor.put("message", clblast.problem() + "; " + ClblastAnchor.INSTALL_HINT);
        } else {
            anchor.put("status", result.problem() == null ? "ok" : "failed");
            anchor.put("message", result.problem());
            anchor.put("library", result.library());
            anchor.put("device", result.device());
            anchor.put("seconds", result.seconds());
        }
        Map<String, Object> gemm = new LinkedHashMap<>();
        gemm.put("layout", "y[R,N] = x[R,K] * W[N,K]^T, float32, row-major");
        gemm.put("warmup", 1);
        gemm.put("runs", gemmRuns);
        gemm.put("clblast", anchor);
        if (cublasJson != null) {
            gemm.put("cublas", Map.of("anchor", cublasJson.path("anchor").asText("?"), "file", cublas.toString(),
                    "tf32", cublasJson.path("tf32").asBoolean(true)));
        }
        gemm.put("rows", rows);
        return gemm;
    }

    /**
     * llama.cpp's llama-bench figures on the same file: the median of the samples of its prefill test (n_prompt &gt; 0,
     * n_gen = 0) and of its decode test (n_gen &gt; 0).
     */
    record LlamaBench(String modelFile, String modelType, int threads, double prefillTps, String prefillTest,
                      double decodeTps, String decodeTest) {
        static LlamaBench read(JsonNode root, Path file) {
            JsonNode prefill = null;
            JsonNode decode = null;
            for (JsonNode test : root) {
                if (test.path("n_gen").asInt() > 0) {
                    decode = test;
                } else if (test.path("n_prompt").asInt() > 0) {
                    prefill = test;
                }
            }
            if (prefill == null || decode == null) {
                throw new InputException(file + ": not llama-bench -o json output with a prefill test (-p N -n 0) and a "
                        + "decode test (-p 0 -n N)");
            }
            return new LlamaBench(decode.path("model_filename").asText(), decode.path("model_type").asText(),
                    decode.path("n_threads").asInt(), median(prefill), "pp" + prefill.path("n_prompt").asInt(), median(decode),
                    "tg" + decode.path("n_gen").asInt() + (decode.path("n_depth").asInt() > 0
                            ? " after " + decode.path("n_depth").asInt() + " tokens" : ""));
        }

        private static double median(JsonNode test) {
            double[] samples = new double[test.path("samples_ts").size()];
            for (int i = 0; i < samples.length; i++) {
                samples[i] = test.path("samples_ts").get(i).asDouble();
            }
            return samples.length == 0 ? test.path("avg_ts").asDouble() : Stats.median(samples);
        }
    }

    /**
     * The machine's copy bandwidth: the best of the anchor's measurements (NumPy copy on one thread and on two),
     * so that ratios against it are not flattered by a single-thread figure.
     */
    static double copyBandwidth(JsonNode machine) {
        return Math.max(machine.path("copy_gbps").asDouble(), machine.path("copy_gbps_2t").asDouble());
    }

    private static JsonNode read(Path file) {
        try {
            return new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new InputException(file + ": not readable JSON (" + e.getMessage() + ")");
        }
    }
}
