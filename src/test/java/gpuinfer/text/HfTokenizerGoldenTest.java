package gpuinfer.text;

import gpuinfer.text.RealTokenizers.Case;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Mistral and Llama 2 (SentencePiece-style BPE), Llama 3 and Qwen3 tokenizers, loaded from their real
 * tokenizer.json, against Hugging Face's ids for the nasty strings of tools/golden_tokenizers.mjs. Llama 2's
 * tokenizer.json is built from llama-tokenizer-js's vocabulary and merges (tools/llama2_tokenizer_from_js.mjs), and
 * its golden ids are Hugging Face's, checked against llama-tokenizer-js's own BPE, which agrees on every text
 * without special tokens in it (see "disagreements" in golden/tokenizer/llama2.json).
 */
class HfTokenizerGoldenTest {
    static List<Case> cases() {
        return RealTokenizers.allCases();
    }

    /** The SentencePiece-style tokenizers, which a GGUF file of type "llama" carries with scores. */
    static List<Case> sentencePieceCases() {
        List<Case> out = new java.util.ArrayList<>(RealTokenizers.cases("mistral"));
        out.addAll(RealTokenizers.cases("llama2"));
        return out;
    }

    @ParameterizedTest
    @MethodSource("cases")
    void encodesToHuggingFacesIds(Case c) {
        Tokenizer t = RealTokenizers.load(c.tokenizer());
        int[] got = t.encode(c.text());
        assertArrayEquals(c.ids(), got, () -> c + ": got " + Arrays.toString(got) + " " + strings(t, got)
                + ", Hugging Face " + Arrays.toString(c.ids()) + " " + strings(t, c.ids()));
    }

    @ParameterizedTest
    @MethodSource("cases")
    void addsSpecialTokensAsHuggingFaceDoesByDefault(Case c) {
        Tokenizer t = RealTokenizers.load(c.tokenizer());
        assertArrayEquals(c.idsDefault(), t.encodeWithBos(c.text()), c::toString);
    }

    @ParameterizedTest
    @MethodSource("cases")
    void decodesAsHuggingFaceDoes(Case c) {
        Tokenizer t = RealTokenizers.load(c.tokenizer());
        assertEquals(c.decoded(), t.decode(c.ids()), c::toString);
        StringBuilder streamed = new StringBuilder();
        var stream = t.streamingDecoder();
        for (int id : c.ids()) {
            streamed.append(stream.feed(id));
        }
        assertEquals(c.decoded(), streamed.append(stream.finish()).toString(), () -> c + " streamed");
        if (c.decoded().equals(c.text())) {
            assertEquals(c.text(), t.decode(t.encode(c.text())), () -> c + " round trip");
        }
    }

    /** A GGUF file of type "llama" written from the tokenizer.json (scores from SpmScores) must tokenize the same. */
    @ParameterizedTest
    @MethodSource("sentencePieceCases")
    void scoreBasedSentencePieceGivesTheSameIds(Case c) {
        Tokenizer spm = Tokenizers.asGgufWouldLoad(RealTokenizers.load(c.tokenizer()));
        assertEquals("llama", spm.ggufModel());
        int[] got = spm.encode(c.text());
        assertArrayEquals(c.ids(), got, () -> c + ": got " + Arrays.toString(got) + " " + strings(spm, got));
        assertArrayEquals(c.idsDefault(), spm.encodeWithBos(c.text()), c::toString);
        assertEquals(c.decoded(), spm.decode(c.ids()), c::toString);
    }

    @Test
    void knowsTheSpecialTokens() {
        Tokenizer mistral = RealTokenizers.load("mistral");
        assertEquals(32000, mistral.vocabSize());
        assertEquals(1, mistral.bosId().orElseThrow());
        assertEquals(2, mistral.eosId().orElseThrow());
        assertEquals(0, mistral.unknownId().orElseThrow());
        assertTrue(mistral.addBos());
        assertFalse(mistral.addEos());
        assertEquals(TokenType.BYTE, mistral.tokenType(3));
        assertEquals(TokenType.CONTROL, mistral.tokenType(1));
        assertEquals(TokenType.UNKNOWN, mistral.tokenType(0));
        assertEquals("llama", mistral.ggufModel());
        assertEquals("default", mistral.ggufPre());
        assertEquals(2, mistral.idOf("</s>").orElseThrow());

        Tokenizer llama2 = RealTokenizers.load("llama2");
        assertEquals(32000, llama2.vocabSize());
        assertEquals(1, llama2.bosId().orElseThrow());
        assertEquals(2, llama2.eosId().orElseThrow());
        assertEquals(0, llama2.unknownId().orElseThrow());
        assertTrue(llama2.addBos());
        assertFalse(llama2.addEos());
        assertEquals(TokenType.BYTE, llama2.tokenType(3 + 0x0A));
        assertEquals(TokenType.CONTROL, llama2.tokenType(2));
        assertEquals("llama", llama2.ggufModel());
        assertEquals("default", llama2.ggufPre());
        assertEquals(61249, llama2.merges().length);
        assertEquals(29871, llama2.idOf("\u2581").orElseThrow());
        assertArrayEquals(new int[] {15043, 3186}, llama2.encode("Hello world"), "Llama 2's ids, not Mistral's");

        Tokenizer llama3 = RealTokenizers.load("llama3");
        assertEquals(128256, llama3.vocabSize());
        assertEquals(128000, llama3.bosId().orElseThrow());
        assertEquals(128001, llama3.eosId().orElseThrow());
        assertEquals(128009, llama3.eotId().orElseThrow());
        assertEquals(128009, llama3.idOf("<|eot_id|>").orElseThrow());
        assertFalse(llama3.addBos(), "this first Llama 3 release adds no BOS through its post-processor");
        assertEquals("gpt2", llama3.ggufModel());
        assertEquals("llama-bpe", llama3.ggufPre());
        assertEquals(280147, llama3.merges().length);

        Tokenizer qwen = RealTokenizers.load("qwen3");
        assertEquals(151669, qwen.vocabSize());
        assertEquals(151645, qwen.eosId().orElseThrow());
        assertEquals(151645, qwen.eotId().orElseThrow());
        assertEquals(151643, qwen.paddingId().orElseThrow());
        assertTrue(qwen.bosId().isEmpty());
        assertEquals(TokenType.USER_DEFINED, qwen.tokenType(qwen.idOf("<think>").orElseThrow()));
        assertEquals("qwen2", qwen.ggufPre());
    }

    @Test
    void theContinuationDecoderKeepsTheSpaceBeforeAWord() {
        Tokenizer mistral = RealTokenizers.load("mistral");
        int[] ids = mistral.encode("Hello world");
        var stream = mistral.continuationDecoder();
        StringBuilder out = new StringBuilder();
        for (int id : ids) {
            out.append(stream.feed(id));
        }
        assertEquals(" Hello world", out.append(stream.finish()).toString());
        assertEquals("Hello world", mistral.decode(ids));
    }

    /** Loading and encoding times, printed; the bounds are loose because test machines are shared. */
    @Test
    void loadsAndEncodesQuickly() {
        StringBuilder text = new StringBuilder();
        for (Case c : RealTokenizers.allCases()) {
            text.append(c.text()).append('\n');
        }
        String corpus = text.toString().repeat(20);
        for (String name : RealTokenizers.NAMES) {
            java.nio.file.Path folder = RealTokenizers.folder(name);
            double[] loadMs = new double[2];
            Tokenizer t = null;
            for (int i = 0; i < 2; i++) {
                long start = System.nanoTime();
                t = Tokenizers.fromFolder(folder);
                loadMs[i] = (System.nanoTime() - start) / 1e6;
            }
            double encodeMs = Double.MAX_VALUE;
            int n = 0;
            for (int i = 0; i < 5; i++) {
                long start = System.nanoTime();
                n = t.encode(corpus).length;
                encodeMs = Math.min(encodeMs, (System.nanoTime() - start) / 1e6);
            }
            System.out.printf("%s: loaded in %.0f ms (again: %.0f ms); %d chars -> %d tokens in %.1f ms (%.1f MB/s)%n",
                    name, loadMs[0], loadMs[1], corpus.length(), n, encodeMs, corpus.length() / encodeMs / 1e3);
            assertTrue(loadMs[1] < 10_000, name + " took " + loadMs[1] + " ms to load");
        }
    }

    static String strings(Tokenizer t, int[] ids) {
        StringBuilder s = new StringBuilder("[");
        for (int id : ids) {
            s.append(s.length() > 1 ? ", " : "").append(id >= 0 && id < t.vocabSize() ? VocabFile.quote(t.tokenString(id)) : "?");
        }
        return s.append(']').toString();
    }
}
