package gpuinfer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.model.ModelLocator;
import gpuinfer.tensor.Npy;
import gpuinfer.tensor.Tensor;
import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code gpu-infer run} on the bundled model. */
@ExtendWith(NoLeaks.class)
class RunCommandTest {
    @TempDir
    Path dir;

    private static JsonNode json(CliRunner r) throws Exception {
        assertEquals(0, r.status(), r::toString);
        return new ObjectMapper().readTree(r.out());
    }

    @Test
    void streamsTextFromTheBundledModelByDefault() {
        OpenClTestSupport.device("lwjgl");
        CliRunner r = CliRunner.run("run", "--max-tokens", "12");
        assertEquals(0, r.status(), r::toString);
        assertTrue(r.out().startsWith("The meaning of life is"), r::toString);
        assertTrue(r.out().length() > "The meaning of life is".length() + 5, r::toString);
        assertTrue(r.err().contains("tokens/s"), r::toString);
    }

    @Test
    void theCpuReferenceAndOpenClAgreeOnGreedyTokens() throws Exception {
        OpenClTestSupport.device("lwjgl");
        String[] args = {"run", "--prompt", "It was a dark and stormy night", "--max-tokens", "16", "--temperature", "0", "--json"};
        JsonNode opencl = json(CliRunner.run(concat(args, "--impl", "opencl")));
        JsonNode jocl = json(CliRunner.run(concat(args, "--impl", "opencl", "--binding", "jocl")));
        JsonNode cpu = json(CliRunner.run(concat(args, "--impl", "cpu")));
        JsonNode ids = opencl.get("completions").get(0).get("generatedIds");
        assertEquals(16, ids.size());
        assertEquals(cpu.get("completions").get(0).get("generatedIds"), ids);
        assertEquals(jocl.get("completions").get(0).get("generatedIds"), ids);
        assertEquals("opencl", opencl.get("impl").asText());
        assertTrue(opencl.get("timings").get("decodeTokensPerSecond").asDouble() > 0);
        assertTrue(opencl.get("deviceBytes").asLong() > 0);
    }

    @Test
    void aSeedMakesSamplingReproducibleAndBatchesMatchSinglePrompts() throws Exception {
        OpenClTestSupport.device("lwjgl");
        JsonNode a = json(CliRunner.run("run", "--prompt", "Once upon a time", "--seed", "7", "--max-tokens", "10", "--json"));
        JsonNode b = json(CliRunner.run("run", "--prompt", "Once upon a time", "--seed", "7", "--max-tokens", "10", "--json"));
        assertEquals(a.get("completions"), b.get("completions"));
        JsonNode greedyBatch = json(CliRunner.run("run", "--prompt", "Once upon a time", "--prompt", "The", "--max-tokens", "6",
                "--temperature", "0", "--json"));
        JsonNode greedyAlone = json(CliRunner.run("run", "--prompt", "The", "--max-tokens", "6", "--temperature", "0", "--json"));
        assertEquals(greedyAlone.get("completions").get(0).get("generatedIds"), greedyBatch.get("completions").get(1).get("generatedIds"));
    }

    @Test
    void writesThePromptLogits() throws Exception {
        OpenClTestSupport.device("lwjgl");
        Path logits = dir.resolve("logits.npy");
        JsonNode r = json(CliRunner.run("run", "--prompt", "Hello world", "--max-tokens", "2", "--logits-out", logits.toString(), "--json"));
        int promptTokens = r.get("completions").get(0).get("promptIds").size();
        Tensor t = Npy.read(logits);
        assertArrayEquals(new int[] {promptTokens, t.dim(1)}, t.shape());
        assertTrue(t.dim(1) >= 256);
    }

    @Test
    void promptIdsGiveTheSameLogitsAsTheirText() throws Exception {
        OpenClTestSupport.device("lwjgl");
        Path fromText = dir.resolve("text.npy");
        Path fromIds = dir.resolve("ids.npy");
        JsonNode byText = json(CliRunner.run("run", "--prompt", "Hello world", "--max-tokens", "1", "--temperature", "0",
                "--logits-out", fromText.toString(), "--json"));
        List<String> ids = new ArrayList<>();
        byText.get("completions").get(0).get("promptIds").forEach(id -> ids.add(id.asText()));
        JsonNode byIds = json(CliRunner.run("run", "--prompt-ids", String.join(",", ids), "--max-tokens", "1", "--temperature", "0",
                "--logits-out", fromIds.toString(), "--json"));
        JsonNode completion = byIds.get("completions").get(0);
        assertEquals(byText.get("completions").get(0).get("promptIds"), completion.get("promptIds"));
        assertEquals("Hello world", completion.get("prompt").asText());
        assertArrayEquals(Npy.read(fromText).data(), Npy.read(fromIds).data());

        assertUsage(CliRunner.run("run", "--prompt-ids", "1,999999"), "token id 999999 is outside the model's vocabulary");
        assertUsage(CliRunner.run("run", "--prompt-ids", "1,2", "--prompt", "a"), "--prompt-ids is the prompt");
        assertUsage(CliRunner.run("run", "--prompt-ids", "1,x"), "--prompt-ids");
    }

    @Test
    void promptsThatDoNotFitAreRefusedWithTheNumbersOrTruncated() throws Exception {
        OpenClTestSupport.device("lwjgl");
        String longPrompt = "word ".repeat(400);
        CliRunner refused = CliRunner.run("run", "--prompt", longPrompt, "--max-tokens", "10");
        assertEquals(2, refused.status(), refused::toString);
        assertTrue(refused.err().contains("exceed the model's context length") && refused.err().contains("--truncate"), refused::toString);
        JsonNode truncated = json(CliRunner.run("run", "--prompt", longPrompt, "--max-tokens", "10", "--truncate", "--json"));
        JsonNode completion = truncated.get("completions").get(0);
        assertTrue(completion.get("truncatedPromptTokens").asInt() > 0);
        assertEquals(10, completion.get("generatedIds").size());
    }

    @Test
    void contextParallelPrefillGivesTheSingleDevicesLogitsAndTokens() throws Exception {
        String id = OpenClTestSupport.device("lwjgl").id();
        String prompt = "The history of the city begins with a small village on the river";
        String[] args = {"run", "--prompt", prompt, "--max-tokens", "8", "--temperature", "0", "--json"};
        Path single = dir.resolve("single.npy");
        JsonNode one = json(CliRunner.run(concat(args, "--logits-out", single.toString())));
        float[] want = Npy.read(single).data();
        for (String[] ranks : List.of(new String[] {"--context-parallel", "2"},
                new String[] {"--context-parallel", "2", "--ring-layout", "contiguous"},
                new String[] {"--context-parallel", "2", "--ring-ranks", "subdevices"},
                new String[] {"--context-parallel", "2", "--ring-devices", id + "," + id},
                new String[] {"--context-parallel", "3", "--impl", "cpu"})) {
            Path logits = dir.resolve("cp.npy");
            JsonNode cp = json(CliRunner.run(concat(concat(args, ranks), "--logits-out", logits.toString())));
            String what = String.join(" ", ranks);
            assertEquals(one.get("completions").get(0).get("generatedIds"), cp.get("completions").get(0).get("generatedIds"), what);
            float[] got = Npy.read(logits).data();
            assertEquals(want.length, got.length, what);
            for (int i = 0; i < want.length; i++) {
                assertEquals(want[i], got[i], 2e-5 + 1e-4 * Math.abs(want[i]), what + ": logit " + i);
            }
            JsonNode report = cp.get("contextParallel");
            int n = Integer.parseInt(ranks[1]);
            assertEquals(n, report.get("ranks").asInt(), what);
            assertEquals(n, report.get("perRank").size(), what);
            int tokens = 0;
            for (JsonNode r : report.get("perRank")) {
                tokens += r.get("tokens").asInt();
                assertTrue(r.get("blocks").asInt() > 0, what);
            }
            assertEquals(one.get("completions").get(0).get("promptIds").size(), tokens, what);
            assertTrue(report.get("transferBytes").asLong() > 0, what);
        }
        CliRunner text = CliRunner.run("run", "--prompt", prompt, "--max-tokens", "2", "--context-parallel", "2");
        assertEquals(0, text.status(), text::toString);
        assertTrue(text.err().contains("context-parallel prefill: 2 ranks (contexts), zigzag layout")
                && text.err().contains("rank 1: positions"), text::toString);

        assertUsage(CliRunner.run("run", "--context-parallel", "2", "--prompt", "a", "--prompt", "b"), "exactly one prompt");
        assertUsage(CliRunner.run("run", "--context-parallel", "2", "--ablate", "0.1"), "head interventions");
        assertUsage(CliRunner.run("run", "--context-parallel", "0"), "at least 1");
        assertUsage(CliRunner.run("run", "--context-parallel", "3", "--ring-devices", id + "," + id),
                "lists 2 devices but the ring has 3 ranks");
        assertUsage(CliRunner.run("run", "--context-parallel", "2", "--ring-devices", id + "," + id, "--ring-ranks",
                "subdevices"), "Give one of them");
        if (OpenClTestSupport.device("lwjgl").info().isGpu() == false) {
            assertUsage(CliRunner.run("run", "--context-parallel", "2", "--ring-devices", "gpus"), "found 0 GPUs");
        }
        assertUsage(CliRunner.run("run", "--ring-ranks", "contexts"), "give them with --context-parallel");
        assertUsage(CliRunner.run("run", "--context-parallel", "2", "--ring-layout", "stripes"), "must be zigzag or contiguous");
        assertUsage(CliRunner.run("run", "--context-parallel", "2", "--ring-ranks", "queues"), "use contexts or subdevices");
        assertUsage(CliRunner.run("run", "--context-parallel", "9", "--prompt-ids", "1,2,3"), "Use at most 1 ranks");
        assertUsage(CliRunner.run("run", "--context-parallel", "4", "--ring-layout", "contiguous", "--prompt-ids", "1,2,3"),
                "Use at most 3 ranks");
        String ids = String.join(",", java.util.Collections.nCopies(200, "11"));
        assertUsage(CliRunner.run("run", "--context-parallel", "96", "--ring-ranks", "subdevices", "--prompt-ids", ids,
                "--max-tokens", "1"), "Cannot split");
    }

    @Test
    void badOptionsAndFoldersExitWithTwo() {
        assertUsage(CliRunner.run("run", "--model", dir.resolve("missing").toString()), "no such file or folder");
        assertUsage(CliRunner.run("run", "--model", dir.toString()), "config.json");
        assertUsage(CliRunner.run("run", "--top-p", "0"), "--top-p must be within (0, 1]");
        assertUsage(CliRunner.run("run", "--max-tokens", "0"), "--max-tokens must be at least 1");
        assertUsage(CliRunner.run("run", "--impl", "gpu"), "Unknown --impl 'gpu'");
        assertUsage(CliRunner.run("run", "--prompt", "a", "--prompt", "b", "--logits-out", "x.npy"), "exactly one --prompt");
    }

    @Test
    void theBundledModelIsFound() {
        assertTrue(ModelLocator.bundled().resolve("config.json").toFile().isFile());
    }

    private static void assertUsage(CliRunner r, String fragment) {
        assertEquals(2, r.status(), r::toString);
        assertTrue(r.err().contains(fragment), "'" + fragment + "' missing:\n" + r);
        assertFalse(r.err().contains("\tat "), "no stack trace:\n" + r);
    }

    private static String[] concat(String[] a, String... b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
