package gpuinfer.text;

import gpuinfer.text.RealTokenizers.Case;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The golden tests can fail: a tokenizer with a wrong pre-tokenizer, a wrong normalizer or merges by plain scores
 * gets some golden cases wrong. Also: the loader's errors name the file and the value, and the older Metaspace form of
 * SentencePiece files gives the same ids as the normalizer form.
 */
class TokenizerSensitivityTest {
    @TempDir
    Path dir;

    /** The tokenizer with its tokenizer.json changed by {@code edit}. */
    private Tokenizer edited(String name, Consumer<ObjectNode> edit) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode json = (ObjectNode) mapper.readTree(RealTokenizers.unzipped(name));
        edit.accept(json);
        Path file = dir.resolve(name + "-tokenizer.json");
        mapper.writeValue(file.toFile(), json);
        return Tokenizers.fromTokenizerJson(file, RealTokenizers.FILES.resolve(name).resolve("tokenizer_config.json"));
    }

    private static ObjectNode splitPattern(ObjectNode json) {
        return (ObjectNode) json.get("pre_tokenizer").get("pretokenizers").get(0).get("pattern");
    }

    private static long wrong(Tokenizer t, List<Case> cases) {
        return cases.stream().filter(c -> !Arrays.equals(c.ids(), t.encode(c.text()))).count();
    }

    @Test
    void qwensRegexOnLlama3sVocabularyIsCaught() throws IOException {
        Tokenizer t = edited("llama3", j -> splitPattern(j).put("Regex", PreTokenizers.QWEN2_REGEX));
        assertEquals("qwen2", t.ggufPre());
        assertTrue(wrong(t, RealTokenizers.cases("llama3")) >= 3, "digit runs must come out differently");
    }

    @Test
    void withoutNfcQwenGetsCombiningMarksWrong() throws IOException {
        Tokenizer t = edited("qwen3", j -> j.putNull("normalizer"));
        assertTrue(wrong(t, RealTokenizers.cases("qwen3")) >= 1);
    }

    @Test
    void scoresByTokenIdInsteadOfMergeRankAreCaught() {
        BpeTokenizer mistral = (BpeTokenizer) RealTokenizers.load("mistral");
        BpeTokenizer.Spec s = new BpeTokenizer.Spec();
        s.algorithm = BpeTokenizer.Algorithm.SENTENCEPIECE_SCORES;
        s.tokens = mistral.tokens();
        s.types = new TokenType[s.tokens.length];
        for (int id = 0; id < s.types.length; id++) {
            s.types[id] = mistral.tokenType(id);
        }
        s.scores = new float[s.tokens.length]; // all equal: the leftmost pair always wins
        s.unknown = 0;
        s.added = List.of(new AddedTokens.Token("<s>", 1, true, false, false, false));
        s.stripLeadingSpace = true;
        Tokenizer flat = new BpeTokenizer(s);
        assertTrue(wrong(flat, RealTokenizers.cases("mistral")) >= 10);
    }

    @Test
    void theMetaspaceFormGivesTheSameIdsAsTheNormalizerForm() throws IOException {
        Tokenizer t = edited("mistral", j -> {
            j.putNull("normalizer");
            j.putObject("pre_tokenizer").put("type", "Metaspace").put("replacement", "\u2581")
                    .put("prepend_scheme", "always").put("split", false);
        });
        int compared = 0;
        for (Case c : RealTokenizers.cases("mistral")) {
            // Metaspace does not put a second "▁" before text that starts with one (or with a space); Prepend does.
            boolean startsWithSpace = c.text().startsWith(" ") || c.text().startsWith("▁")
                    || c.text().contains("> ") || c.text().contains("<s>") || c.text().contains("</s>") || c.text().contains("<unk>");
            if (!startsWithSpace) {
                assertEquals(Arrays.toString(c.ids()), Arrays.toString(t.encode(c.text())), c::toString);
                compared++;
            }
        }
        assertTrue(compared > 40, compared + " cases compared");
    }

    @Test
    void anUnknownRegexIsRefusedByName() throws IOException {
        TokenizerFileException e = assertThrows(TokenizerFileException.class,
                () -> edited("mistral", j -> j.putObject("pre_tokenizer").put("type", "Split").put("behavior", "Isolated")
                        .putObject("pattern").put("Regex", "\\w+")));
        assertTrue(e.getMessage().contains("mistral-tokenizer.json") && e.getMessage().contains("\\\\w+")
                && e.getMessage().contains("Llama 3"), e.getMessage());
    }

    @Test
    void anUnknownModelTypeIsRefusedByName() throws IOException {
        TokenizerFileException e = assertThrows(TokenizerFileException.class,
                () -> edited("mistral", j -> ((ObjectNode) j.get("model")).put("type", "Unigram")));
        assertTrue(e.getMessage().contains("\"Unigram\"") && e.getMessage().contains("BPE"), e.getMessage());
    }

    @Test
    void aMergeOfUnknownTokensIsRefused() throws IOException {
        TokenizerFileException e = assertThrows(TokenizerFileException.class,
                () -> edited("mistral", j -> ((ArrayNode) j.get("model").get("merges")).set(0, "\u2581 zzzq")));
        assertTrue(e.getMessage().contains("model.merges entry 0") && e.getMessage().contains("zzzq"), e.getMessage());
    }

    @Test
    void theWrongTokenizerGivesOtherIds() {
        Tokenizer llama3 = RealTokenizers.load("llama3");
        Tokenizer qwen = RealTokenizers.load("qwen3");
        assertNotEquals(Arrays.toString(llama3.encode("Hello world")), Arrays.toString(qwen.encode("Hello world")));
    }
}
