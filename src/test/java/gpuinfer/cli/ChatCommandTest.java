package gpuinfer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code gpu-infer run --chat} and {@code gpu-infer chat} on the golden Llama-family models: the prompt is the
 * model's template rendering (BOS and headers from the template, not added twice), the same tokens come from the
 * Hugging Face folder and the GGUF file, a conversation keeps its cache, and the errors say what to do.
 */
@ExtendWith(NoLeaks.class)
class ChatCommandTest {
    static final String GOLDEN = "src/test/resources/golden/llama/";

    private static JsonNode json(CliRunner r) throws Exception {
        assertEquals(0, r.status(), r::toString);
        return new ObjectMapper().readTree(r.out());
    }

    @Test
    void runChatGivesTheSameTokensFromTheFolderAndTheGgufFile() throws Exception {
        OpenClTestSupport.device("lwjgl");
        for (String model : new String[] {"llama-tiny", "qwen2-tiny"}) {
            String[] args = {"run", "--chat", "--system", "Be brief.", "--prompt", "Hello there", "--max-tokens", "8",
                    "--temperature", "0", "--json"};
            JsonNode folder = json(CliRunner.run(concat(args, "--model", GOLDEN + model)));
            JsonNode file = json(CliRunner.run(concat(args, "--model", GOLDEN + model + "-f32.gguf")));
            JsonNode cpu = json(CliRunner.run(concat(args, "--model", GOLDEN + model + "-f32.gguf", "--impl", "cpu")));
            JsonNode ids = folder.get("completions").get(0).get("generatedIds");
            assertEquals(8, ids.size());
            assertEquals(ids, file.get("completions").get(0).get("generatedIds"), model);
            assertEquals(ids, cpu.get("completions").get(0).get("generatedIds"), model);
            JsonNode prompt = folder.get("completions").get(0).get("promptIds");
            assertEquals(prompt, file.get("completions").get(0).get("promptIds"));
            if (model.startsWith("llama")) {
                // Llama 3.1's template starts with {{ bos_token }}: exactly one BOS
                assertEquals(408, prompt.get(0).asInt());
                assertTrue(prompt.get(1).asInt() != 408);
            }
        }
    }

    @Test
    void chatKeepsTheConversationAcrossTurns() {
        OpenClTestSupport.device("lwjgl");
        InputStream original = System.in;
        System.setIn(new ByteArrayInputStream("Hello\nHow are you?\n/reset\nHello\n".getBytes(StandardCharsets.UTF_8)));
        try {
            CliRunner r = CliRunner.run("chat", "--model", GOLDEN + "qwen2-tiny-f16.gguf", "--temperature", "0",
                    "--max-tokens", "6");
            assertEquals(0, r.status(), r::toString);
            String[] replies = r.out().split("\n");
            assertEquals(3, replies.length, r::toString);
            assertEquals(replies[0], replies[2], "after /reset the first message gets the first reply again");
            assertTrue(r.err().contains("(conversation reset)"), r::toString);
            // the second turn fed only its own text: fewer tokens than the first turn's whole rendering
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\[(\\d+) tokens fed").matcher(r.err());
            assertTrue(m.find(), r::toString);
            int first = Integer.parseInt(m.group(1));
            assertTrue(m.find(), r::toString);
            assertTrue(Integer.parseInt(m.group(1)) < first + 6, r::toString);
        } finally {
            System.setIn(original);
        }
    }

    @Test
    void compareAndProfileRunLlamaFamilyModels() {
        OpenClTestSupport.device("lwjgl");
        CliRunner compare = CliRunner.run("compare", "--model", GOLDEN + "llama-tiny", "--prompt", "Hello", "--max-tokens", "3");
        assertEquals(0, compare.status(), compare::toString);
        assertTrue(compare.out().contains("h.1.qkv") && compare.out().contains("PASS: all"), compare::toString);
        CliRunner quantised = CliRunner.run("compare", "--model", GOLDEN + "qwen2-tiny-f32.gguf", "--prompt", "Hello",
                "--max-tokens", "3", "--b", "weights=q8_0");
        assertEquals(0, quantised.status(), quantised::toString);
        assertTrue(quantised.out().contains("nmse <= 1.0e-03"), quantised::toString);
        CliRunner profile = CliRunner.run("profile", "run", "--model", GOLDEN + "qwen2-tiny-q8_0.gguf", "--prompt", "Hello",
                "--max-tokens", "3");
        assertEquals(0, profile.status(), profile::toString);
        for (String kernel : new String[] {"rmsnorm", "heads", "swiglu", "linear_rows"}) {
            assertTrue(profile.out().contains(kernel), profile::toString);
        }
    }

    @Test
    void aModelWithoutATemplateIsToldSo() {
        CliRunner r = CliRunner.run("run", "--chat", "--prompt", "Hi", "--impl", "cpu");
        assertEquals(2, r.status(), r::toString);
        assertTrue(r.err().contains("has no chat template") && r.err().contains("without --chat"), r::toString);
        CliRunner s = CliRunner.run("run", "--system", "x", "--prompt", "Hi", "--impl", "cpu");
        assertEquals(2, s.status(), s::toString);
        assertTrue(s.err().contains("--system is a chat's system message"), s::toString);
    }

    private static String[] concat(String[] a, String... b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
