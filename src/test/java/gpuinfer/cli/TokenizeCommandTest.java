package gpuinfer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.testing.Gpt2Files;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenizeCommandTest {
    @TempDir
    static Path dir;
    static String model;

    @BeforeAll
    static void writeModel() {
        model = Gpt2Files.writeModelDirectory(dir.resolve("gpt2")).toString();
    }

    @Test
    void printsTheIdsOnOneLine() {
        CliRunner r = CliRunner.run("tokenize", "--model", model, "Hello world");
        assertEquals(0, r.status(), r::toString);
        assertEquals("15496 995\n", r.out().replace("\r\n", "\n"));
        CliRunner special = CliRunner.run("tokenize", "--model", model, "end.<|endoftext|>");
        assertEquals("437 13 50256", special.out().strip(), special::toString);
    }

    @Test
    void verbosePrintsOneLinePerTokenWithItsBytes() {
        CliRunner r = CliRunner.run("tokenize", "--model", model, "--verbose", "Hi 😀");
        assertEquals(0, r.status(), r::toString);
        String[] lines = r.out().strip().split("\\R");
        assertEquals("3 tokens, 4 characters", lines[0]);
        assertEquals(4, lines.length, r::toString);
        assertTrue(lines[1].matches("\\s*17250\\s+\"Hi\"\\s+48 69\\s+\"Hi\""), lines[1]);
        assertTrue(lines[2].matches("\\s*30325\\s+\"ĠðŁĺ\"\\s+20 f0 9f 98\\s+\\(part of a character\\)"), lines[2]);
        assertTrue(lines[3].matches("\\s*222\\s+\"Ģ\"\\s+80\\s+\\(part of a character\\)"), lines[3]);
    }

    @Test
    void decodesIdsGivenAsArgumentsCommasOrAJsonArray() {
        CliRunner r = CliRunner.run("tokenize", "--model", model, "--decode", "15496", "995");
        assertEquals(0, r.status(), r::toString);
        assertEquals("Hello world", r.out().strip());
        assertEquals("Hello world😀", CliRunner.run("tokenize", "--model", model, "--decode", "[15496, 995,47249,",
                "222]").out().strip());
        assertEquals("Hello\uFFFD", CliRunner.run("tokenize", "--model", model, "--decode", "15496", "47249").out().strip());
    }

    @Test
    void jsonGivesIdsTextAndWithVerboseTheTokens() throws Exception {
        CliRunner r = CliRunner.run("tokenize", "--model", model, "--json", "--verbose", "naïve");
        assertEquals(0, r.status(), r::toString);
        JsonNode json = new ObjectMapper().readTree(r.out());
        assertEquals(2, json.get("count").asInt());
        assertEquals("[2616,38776]", json.get("ids").toString());
        assertEquals("naïve", json.get("text").asText());
        assertEquals("Ã¯ve", json.get("tokens").get(1).get("token").asText());
        assertEquals("c3af7665", json.get("tokens").get(1).get("bytes").asText());
        assertEquals("ïve", json.get("tokens").get(1).get("text").asText());

        CliRunner d = CliRunner.run("tokenize", "--model", model, "--json", "--decode", "47249");
        JsonNode decoded = new ObjectMapper().readTree(d.out());
        assertEquals("\uFFFD", decoded.get("text").asText());
        assertTrue(!decoded.has("tokens"));
    }

    @Test
    void jsonOutWritesTheSameJsonBesideTheTextAndJsonPrintsItAlone() throws Exception {
        Path file = dir.resolve("ids.json");
        CliRunner text = CliRunner.run("tokenize", "--model", model, "--json-out", file.toString(), "Hello world");
        assertEquals(0, text.status(), text::toString);
        assertEquals("15496 995\njson: " + file, text.out().strip());
        CliRunner json = CliRunner.run("tokenize", "--model", model, "--json", "Hello world");
        assertEquals(new ObjectMapper().readTree(json.out()), new ObjectMapper().readTree(file.toFile()));
        assertEquals("[15496,995]", new ObjectMapper().readTree(file.toFile()).get("ids").toString());

        CliRunner unwritable = CliRunner.run("tokenize", "--model", model, "--json-out", dir.toString(), "Hello");
        assertEquals(ExitCodes.USAGE, unwritable.status(), unwritable::toString);
        assertTrue(unwritable.err().contains("--json-out " + dir + ": cannot write the file"), unwritable::toString);
    }

    @Test
    void readsTextAndIdsFromStandardInputExactly() {
        assertEquals("15496 995 198", withStdin("Hello world\n".getBytes(StandardCharsets.UTF_8),
                "tokenize", "--model", model, "-").out().strip());
        assertEquals("Hello world", withStdin("15496\n995\n".getBytes(StandardCharsets.UTF_8),
                "tokenize", "--model", model, "--decode", "-").out().strip());
        CliRunner bad = withStdin(new byte[] {'a', (byte) 0xFF}, "tokenize", "--model", model, "-");
        assertEquals(ExitCodes.USAGE, bad.status(), bad::toString);
        assertTrue(bad.err().contains("standard input is not valid UTF-8"), bad::toString);
    }

    @Test
    void badInputIsAUsageErrorThatSaysWhatToDo() {
        CliRunner missing = CliRunner.run("tokenize", "--model", dir.resolve("absent").toString(), "x");
        assertEquals(ExitCodes.USAGE, missing.status(), missing::toString);
        assertTrue(missing.err().contains("absent: no such directory"), missing::toString);

        CliRunner empty = CliRunner.run("tokenize", "--model", dir.toString(), "x");
        assertEquals(ExitCodes.USAGE, empty.status(), empty::toString);
        assertTrue(empty.err().contains("has no tokenizer.json (nor GPT-2's vocab.json and merges.txt)"), empty::toString);

        CliRunner outOfRange = CliRunner.run("tokenize", "--model", model, "--decode", "50257");
        assertEquals(ExitCodes.USAGE, outOfRange.status(), outOfRange::toString);
        assertTrue(outOfRange.err().contains("token id 50257 is not in the vocabulary (ids are 0 to 50256)"),
                outOfRange::toString);

        CliRunner notANumber = CliRunner.run("tokenize", "--model", model, "--decode", "12a");
        assertEquals(ExitCodes.USAGE, notANumber.status(), notANumber::toString);
        assertTrue(notANumber.err().contains("\"12a\" is not a token id"), notANumber::toString);

        CliRunner twoTexts = CliRunner.run("tokenize", "--model", model, "Hello", "world");
        assertEquals(ExitCodes.USAGE, twoTexts.status(), twoTexts::toString);
        assertTrue(twoTexts.err().contains("one argument, and got 2"), twoTexts::toString);

        // without --model, the bundled model's tokenizer: "The meaning of life is" as tools/bpe.py encodes it
        CliRunner bundled = CliRunner.run("tokenize", "The meaning of life is");
        assertEquals(ExitCodes.OK, bundled.status(), bundled::toString);
        assertEquals("453 2416 275 915 322", bundled.out().strip());
    }

    @Test
    void isListedInTheMainHelp() {
        CliRunner r = CliRunner.run("--help");
        assertTrue(r.out().contains("tokenize"), r::toString);
        CliRunner help = CliRunner.run("tokenize", "--help");
        assertEquals(0, help.status(), help::toString);
        assertTrue(help.out().contains("--decode") && help.out().contains("--verbose"), help::toString);
    }

    private static CliRunner withStdin(byte[] input, String... args) {
        InputStream original = System.in;
        System.setIn(new ByteArrayInputStream(input));
        try {
            return CliRunner.run(args);
        } finally {
            System.setIn(original);
        }
    }
}
