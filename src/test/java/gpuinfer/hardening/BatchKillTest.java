package gpuinfer.hardening;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import gpuinfer.cli.Main;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real batch process killed midway (SIGKILL: no shutdown hook runs) and run again: the results file then holds
 * every request exactly once, and the same results as a run that was never interrupted.
 */
class BatchKillTest {
    private static final int REQUESTS = 200;
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path dir;

    private Process start(Path in, Path out, Path log) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path")));
        if (System.getProperty("gpuinfer.cacheDir") != null) {
            command.add(1, "-Dgpuinfer.cacheDir=" + System.getProperty("gpuinfer.cacheDir"));
        }
        command.addAll(List.of(Main.class.getName(), "run", "--impl", "opencl", "--requests", in.toString(),
                "--results", out.toString(), "--batch", "8"));
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    @Test
    void aKilledBatchResumesToEveryIdOnceAndTheUninterruptedResults() throws Exception {
        OpenClTestSupport.device("lwjgl");
        String[] starts = {"The man said", "It was a", "In the morning", "She looked at the", "When the war", "The city of"};
        StringBuilder requests = new StringBuilder();
        for (int i = 0; i < REQUESTS; i++) {
            requests.append(String.format("{\"id\": \"k%d\", \"prompt\": \"%s%s\", \"max_tokens\": %d%s}%n", i,
                    starts[i % starts.length], " old".repeat(i % 5), 8 + i * 13 % 33,
                    i % 2 == 1 ? ", \"temperature\": 0.8, \"seed\": " + i : ""));
        }
        Path in = dir.resolve("in.jsonl");
        Files.writeString(in, requests);

        Path whole = dir.resolve("whole.jsonl");
        StringWriter err = new StringWriter();
        assertEquals(0, Main.execute(new PrintWriter(new StringWriter()), new PrintWriter(err), "run", "--impl", "opencl",
                "--requests", in.toString(), "--results", whole.toString(), "--batch", "8"), err::toString);

        Path out = dir.resolve("out.jsonl");
        Process p = start(in, out, dir.resolve("first.log"));
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (lines(out) < 30 && p.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        p.destroyForcibly(); // SIGKILL, possibly inside a write
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        int atKill = lines(out);
        assertTrue(atKill >= 30 && atKill < REQUESTS, atKill + " lines when killed: the kill must come midway\n"
                + Files.readString(dir.resolve("first.log")));

        Process again = start(in, out, dir.resolve("second.log"));
        assertTrue(again.waitFor(120, TimeUnit.SECONDS), "the rerun finished");
        String log = Files.readString(dir.resolve("second.log"));
        assertEquals(0, again.exitValue(), log);
        assertTrue(log.contains(atKill + " done before") || log.contains("torn line"), log);
        Map<String, ObjectNode> resumed = byId(out);
        assertEquals(REQUESTS, resumed.size());
        assertEquals(byId(whole), resumed);
    }

    private static int lines(Path file) throws IOException {
        if (!Files.exists(file)) {
            return 0;
        }
        byte[] bytes = Files.readAllBytes(file);
        int n = 0;
        for (byte b : bytes) {
            n += b == '\n' ? 1 : 0;
        }
        return n;
    }

    /** Every line by id, timings left out; fails on an id that appears twice or a line that is not JSON. */
    private static Map<String, ObjectNode> byId(Path results) throws IOException {
        Map<String, ObjectNode> all = new LinkedHashMap<>();
        for (String line : Files.readAllLines(results, StandardCharsets.UTF_8)) {
            ObjectNode r = (ObjectNode) JSON.readTree(line);
            r.remove("timings");
            assertEquals(null, all.put(r.get("id").asText(), r), "id " + r.get("id") + " twice");
        }
        return all;
    }
}
