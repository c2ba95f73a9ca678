package gpuinfer.text;

import gpuinfer.gguf.GgufFile;
import gpuinfer.gguf.GgufWriter;
import gpuinfer.text.RealTokenizers.Case;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * A tokenizer written to a GGUF file through {@link Tokenizer#ggufMetadata()} and read back with
 * {@link Tokenizers#fromGguf}: Mistral and Llama 2 become a "llama" (scores) tokenizer, Llama 3 and Qwen3 "gpt2" tokenizers
 * with their pre-tokenizers; each must still give Hugging Face's golden ids. One known exception, llama.cpp's:
 * GGUF has no normalizer, so a Qwen GGUF does not apply Qwen's NFC (text that NFC changes, such as "e" + U+0301,
 * tokenizes as written); for such text the ids must differ from Hugging Face's, as llama.cpp's do.
 */
class GgufTokenizerRoundTripTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"mistral", "llama2", "llama3", "qwen3"})
    void givesTheGoldenIdsAfterAGgufRoundTrip(String name) throws IOException {
        Tokenizer original = RealTokenizers.load(name);
        GgufWriter writer = new GgufWriter();
        original.ggufMetadata().forEach(writer::put);
        Path file = dir.resolve(name + ".gguf");
        writer.write(file, bytes -> { });
        try (GgufFile gguf = GgufFile.open(file)) {
            Tokenizer t = Tokenizers.fromGguf(gguf);
            assertEquals(original.ggufModel(), t.ggufModel());
            assertEquals(original.ggufPre(), t.ggufPre());
            assertEquals(original.addBos(), t.addBos());
            assertEquals(original.bosId(), t.bosId());
            assertEquals(original.eosId(), t.eosId());
            assertEquals(original.eotId(), t.eotId());
            for (Case c : RealTokenizers.cases(name)) {
                int[] got = t.encode(c.text());
                if (name.equals("qwen3") && !Normalizer.unicode(java.text.Normalizer.Form.NFC).apply(c.text()).equals(c.text())) {
                    assertNotEquals(Arrays.toString(c.ids()), Arrays.toString(got), c::toString);
                    continue;
                }
                assertArrayEquals(c.ids(), got, () -> c + ": got " + Arrays.toString(got));
                assertArrayEquals(c.idsDefault(), t.encodeWithBos(c.text()), c::toString);
                assertEquals(c.decoded(), t.decode(c.ids()), c::toString);
            }
        }
    }
}
