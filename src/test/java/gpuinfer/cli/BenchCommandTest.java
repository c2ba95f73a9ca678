package gpuinfer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.bench.ClblastAnchor;
import gpuinfer.bench.PrefillGemm;
import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What {@code gpu-infer bench attention} and {@code bench run} print: the table's columns and rows, figures that are
 * positive, finite and consistent with each other and with the --json file, the anchors' columns (a PyTorch anchor
 * JSON, the machine's limits, and the CLBlast GEMM anchor when libclblast is installed or the line saying how to get
 * it when not). Small shapes and the bundled model: seconds each.
 */
@ExtendWith(NoLeaks.class)
class BenchCommandTest {
    @TempDir
    Path dir;

    /** The device the tests run on, as the command line takes it. */
    private static String device() {
        return System.getenv().getOrDefault("GPU_INFER_TEST_DEVICE", "auto");
    }

    private static JsonNode readJson(Path file) throws Exception {
        return new ObjectMapper().readTree(file.toFile());
    }

    private static void assertPositive(JsonNode node, String field) {
        assertTrue(node.has(field), () -> "missing " + field + " in " + node);
        double v = node.get(field).asDouble();
        assertTrue(node.get(field).isNumber() && Double.isFinite(v) && v > 0, () -> field + " = " + node.get(field));
    }

    private static void assertClose(double want, double got, double relative, String what) {
        assertTrue(Math.abs(got - want) <= relative * Math.abs(want), what + ": " + got + " vs " + want);
    }

    /** A printed figure equals {@code want} to its printed precision (half a unit in its last digit). */
    private static void assertPrinted(double want, String printed, String what) {
        String digits = printed.endsWith("x") ? printed.substring(0, printed.length() - 1) : printed;
        int dot = digits.indexOf('.');
        double halfUnit = 0.5 * Math.pow(10, dot < 0 ? 0 : -(digits.length() - dot - 1));
        assertEquals(want, Double.parseDouble(digits), halfUnit * (1 + 1e-9), what + ": printed " + printed);
    }

    /** The whitespace-separated cells after a row's label ("prefill S=64", "q/k/v (fused)"). */
    private static List<String> cells(String output, String label) {
        for (String line : output.split("\\R")) {
            if (line.startsWith(label + " ")) {
                return Arrays.asList(line.substring(label.length()).trim().split("\\s+"));
            }
        }
        throw new AssertionError("no row '" + label + "' in:\n" + output);
    }

    // ---- bench attention --------------------------------------------------------------------------------------

    @Test
    void benchAttentionPrintsOneRowPerShapeBesideTheAnchorAndTheMachine() throws Exception {
        OpenClTestSupport.device("lwjgl");
        // an anchor JSON as tools/anchor_sdpa_cuda.py writes it: one matching prefill row, one matching decode row,
        // one of another head count that must not be used
        Path anchor = dir.resolve("anchor.json");
        Files.writeString(anchor, """
                {"anchor": "test", "rows": [
                  {"name": "prefill S=64", "H": 2, "D": 16, "Sq": 64, "Sk": 64, "median_ms": 0.5, "gflops": 1.0},
                  {"name": "decode Sk=96", "H": 3, "D": 16, "Sq": 1, "Sk": 96, "median_ms": 99.0, "gflops": 1.0},
                  {"name": "decode Sk=96", "H": 2, "D": 16, "Sq": 1, "Sk": 96, "median_ms": 0.25, "gflops": 2.0}]}
                """);
        Path machine = dir.resolve("machine.json");
        Files.writeString(machine, "{\"sgemm_gflops\": 100.0, \"blas\": \"test\", \"copy_gbps\": 10.0, \"copy_gbps_2t\": 20.0}");
        Path json = dir.resolve("bench.json");
        CliRunner r = CliRunner.run("bench", "attention", "--sizes", "64", "--decode-lengths", "96", "--heads", "2", "--head-dim",
                "16", "--repeat", "3", "--warmup", "1", "--anchor", anchor.toString(), "--machine", machine.toString(),
                "--json-out", json.toString(), "--device", device());
        assertEquals(0, r.status(), r::toString);
        String out = r.out();
        assertTrue(out.contains("B=1 H=2 D=16 causal float32; median of 3 runs after 1 warm-up"), out);
        assertTrue(out.contains("machine: SGEMM 100 GFLOP/s (test), copy bandwidth 20.0 GB/s"), out);
        assertTrue(Pattern.compile("shape\\s+flash ms\\s+GFLOP/s\\s+naive ms\\s+x naive\\s+anchor ms\\s+anchor GF\\s+x anchor\\s+K\\+V GB/s")
                .matcher(out).find(), out);

        JsonNode doc = readJson(json);
        assertEquals(2, doc.get("heads").asInt());
        assertEquals(16, doc.get("headDim").asInt());
        assertFalse(doc.get("device").asText().isBlank());
        JsonNode rows = doc.get("rows");
        assertEquals(2, rows.size());
        for (JsonNode row : rows) {
            boolean decode = row.get("Sq").asInt() == 1;
            String name = decode ? "decode Sk=96" : "prefill S=64";
            assertEquals(name, row.get("name").asText());
            for (String field : List.of("flash_median_ms", "flash_gflops", "naive_median_ms", "anchor_median_ms")) {
                assertPositive(row, field);
            }
            assertEquals(3, row.get("flash_runs_ms").size());
            assertEquals(3, row.get("flash_kernel_ms").size());
            assertFalse(row.get("flash_kernels").asText().isBlank(), row::toString);
            assertTrue(row.get("flash_options").asText().contains("-D"), row::toString);
            // GFLOP/s from the documented work: 2*B*H*S*S*D for causal prefill, 4*B*H*Sk*D for decode
            double flops = decode ? 4.0 * 2 * 96 * 16 : 2.0 * 2 * 64 * 64 * 16;
            double ms = row.get("flash_median_ms").asDouble();
            assertClose(flops / (ms * 1e6), row.get("flash_gflops").asDouble(), 1e-9, name + " GFLOP/s");
            if (decode) {
                assertPositive(row, "kv_gbps");
                assertClose(2.0 * 4 * 2 * 96 * 16 / (ms * 1e6), row.get("kv_gbps").asDouble(), 1e-9, "K+V GB/s");
                assertEquals(0.25, row.get("anchor_median_ms").asDouble(), "the anchor row of the same H and D");
            } else {
                assertTrue(row.get("kv_gbps").isNull());
                assertEquals(0.5, row.get("anchor_median_ms").asDouble());
            }

            // the printed row says the same: flash ms, GFLOP/s, naive ms, x naive, anchor ms, anchor GF, x anchor
            List<String> c = cells(out, name);
            assertEquals(decode ? 8 : 7, c.size(), () -> name + ": " + c);
            assertPrinted(ms, c.get(0), name + " flash ms");
            assertPrinted(row.get("flash_gflops").asDouble(), c.get(1), name + " GFLOP/s");
            assertPrinted(row.get("naive_median_ms").asDouble(), c.get(2), name + " naive ms");
            assertPrinted(row.get("naive_median_ms").asDouble() / ms, c.get(3), name + " x naive");
            assertEquals(decode ? "0.25" : "0.50", c.get(4));
            assertEquals(decode ? "2.00" : "1.00", c.get(5));
            assertPrinted(row.get("anchor_median_ms").asDouble() / ms, c.get(6), name + " x anchor");
            if (decode) {
                assertPrinted(row.get("kv_gbps").asDouble(), c.get(7), name + " K+V GB/s");
            }
        }
        Matcher options = Pattern.compile("(?m)^flash options: (.*-D.*)$").matcher(out);
        assertTrue(options.find(), out);
        // the machine's limits: a share of the SGEMM rate for prefill, of the copy bandwidth for decode
        assertTrue(Pattern.compile("prefill S=64: [0-9.]+ GFLOP/s = [0-9]+% of the measured SGEMM rate").matcher(out).find(), out);
        assertTrue(Pattern.compile("decode Sk=96: K\\+V read at [0-9.]+ GB/s = [0-9]+% of the measured copy bandwidth").matcher(out).find(), out);
    }

    @Test
    void benchAttentionRunsTheGpuShapedVariantsWithoutNaiveOrAnchor() throws Exception {
        OpenClTestSupport.device("lwjgl");
        Path json = dir.resolve("gpu.json");
        CliRunner r = CliRunner.run("bench", "attention", "--sizes", "48", "--decode-lengths", "80", "--heads", "2", "--head-dim",
                "32", "--repeat", "2", "--warmup", "0", "--no-naive", "--kernels", "gpu", "--json-out", json.toString(),
                "--device", device());
        assertEquals(0, r.status(), r::toString);
        for (JsonNode row : readJson(json).get("rows")) {
            assertTrue(row.get("naive_median_ms").isNull() && row.get("anchor_median_ms").isNull(), row::toString);
            assertPositive(row, "flash_median_ms");
            assertPositive(row, "flash_gflops");
            assertTrue(row.get("flash_options").asText().contains("-DHEAD_DIM=32"), row::toString);
            List<String> c = cells(r.out(), row.get("name").asText());
            assertPrinted(row.get("flash_median_ms").asDouble(), c.get(0), row.get("name").asText());
            assertEquals(List.of("-", "-", "-", "-", "-"), c.subList(2, 7), "no naive and no anchor columns: " + c);
        }
        assertEquals(List.of("prefill S=48", "decode Sk=80"),
                List.of(readJson(json).get("rows").get(0).get("name").asText(), readJson(json).get("rows").get(1).get("name").asText()));
        assertEquals(2, CliRunner.run("bench", "attention", "--repeat", "0").status());
        assertEquals(2, CliRunner.run("bench", "attention", "--sizes", "64", "--kernels", "tpu").status());
    }

    /**
     * bench attention --rings: the N = 1 anchor and, per kind of rank, zigzag and contiguous (and low memory on the
     * first kind), with figures that agree with each other and with the JSON: speed-up T1/TN, efficiency T1/(N TN),
     * zigzag balanced and contiguous not, the low-memory rank smaller.
     */
    @Test
    void benchAttentionRingPrintsEfficiencyTransferShareAndBalanceBesideTheWholeDevice() throws Exception {
        OpenClTestSupport.device("lwjgl");
        Path json = dir.resolve("ring.json");
        CliRunner r = CliRunner.run("bench", "attention", "--rings", "2", "--ring-kinds", "queues,contexts", "--sizes",
                "96", "--heads", "2", "--head-dim", "16", "--repeat", "3", "--warmup", "1", "--json-out", json.toString(),
                "--device", device());
        assertEquals(0, r.status(), r::toString);
        List<JsonNode> rows = new ArrayList<>();
        readJson(json).get("rows").forEach(rows::add);
        List<String> configs = rows.stream().map(row -> row.get("ranks").asInt() + " " + row.get("kind").asText() + " "
                + row.get("layout").asText() + " " + row.get("memory").asText()).toList();
        assertEquals(List.of("1 whole device - -", "2 queues zigzag overlap", "2 queues contiguous overlap",
                "2 queues zigzag low", "2 contexts zigzag overlap", "2 contexts contiguous overlap"), configs);
        double t1 = rows.get(0).get("median_ms").asDouble();
        for (JsonNode row : rows.subList(1, rows.size())) {
            double tn = row.get("median_ms").asDouble();
            assertClose(t1 / tn, row.get("speed_up").asDouble(), 1e-9, "speed-up");
            assertClose(t1 / (2 * tn), row.get("efficiency").asDouble(), 1e-9, "efficiency");
            double share = row.get("transfer_share").asDouble();
            assertTrue(share > 0 && share < 1, row::toString);
            double work = row.get("work_max_over_min").asDouble();
            assertTrue(row.get("layout").asText().equals("zigzag") ? Math.abs(work - 1) < 0.05 : work > 2.5, row::toString);
            String line = r.out().lines().filter(l -> l.matches("\\s+96\\s+2\\s+" + row.get("kind").asText() + "\\s+"
                    + row.get("layout").asText() + "\\s+" + row.get("memory").asText() + "\\s.*")).findFirst().orElseThrow(
                    () -> new AssertionError("no row for " + row + " in\n" + r));
            List<String> c = Arrays.asList(line.trim().split("\\s+"));
            assertPrinted(tn, c.get(5), "median ms");
            assertPrinted(row.get("speed_up").asDouble(), c.get(6), "speed-up");
            assertPrinted(row.get("efficiency").asDouble(), c.get(7), "efficiency");
            assertPrinted(100 * share, c.get(8).replace("%", ""), "transfer share");
            assertPrinted(work, c.get(9), "work max/min");
        }
        assertTrue(rows.get(3).get("rank_bytes").asLong() < rows.get(1).get("rank_bytes").asLong(), "low memory is smaller");
        assertTrue(rows.get(1).get("rank_bytes").asLong() < rows.get(0).get("rank_bytes").asLong(), "a rank holds less than one device");
        assertEquals(2, CliRunner.run("bench", "attention", "--rings", "1", "--sizes", "64").status());
        assertEquals(2, CliRunner.run("bench", "attention", "--rings", "2", "--ring-kinds", "gpus", "--sizes", "64").status());
    }

    // ---- bench run ------------------------------------------------------------------------------------------

    /** The bundled model (4 layers, C=128, vocab 4096, MLP 4C), a 16-token prompt (the packed prefill path). */
    private static final int C = 128;
    private static final int V = 4096;
    private static final int T = 16;

    private static List<String> benchRun(Path json, String... extra) {
        List<String> args = new ArrayList<>(List.of("bench", "run", "--prompt-tokens", "" + T, "--decode-tokens", "3",
                "--repeat", "2", "--gemm-runs", "2", "--json-out", json.toString(), "--device", device()));
        args.addAll(List.of(extra));
        return args;
    }

    /** label -> {R, N, K}: the bundled GPT-2's prefill products, from its configuration (not from the code under test). */
    private static Map<String, int[]> expectedGemms() {
        Map<String, int[]> m = new LinkedHashMap<>();
        m.put("q/k/v (fused)", new int[] {T, 3 * C, C});
        m.put("attention out", new int[] {T, C, C});
        m.put("mlp up", new int[] {T, 4 * C, C});
        m.put("mlp down", new int[] {T, C, 4 * C});
        m.put("head (every row)", new int[] {T, V, C});
        return m;
    }

    /** Checks the model figures and our side of the GEMM table in text and JSON; returns the JSON. */
    private JsonNode checkBenchRun(CliRunner r, Path json) throws Exception {
        assertEquals(0, r.status(), r::toString);
        String out = r.out();
        assertTrue(out.contains("4 layers, C=128, 4 heads, vocab 4096"), out);
        assertTrue(out.contains("median of 2 rounds after 1 warm-up"), out);
        JsonNode doc = readJson(json);
        for (String field : List.of("prefillMs", "prefillTokensPerSecond", "prefillGflops", "decodeMsPerToken",
                "decodeTokensPerSecond", "decodeGbps", "weightBytesPerToken")) {
            assertPositive(doc, field);
        }
        assertEquals(T, doc.get("promptTokens").asInt());
        assertEquals(3, doc.get("decodeTokens").asInt());
        assertEquals(2, doc.get("rounds").size());
        assertClose(T / (doc.get("prefillMs").asDouble() / 1e3), doc.get("prefillTokensPerSecond").asDouble(), 1e-9, "prefill tok/s");
        assertClose(1e3 / doc.get("decodeMsPerToken").asDouble(), doc.get("decodeTokensPerSecond").asDouble(), 1e-9, "decode tok/s");
        List<String> main = cells(out, "gpu-infer (OpenCL)");
        assertEquals(3, main.size(), main::toString);
        assertPrinted(doc.get("prefillTokensPerSecond").asDouble(), main.get(0), "prefill tok/s");
        assertPrinted(doc.get("decodeTokensPerSecond").asDouble(), main.get(1), "decode tok/s");
        assertPrinted(doc.get("decodeMsPerToken").asDouble(), main.get(2), "decode ms");
        assertTrue(Pattern.compile("(?m)^prefill: [0-9.]+ GFLOP/s$").matcher(out).find(), out);
        assertTrue(Pattern.compile("(?m)^decode: [0-9.]+ MB of weights per token read at [0-9.]+ GB/s$").matcher(out).find(), out);

        // the GEMM table: header, one row per distinct product, our kernel's line
        assertTrue(out.contains("prefill GEMMs, float32 y[R,N] = x[R,K]·W[N,K]ᵀ alone, wall time per call, median of 2 after 1 warm-up:"), out);
        assertTrue(Pattern.compile("GEMM\\s+R\\s+N\\s+K\\s+gpu-infer ms\\s+GFLOP/s\\s+CLBlast ms\\s+GFLOP/s\\s+x CLBlast")
                .matcher(out).find(), out);
        JsonNode gemm = doc.get("gemm");
        assertEquals(2, gemm.get("runs").asInt());
        assertEquals(1, gemm.get("warmup").asInt());
        JsonNode rows = gemm.get("rows");
        Map<String, int[]> expected = expectedGemms();
        assertEquals(expected.size(), rows.size(), rows::toString);
        int i = 0;
        for (Map.Entry<String, int[]> e : expected.entrySet()) {
            JsonNode row = rows.get(i++);
            assertEquals(e.getKey(), row.get("label").asText());
            int[] rnk = {row.get("R").asInt(), row.get("N").asInt(), row.get("K").asInt()};
            assertEquals(Arrays.toString(e.getValue()), Arrays.toString(rnk), e.getKey());
            double flops = 2.0 * rnk[0] * rnk[1] * rnk[2];
            assertPositive(row, "gpuInferMedianMs");
            assertEquals(2, row.get("gpuInferRunsMs").size());
            assertClose(flops / (row.get("gpuInferMedianMs").asDouble() * 1e6), row.get("gpuInferGflops").asDouble(), 1e-9,
                    e.getKey() + " GFLOP/s");
            assertTrue(row.get("gpuInferWorstError").asDouble() <= PrefillGemm.ERROR_LIMIT, row::toString);
            assertFalse(row.get("gpuInferKernels").asText().isBlank(), row::toString);
            assertTrue(row.get("gpuInferOptions").asText().contains("-DWTYPE="), row::toString);
            List<String> c = cells(out, e.getKey());
            assertEquals(List.of("" + rnk[0], "" + rnk[1], "" + rnk[2]), c.subList(0, 3), e.getKey());
            assertPrinted(row.get("gpuInferMedianMs").asDouble(), c.get(3), e.getKey() + " ms");
            assertPrinted(row.get("gpuInferGflops").asDouble(), c.get(4), e.getKey() + " GFLOP/s");
        }
        assertTrue(Pattern.compile("(?m)^gpu-infer linear: \\S+, -DWTYPE=0 .*$").matcher(out).find(), out);
        assertTrue(Pattern.compile("(?m)^gpu-infer outputs: worst sampled error [0-9.e+-]+ of Σ\\|x·w\\| \\(limit 1e-05\\)$")
                .matcher(out).find(), out);
        return doc;
    }

    @Test
    void benchRunPrintsPrefillDecodeAndTheGemmsBesideClblast() throws Exception {
        OpenClTestSupport.device("lwjgl");
        ClblastAnchor.Lookup clblast = ClblastAnchor.locate();
        if ("true".equals(System.getenv("CI"))) {
            // CI installs it (.ci/run): the anchor is part of what is tested there, not optional
            assertTrue(clblast.library().isPresent(), () -> "CI=true requires CLBlast (" + clblast.problem()
                    + "): apt-get install libclblast1");
        }
        Assumptions.assumeTrue(clblast.library().isPresent(), () -> "CLBlast is not installed (" + clblast.problem()
                + "): apt-get install libclblast1");
        Path json = dir.resolve("run.json");
        CliRunner r = CliRunner.run(benchRun(json, "--gemm-anchor", "clblast").toArray(String[]::new));
        JsonNode doc = checkBenchRun(r, json);
        JsonNode anchor = doc.get("gemm").get("clblast");
        assertEquals("ok", anchor.get("status").asText(), anchor::toString);
        assertTrue(Files.isRegularFile(Path.of(anchor.get("library").asText())), anchor::toString);
        assertPositive(anchor, "seconds");
        for (JsonNode row : doc.get("gemm").get("rows")) {
            String label = row.get("label").asText();
            assertPositive(row, "clblastMedianMs");
            assertPositive(row, "clblastGflops");
            assertPositive(row, "gpuInferOverClblast");
            assertEquals(2, row.get("clblastRunsMs").size());
            assertTrue(row.get("clblastWorstError").asDouble() <= PrefillGemm.ERROR_LIMIT, row::toString);
            double flops = 2.0 * row.get("R").asInt() * row.get("N").asInt() * row.get("K").asInt();
            assertClose(flops / (row.get("clblastMedianMs").asDouble() * 1e6), row.get("clblastGflops").asDouble(), 1e-9, label);
            assertClose(row.get("gpuInferGflops").asDouble() / row.get("clblastGflops").asDouble(),
                    row.get("gpuInferOverClblast").asDouble(), 1e-9, label + " ratio");
            List<String> c = cells(r.out(), label);
            assertEquals(8, c.size(), c::toString);
            assertPrinted(row.get("clblastMedianMs").asDouble(), c.get(5), label + " CLBlast ms");
            assertPrinted(row.get("clblastGflops").asDouble(), c.get(6), label + " CLBlast GFLOP/s");
            assertPrinted(row.get("gpuInferOverClblast").asDouble(), c.get(7), label + " ratio");
        }
        assertTrue(Pattern.compile("(?m)^CLBlast anchor: CLBlastSgemm \\(row-major, W transposed\\) from \\S*libclblast\\S* on .+, "
                + "in a child process \\([0-9.]+ s with its kernel builds\\); worst sampled error [0-9.e+-]+ of Σ\\|x·w\\| \\(limit 1e-05\\)$")
                .matcher(r.out()).find(), r::toString);
        assertFalse(r.out().contains("CLBlast anchor failed"), r::toString);
    }

    @Test
    void benchRunSaysHowToGetClblastWhenItIsMissingAndKeepsItsOwnFigures() throws Exception {
        OpenClTestSupport.device("lwjgl");
        Path missing = dir.resolve("no-such-dir").resolve("libclblast.so.1");
        String before = System.getProperty(ClblastAnchor.LIBRARY_PROPERTY);
        System.setProperty(ClblastAnchor.LIBRARY_PROPERTY, missing.toString());
        try {
            // a cuBLAS anchor (tools/anchor_gemm_cuda.py's rows): one good row, one whose check failed, the rest absent
            Path cublas = dir.resolve("cublas.json");
            Files.writeString(cublas, """
                    {"anchor": "test anchor", "tf32": false, "rows": [
                      {"label": "q/k/v (fused)", "R": 16, "N": 384, "K": 128, "median_ms": 0.0125, "worst_error": 1e-7},
                      {"label": "mlp up", "R": 16, "N": 512, "K": 128, "median_ms": 0.01, "worst_error": 0.5}]}
                    """);
            Path json = dir.resolve("run.json");
            CliRunner r = CliRunner.run(benchRun(json, "--cublas", cublas.toString()).toArray(String[]::new));
            JsonNode doc = checkBenchRun(r, json);
            assertTrue(Pattern.compile("x CLBlast\\s+cuBLAS ms\\s+GFLOP/s\\s+x cuBLAS").matcher(r.out()).find(), r::toString);
            assertTrue(r.out().contains("cuBLAS anchor: test anchor (" + cublas + ")"), r::toString);
            JsonNode qkv = doc.get("gemm").get("rows").get(0);
            assertEquals(0.0125, qkv.get("cublasMedianMs").asDouble());
            assertClose(2.0 * 16 * 384 * 128 / 0.0125e6, qkv.get("cublasGflops").asDouble(), 1e-9, "cuBLAS GFLOP/s");
            assertClose(qkv.get("gpuInferGflops").asDouble() / qkv.get("cublasGflops").asDouble(),
                    qkv.get("gpuInferOverCublas").asDouble(), 1e-9, "x cuBLAS");
            List<String> qkvCells = cells(r.out(), "q/k/v (fused)");
            assertEquals(List.of("0.0125", "125.8"), qkvCells.subList(8, 10), "2·16·384·128 / 0.0125 ms");
            assertPrinted(qkv.get("gpuInferOverCublas").asDouble(), qkvCells.get(10), "x cuBLAS");
            assertEquals(List.of("0.0100", "wrong", "-"), cells(r.out(), "mlp up").subList(8, 11), "a failed check, no ratio");
            assertTrue(doc.get("gemm").get("rows").get(2).get("gpuInferOverCublas").isNull());
            assertEquals(List.of("-", "-", "-"), cells(r.out(), "mlp down").subList(8, 11), "no such row in the anchor");
            assertTrue(r.out().contains("CLBlast anchor: " + missing + " (GPU_INFER_CLBLAST_LIBRARY) not found; "
                    + "apt-get install libclblast1, or name the library with GPU_INFER_CLBLAST_LIBRARY"), r::toString);
            JsonNode anchor = doc.get("gemm").get("clblast");
            assertEquals("not found", anchor.get("status").asText());
            assertTrue(anchor.get("message").asText().contains("apt-get install libclblast1"), anchor::toString);
            for (JsonNode row : doc.get("gemm").get("rows")) {
                assertTrue(row.get("clblastMedianMs").isNull() && row.get("gpuInferOverClblast").isNull(), row::toString);
                assertEquals(List.of("-", "-", "-"), cells(r.out(), row.get("label").asText()).subList(5, 8));
            }

            // asked for by name, a missing CLBlast is an error before anything runs
            CliRunner required = CliRunner.run(benchRun(dir.resolve("x.json"), "--gemm-anchor", "clblast").toArray(String[]::new));
            assertEquals(2, required.status(), required::toString);
            assertTrue(required.err().contains("--gemm-anchor clblast: " + missing + " (GPU_INFER_CLBLAST_LIBRARY) not found"),
                    required::toString);
            assertFalse(Files.exists(dir.resolve("x.json")));
        } finally {
            if (before == null) {
                System.clearProperty(ClblastAnchor.LIBRARY_PROPERTY);
            } else {
                System.setProperty(ClblastAnchor.LIBRARY_PROPERTY, before);
            }
        }
    }

    @Test
    void benchRunWithoutTheGemmAnchorPrintsNoGemmTable() throws Exception {
        OpenClTestSupport.device("lwjgl");
        Path json = dir.resolve("none.json");
        CliRunner r = CliRunner.run("bench", "run", "--prompt-tokens", "4", "--decode-tokens", "2", "--repeat", "1",
                "--gemm-anchor", "none", "--kernel-shares", "--json-out", json.toString(), "--device", device());
        assertEquals(0, r.status(), r::toString);
        assertFalse(r.out().contains("prefill GEMMs") || r.out().contains("CLBlast"), r::toString);
        assertFalse(readJson(json).has("gemm"));
        // --kernel-shares: one line per decode kernel, shares that add up to 100 %
        Matcher share = Pattern.compile("(?m)^  \\S+ \\[[0-9, ]+\\]\\s+\\d+ calls\\s+[0-9.]+ ms/step\\s+([0-9.]+)%").matcher(r.out());
        double total = 0;
        int kernels = 0;
        while (share.find()) {
            total += Double.parseDouble(share.group(1));
            kernels++;
        }
        assertTrue(kernels >= 5, r::toString);
        assertEquals(100, total, 0.1 * kernels, r::toString);

        assertEquals(2, CliRunner.run("bench", "run", "--gemm-anchor", "cublas").status());
        assertEquals(2, CliRunner.run("bench", "run", "--gemm-runs", "0").status());
        assertEquals(2, CliRunner.run("bench", "run", "--gemm-anchor", "none", "--cublas", dir.resolve("c.json").toString()).status());
    }

    @Test
    void benchBatchPrintsEachBatchSizeAndItsSpeedUpOverTheFirst() throws Exception {
        OpenClTestSupport.device("lwjgl");
        Path json = dir.resolve("batch.json");
        CliRunner r = CliRunner.run("bench", "batch", "--request-count", "5", "--prompt-tokens", "3", "--max-tokens", "4",
                "--batches", "1,4", "--repeat", "1", "--warmup", "1", "--json-out", json.toString(), "--device", device());
        assertEquals(0, r.status(), r::toString);
        assertTrue(r.out().contains("speed-up over batch 1"), r::toString);
        JsonNode rows = readJson(json).get("results");
        assertEquals(2, rows.size());
        assertEquals(1.0, rows.get(0).get("speedup").doubleValue(), 1e-12);
        for (JsonNode row : rows) {
            // 5 requests x 4 tokens in the median round's time
            assertEquals(20 / row.get("medianSeconds").doubleValue(), row.get("generatedTokensPerSecond").doubleValue(), 1e-6);
            assertTrue(row.get("prefillMillisPerPrompt").doubleValue() > 0, row::toString);
            assertTrue(row.get("decodeStepMillis").doubleValue() > 0, row::toString);
        }
        // each request's first token comes from its prefill, then 3 decode steps: alone 15 steps of 1 sequence; at
        // batch 4, 3 steps of 4 and then 3 of the fifth request alone
        assertEquals(1.0, rows.get(0).get("sequencesPerDecodeStep").doubleValue(), 0.0);
        assertEquals(15.0 / 6, rows.get(1).get("sequencesPerDecodeStep").doubleValue(), 0.0);
        assertTrue(r.out().contains("decode step ms"), r::toString);
        assertEquals(2, CliRunner.run("bench", "batch", "--batches", "1,17").status());
        assertEquals(2, CliRunner.run("bench", "batch", "--max-tokens", "300").status());
    }
}
