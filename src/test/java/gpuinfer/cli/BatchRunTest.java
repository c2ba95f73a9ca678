package gpuinfer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import gpuinfer.batch.Shard;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code gpu-infer run --requests}: results as JSONL, failed lines recorded, duplicate ids refused, resuming after a
 * torn last line, shards and their merge; on the CPU reference (the engine's identity with single runs is
 * BatchEngineTest's; the real kill is BatchKillTest's).
 */
class BatchRunTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path dir;

    /** Requests of the bundled model: varied prompts and budgets, sampled and greedy, one with a stop text. */
    static String requests(int n) {
        String[] starts = {"The man said", "It was a", "In the morning", "She looked at the", "When the war", ""};
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < n; i++) {
            s.append("{\"id\": \"q").append(i).append("\", \"prompt\": \"").append(starts[i % starts.length])
                    .append(" old".repeat(i % 4)).append("\", \"max_tokens\": ").append(2 + i * 5 % 13);
            if (i % 3 == 1) {
                s.append(", \"temperature\": 0, \"seed\": ").append(i);
            }
            if (i % 7 == 3) {
                s.append(", \"stop\": [\"e\"]");
            }
            s.append("}\n");
        }
        return s.toString();
    }

    private static CliRunner batch(Path in, Path out, String... more) {
        List<String> args = new ArrayList<>(List.of("run", "--impl", "cpu", "--requests", in.toString(), "--results",
                out.toString()));
        args.addAll(List.of(more));
        return CliRunner.run(args.toArray(String[]::new));
    }

    /** The result lines by id, without their timings (which differ between runs). */
    static Map<String, JsonNode> byId(Path results) throws IOException {
        Map<String, JsonNode> all = new LinkedHashMap<>();
        for (String line : Files.readAllLines(results, StandardCharsets.UTF_8)) {
            ObjectNode r = (ObjectNode) JSON.readTree(line);
            r.remove("timings");
            assertEquals(null, all.put(r.get("id").isNull() ? "line " + r.get("line") : r.get("id").asText(), r),
                    "one line per id: " + line);
        }
        return all;
    }

    @Test
    void everyRequestGetsOneWholeResultLineAndBadLinesAreRecordedNotFatal() throws IOException {
        Path in = dir.resolve("in.jsonl");
        Files.writeString(in, requests(6) + "\n{\"id\": 7, \"prompt\": \"x\", \"temperatur\": 1}\nnot json\n"
                + "{\"id\": \"long\", \"prompt\": \"x\", \"max_tokens\": 999}\n{\"prompt\": \"no id\"}\n");
        Path out = dir.resolve("out.jsonl");
        CliRunner r = batch(in, out, "--batch", "3", "--json");
        assertEquals(0, r.status(), r::toString);
        Map<String, JsonNode> results = byId(out);
        assertEquals(10, results.size(), results::toString);
        JsonNode q0 = results.get("q0");
        assertEquals(1, q0.get("line").intValue());
        assertEquals(q0.get("token_ids").size(), q0.get("generated_tokens").intValue());
        assertTrue(List.of("max-tokens", "end-of-text", "stop-text").contains(q0.get("finish_reason").asText()), q0::toString);
        JsonNode unknown = results.get("7");
        assertEquals(7, unknown.get("id").intValue(), "a number id stays a number");
        assertEquals("error", unknown.get("finish_reason").asText());
        assertTrue(unknown.get("error").asText().contains("\"temperatur\""), unknown::toString);
        JsonNode notJson = results.get("line 9");
        assertTrue(notJson.get("error").asText().contains("line 9 is not JSON"), notJson::toString);
        assertTrue(results.get("long").get("error").asText().contains("context length 256"), results::toString);
        assertTrue(results.get("line 11").get("error").asText().contains("no \"id\""), results::toString);
        JsonNode report = JSON.readTree(r.out());
        assertEquals(4, report.get("failed").intValue());
        assertEquals(6, report.get("completed").intValue());
        assertTrue(report.get("generatedTokensPerSecond").doubleValue() > 0, r::toString);
        assertTrue(r.err().contains("requests 10/10 (100%)"), r::toString);
        // what a single run of the same request gives
        CliRunner single = CliRunner.run("run", "--impl", "cpu", "--prompt", "It was a old", "--max-tokens", "7",
                "--temperature", "0", "--seed", "1", "--json");
        JsonNode alone = JSON.readTree(single.out()).get("completions").get(0);
        assertEquals(alone.get("generatedIds"), results.get("q1").get("token_ids"));
        assertEquals(alone.get("text"), results.get("q1").get("text"));
    }

    @Test
    void duplicateIdsAreRefusedBeforeAnythingRuns() throws IOException {
        Path in = dir.resolve("in.jsonl");
        Files.writeString(in, requests(3) + "{\"id\": \"q1\", \"prompt\": \"again\"}\n");
        Path out = dir.resolve("out.jsonl");
        CliRunner r = batch(in, out);
        assertEquals(2, r.status(), r::toString);
        assertTrue(r.err().contains("duplicate request id: 'q1' (lines 2, 4)"), r::toString);
        assertFalse(Files.exists(out), "nothing was written");
    }

    @Test
    void aRerunSkipsDoneIdsAndCutsATornLastLine() throws IOException {
        Path in = dir.resolve("in.jsonl");
        Files.writeString(in, requests(9));
        Path whole = dir.resolve("whole.jsonl");
        assertEquals(0, batch(in, whole, "--batch", "4").status());
        List<String> lines = Files.readAllLines(whole, StandardCharsets.UTF_8);
        // a run killed after three results, in the middle of writing the fourth
        Path out = dir.resolve("out.jsonl");
        Files.writeString(out, String.join("\n", lines.subList(0, 3)) + "\n" + lines.get(3).substring(0, 20));
        CliRunner r = batch(in, out, "--batch", "2", "--json");
        assertEquals(0, r.status(), r::toString);
        assertTrue(r.err().contains("torn line of 20 bytes"), r::toString);
        assertEquals(3, JSON.readTree(r.out()).get("alreadyDone").intValue(), r::toString);
        assertEquals(byId(whole), byId(out));
        CliRunner again = batch(in, out, "--json");
        assertEquals(0, JSON.readTree(again.out()).get("completed").intValue(), again::toString);
        assertEquals(9, Files.readAllLines(out).size());
    }

    /** A file that is not results is refused as it is: its last line is not cut off as a torn result. */
    @Test
    void aResultsFileThatIsNotResultsIsLeftUntouched() throws IOException {
        Path in = dir.resolve("in.jsonl");
        String requests = requests(2).strip();   // no newline at the end, as an editor may save it
        Files.writeString(in, requests);
        CliRunner same = batch(in, in);
        assertEquals(2, same.status(), same::toString);
        assertTrue(same.err().contains("is the requests file: give the results a file of their own"), same::toString);
        assertEquals(requests, Files.readString(in), "the requests file is untouched");

        Path other = dir.resolve("notes.jsonl");
        String text = "{\"note\": \"mine\"}";   // one line, no newline, not a result
        Files.writeString(other, text);
        CliRunner r = batch(in, other);
        assertEquals(2, r.status(), r::toString);
        assertTrue(r.err().contains("is not the start of a result line"), r::toString);
        assertEquals(text, Files.readString(other), "nothing was cut off");
    }

    @Test
    void shardsSplitByTheIdsHashAndMergeBackInRequestOrder() throws IOException {
        Path in = dir.resolve("in.jsonl");
        Files.writeString(in, requests(12) + "broken\n");
        Path whole = dir.resolve("whole.jsonl");
        assertEquals(0, batch(in, whole).status());
        for (int i = 0; i < 3; i++) {
            CliRunner r = batch(in, dir.resolve("out." + i + ".jsonl"), "--shard", i + "/3", "--batch", "2");
            assertEquals(0, r.status(), r::toString);
            for (String id : byId(dir.resolve("out." + i + ".jsonl")).keySet()) {
                assertTrue(new Shard(i, 3).contains(id), id + " in shard " + i);
            }
        }
        Path merged = dir.resolve("merged.jsonl");
        CliRunner m = CliRunner.run("job", "merge", "--requests", in.toString(), "--shards",
                dir.resolve("out.*.jsonl").toString(), "--out", merged.toString());
        assertEquals(0, m.status(), m::toString);
        assertTrue(m.out().contains("merged 13 results (1 failed) from 3 files"), m::toString);
        assertEquals(byId(whole), byId(merged));
        List<Integer> order = new ArrayList<>();
        for (String line : Files.readAllLines(merged)) {
            order.add(JSON.readTree(line).get("line").intValue());
        }
        assertEquals(List.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13), order);

        // shard 1 missing, shard 0 given twice: nothing is written, the ids are named
        Path bad = dir.resolve("bad.jsonl");
        CliRunner wrong = CliRunner.run("job", "merge", "--requests", in.toString(), "--shards",
                dir.resolve("out.0.jsonl") + "," + dir.resolve("out.0.jsonl") + "," + dir.resolve("out.2.jsonl"),
                "--out", bad.toString());
        assertEquals(2, wrong.status(), wrong::toString);
        assertTrue(wrong.err().contains("missing") && wrong.err().contains("duplicate"), wrong::toString);
        String missingId = byId(dir.resolve("out.1.jsonl")).keySet().iterator().next();
        assertTrue(wrong.err().contains("'" + missingId + "'"), wrong::toString);
        assertFalse(Files.exists(bad));
    }

    @Test
    void theHashIsFnv1a64OfTheIdsUtf8() {
        // FNV-1a 64 test vectors (Fowler, Noll, Vo): "" and "a"
        assertEquals(0xcbf29ce484222325L, Shard.fnv1a64(""));
        assertEquals(0xaf63dc4c8601ec8cL, Shard.fnv1a64("a"));
        assertEquals(0x85944171f73967e8L, Shard.fnv1a64("foobar"));
    }

    @Test
    void badOptionsAreNamed() throws IOException {
        Path in = dir.resolve("in.jsonl");
        Files.writeString(in, requests(2));
        Path out = dir.resolve("out.jsonl");
        assertTrue(batch(in, out, "--batch", "17").err().contains("--batch must be 1..16"));
        assertTrue(batch(in, out, "--shard", "3/3").err().contains("the index must be 0..2"));
        assertTrue(batch(in, out, "--shard", "x").err().contains("INDEX/COUNT"));
        assertTrue(batch(in, out, "--prompt", "x").err().contains("--prompt is an option of a single run"));
        assertTrue(CliRunner.run("run", "--requests", in.toString()).err().contains("needs --results"));
        assertTrue(CliRunner.run("run", "--impl", "cpu", "--batch", "4").err().contains("--batch belongs to a batch"));
        assertFalse(Files.exists(out));
    }
}
