package gpuinfer.text;

import gpuinfer.InputException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loading a small hand-written vocabulary, and every defect a vocab.json or merges.txt can have. */
class Gpt2TokenizerLoadTest {
    @TempDir
    Path dir;

    private static final String MERGES = "#version: 0.2\nh e\nĠ t\nĠt he\n";

    /** The 256 byte tokens (ids in byte order), then he, Ġt, Ġthe and <|endoftext|>. */
    private static Map<String, Object> vocab() {
        Map<String, Object> vocab = new LinkedHashMap<>();
        for (int b = 0; b < 256; b++) {
            vocab.put(String.valueOf(ByteLevel.charOf(b)), b);
        }
        vocab.put("he", 256);
        vocab.put("Ġt", 257);
        vocab.put("Ġthe", 258);
        vocab.put("<|endoftext|>", 259);
        return vocab;
    }

    @Test
    void loadsASmallVocabularyAndUsesItsMerges() throws IOException {
        Gpt2Tokenizer t = load(json(vocab()), MERGES);
        assertEquals(260, t.vocabSize());
        assertEquals(259, t.endOfTextId().orElseThrow());
        assertArrayEquals(new int[] {258, 259, 256}, t.encode(" the<|endoftext|>he"));
        assertArrayEquals(new int[] {'t' - 0, 256}, t.encode("the")); // "t" is byte 0x74 = id 116
        assertEquals("Ġthe", t.tokenString(258));
        assertEquals(" the", t.decode(new int[] {258}));
    }

    @Test
    void acceptsAByteOrderMarkBeforeTheJson() throws IOException {
        assertEquals(260, load("\uFEFF" + json(vocab()), MERGES).vocabSize());
    }

    @Test
    void acceptsNoVersionLineCrlfAndTrailingBlankLines() throws IOException {
        Gpt2Tokenizer t = load(json(vocab()), "h e\r\nĠ t\r\nĠt he\r\n\r\n\n");
        assertArrayEquals(new int[] {258}, t.encode(" the"));
    }

    @Test
    void aVocabularyWithoutEndOfTextHasNoSpecialToken() throws IOException {
        Map<String, Object> vocab = vocab();
        vocab.remove("<|endoftext|>");
        Gpt2Tokenizer t = load(json(vocab), MERGES);
        assertTrue(t.endOfTextId().isEmpty());
        assertEquals(13, t.encode("<|endoftext|>").length); // one token per byte: this vocabulary has no merges for it
    }

    @Test
    void missingFilesAndDirectoriesNameThemselves() throws IOException {
        Path vocab = write("vocab.json", json(vocab()));
        InputException e = assertThrows(InputException.class, () -> Gpt2Tokenizer.load(vocab, dir.resolve("nope.txt")));
        assertMessage(e, "nope.txt", "no such file", "merges.txt");
        e = assertThrows(InputException.class, () -> Gpt2Tokenizer.fromModelDirectory(dir.resolve("absent")));
        assertMessage(e, "absent", "no such directory");
        e = assertThrows(InputException.class, () -> Gpt2Tokenizer.fromModelDirectory(dir));
        assertMessage(e, "merges.txt", "no such file");
        e = assertThrows(InputException.class, () -> Gpt2Tokenizer.fromModelDirectory(vocab));
        assertMessage(e, "vocab.json", "is not a directory");
    }

    @Test
    void malformedJson() throws IOException {
        assertVocabError("{\"a\": 1,", "vocab.json", "is not valid JSON", "line 1");
        assertVocabError("", "vocab.json", "is not a JSON object");
        assertVocabError("[1, 2]", "vocab.json", "is not a JSON object");
        assertVocabError("{\"a\": 0} {}", "vocab.json", "more JSON after the object");
        Path vocab = dir.resolve("vocab.json");
        Files.write(vocab, new byte[] {'{', '"', (byte) 0xC3, '"', ':', '0', '}'}); // not UTF-8
        InputException e = assertThrows(InputException.class,
                () -> Gpt2Tokenizer.load(vocab, write("merges.txt", MERGES)));
        assertMessage(e, "vocab.json", "is not valid UTF-8");
    }

    @Test
    void aHugeFileIsRefusedBeforeItIsRead() throws IOException {
        Path vocab = dir.resolve("vocab.json");
        try (java.io.RandomAccessFile file = new java.io.RandomAccessFile(vocab.toFile(), "rw")) {
            file.setLength(VocabFile.MAX_BYTES + 1); // sparse: no disk or memory used
        }
        InputException e = assertThrows(InputException.class,
                () -> Gpt2Tokenizer.load(vocab, write("merges.txt", MERGES)));
        assertMessage(e, "vocab.json", "is 268435457 bytes", "not one");
    }

    @Test
    void idsThatAreNotIntegers() {
        assertVocabError("{\"a\": \"0\"}", "token \"a\" has the value 0", "integers");
        assertVocabError("{\"a\": 1.5}", "token \"a\" has the value 1.5");
        assertVocabError("{\"a\": {\"b\": 0}}", "token \"a\" has the value {");
        assertVocabError("{\"a\": 99999999999}", "token \"a\" has the value 99999999999");
    }

    @Test
    void negativeDuplicateAndMissingIds() throws IOException {
        Map<String, Object> vocab = vocab();
        vocab.put("he", -1);
        assertVocabError(json(vocab), "token \"he\" has the negative id -1");
        vocab = vocab();
        vocab.put("he", 257);
        assertVocabError(json(vocab), "tokens ", "both have id 257");
        vocab = vocab();
        vocab.put("he", 2_000_000_000); // must not allocate two billion slots to find out
        assertVocabError(json(vocab), "token \"he\" has id 2000000000 but there are only 260 tokens", "none missing");
        assertVocabError("{\"a\": 0, \"a\": 1}", "token \"a\" appears twice");
        assertVocabError("{\"\": 0}", "the empty string is a token");
        assertVocabError("{}", "has no tokens");
    }

    @Test
    void aVocabularyWithoutTheByteTokensIsNotByteLevel() throws IOException {
        Map<String, Object> vocab = new LinkedHashMap<>();
        vocab.put("a", 0);
        vocab.put("b", 1);
        assertVocabError(json(vocab), "lacks 254 of the 256 single-byte tokens", "\"Ā\" for byte 0x00", "byte-level");
    }

    @Test
    void mergeLinesThatAreNotTwoTokens() throws IOException {
        assertMergesError("#version: 0.2\nh e\nhe\n", "line 3 is \"he\", not a merge", "two tokens separated by one space");
        assertMergesError("h e x\n", "line 1 is \"h e x\", not a merge");
        assertMergesError("h  e\n", "line 1 is \"h  e\", not a merge");
        assertMergesError(" h\n", "line 1 is \" h\", not a merge");
        assertMergesError("h e\n\nĠ t\n", "line 2 is blank but merges follow it (line 3)");
        assertMergesError("#version: 0.2\nh e\n#version: 0.2\n", "line 3 merges \"#version:\" and \"0.2\"");
    }

    @Test
    void mergesWhosePartsOrResultAreNotInTheVocabulary() throws IOException {
        assertMergesError("h e\nhe llo\n", "line 2 merges \"he\" and \"llo\" but \"llo\" is not in the vocabulary",
                "same model");
        assertMergesError("x y\n", "line 1 merges \"x\" and \"y\" but \"xy\" is not in the vocabulary");
        assertMergesError("h e\nh e\n", "line 2 repeats the merge \"h e\" (merge 1 of the file)");
        Path vocab = write("vocab.json", json(vocab()));
        Path merges = dir.resolve("merges.txt");
        Files.write(merges, new byte[] {'h', ' ', (byte) 0xFF, '\n'});
        InputException e = assertThrows(InputException.class, () -> Gpt2Tokenizer.load(vocab, merges));
        assertMessage(e, "merges.txt", "is not valid UTF-8");
    }

    private void assertVocabError(String vocabJson, String... fragments) {
        InputException e = assertThrows(InputException.class, () -> load(vocabJson, MERGES));
        assertMessage(e, fragments);
        assertMessage(e, dir.resolve("vocab.json").toString());
    }

    private void assertMergesError(String mergesTxt, String... fragments) throws IOException {
        String vocab = json(vocab());
        InputException e = assertThrows(InputException.class, () -> load(vocab, mergesTxt));
        assertMessage(e, fragments);
        assertMessage(e, dir.resolve("merges.txt").toString());
    }

    private static void assertMessage(Exception e, String... fragments) {
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), () -> "\"" + f + "\" missing from: " + e.getMessage());
        }
    }

    private Gpt2Tokenizer load(String vocabJson, String mergesTxt) throws IOException {
        return Gpt2Tokenizer.load(write("vocab.json", vocabJson), write("merges.txt", mergesTxt));
    }

    private Path write(String name, String content) throws IOException {
        return Files.writeString(dir.resolve(name), content, StandardCharsets.UTF_8);
    }

    private static String json(Map<String, Object> vocab) throws IOException {
        return new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(vocab);
    }
}
