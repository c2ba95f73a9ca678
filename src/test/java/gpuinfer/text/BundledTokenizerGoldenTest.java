package gpuinfer.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.model.ModelLocator;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bundled model's own vocabulary against tools/bpe.py (Python, independent of the Java code): every encode case
 * gives the same ids and decodes back to its text; every decode case (invalid UTF-8 among them) gives Python's
 * errors='replace' text.
 */
class BundledTokenizerGoldenTest {
    @Test
    void encodesAndDecodesLikeTheReference() throws IOException {
        Gpt2Tokenizer tokenizer = Gpt2Tokenizer.fromModelDirectory(ModelLocator.bundled());
        JsonNode root = new ObjectMapper().readTree(Path.of("src/test/resources/golden/tokenizer/bundled/cases.json").toFile());
        JsonNode cases = root.isArray() ? root : root.get("cases");
        int encodes = 0;
        int decodes = 0;
        for (JsonNode c : cases) {
            int[] ids = new int[c.get("ids").size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = c.get("ids").get(i).asInt();
            }
            String text = c.get("text").asText();
            if (c.get("kind").asText().equals("encode")) {
                assertArrayEquals(ids, tokenizer.encode(text), () -> "encode " + c);
                assertEquals(text, tokenizer.decode(ids), () -> "round trip " + c);
                encodes++;
            } else {
                assertEquals(text, tokenizer.decode(ids), () -> "decode " + c);
                decodes++;
            }
        }
        assertTrue(encodes > 40 && decodes > 5, encodes + " encode and " + decodes + " decode cases");
    }
}
