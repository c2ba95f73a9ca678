package gpuinfer.text;

import gpuinfer.testing.Gpt2Files;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Properties over random text: decode(encode(s)) == s, streaming == decode, and encoding speed. */
class Gpt2TokenizerPropertyTest {
    @TempDir
    static Path dir;
    static Gpt2Tokenizer gpt2;

    /** Ranges of code points to draw from: scripts, digits, marks, emoji and their joiners, every kind of space. */
    private static final int[][] RANGES = {
        {0x20, 0x7E}, {0x20, 0x7E}, {0x20, 0x7E}, {0x00, 0x1F}, {0x7F, 0xFF}, {0x100, 0x24F}, {0x300, 0x36F},
        {0x370, 0x3FF}, {0x400, 0x4FF}, {0x590, 0x5FF}, {0x600, 0x6FF}, {0x900, 0x97F}, {0xE00, 0xE7F},
        {0x1100, 0x11FF}, {0x3040, 0x30FF}, {0x4E00, 0x9FFF}, {0xAC00, 0xD7A3}, {0xFF00, 0xFFEF}, {0xFE00, 0xFE0F},
        {0x1F1E6, 0x1F1FF}, {0x1F300, 0x1F64F}, {0x1F900, 0x1F9FF}, {0x1D400, 0x1D7FF}, {0x20000, 0x2A6DF},
        {0x2000, 0x206F}, {0xE000, 0xF8FF}, {0xFFF0, 0xFFFF}, {0x10000, 0x10FFFF},
    };
    private static final int[] SPACES = {' ', ' ', '\t', '\n', '\r', 0x0B, 0x0C, 0x85, 0xA0, 0x1680, 0x2000, 0x2007,
        0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF, 0x200B, 0x200D, '\''};

    @BeforeAll
    static void load() {
        gpt2 = Gpt2Tokenizer.fromModelDirectory(Gpt2Files.writeModelDirectory(dir));
    }

    @Test
    void decodeOfEncodeIsTheTextForRandomUnicode() {
        Random random = new Random(2024);
        for (int n = 0; n < 3000; n++) {
            String text = randomText(random, random.nextInt(n < 2900 ? 40 : 2000));
            int[] ids = gpt2.encode(text);
            assertEquals(text, gpt2.decode(ids), () -> "ids " + java.util.Arrays.toString(ids));
            assertEquals(text, streamed(ids));
        }
    }

    @Test
    void loneSurrogatesEncodeAsTheReplacementCharacter() {
        Random random = new Random(99);
        for (int n = 0; n < 1000; n++) {
            StringBuilder s = new StringBuilder(randomText(random, 10));
            for (int k = 0; k < 3; k++) {
                char surrogate = (char) (0xD800 + random.nextInt(0x800));
                s.insert(random.nextInt(s.length() + 1), surrogate);
            }
            String text = s.toString();
            String replaced = Gpt2Tokenizer.replaceLoneSurrogates(text);
            assertArrayEquals(gpt2.encode(replaced), gpt2.encode(text));
            assertEquals(replaced, gpt2.decode(gpt2.encode(text)));
        }
        assertEquals("a\uFFFDb\uFFFD\uD83D\uDE00\uFFFD", Gpt2Tokenizer.replaceLoneSurrogates("a\uDC00b\uD800\uD83D\uDE00\uD83D"));
        assertArrayEquals(gpt2.encode("a\uFFFDb"), gpt2.encode("a\uD800b"));
    }

    @Test
    void encodesAMegabyteOfEnglishQuickly() {
        String text = english(new Random(5), 1 << 20);
        for (int i = 0; i < 3; i++) {
            gpt2.encode(text); // warm-up: JIT and the piece cache
        }
        long start = System.nanoTime();
        int[] ids = gpt2.encode(text);
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("encoded %d chars into %d tokens in %.3f s: %.1f M chars/s%n", text.length(), ids.length,
                seconds, text.length() / seconds / 1e6);
        // The requirement is "well under a second"; the bound is loose so that a slow shared CI machine does not fail.
        assertTrue(seconds < 3, "1 MB of English took " + seconds + " s");
        assertEquals(text, gpt2.decode(ids));
    }

    @Test
    void longPiecesCostNLogN() {
        // A page of Chinese is one piece (no spaces); GPT-2's own O(n^2) loop would take hours on this.
        StringBuilder chinese = new StringBuilder();
        Random random = new Random(3);
        while (chinese.length() < 200_000) {
            chinese.appendCodePoint(0x4E00 + random.nextInt(0x5200));
        }
        String[] texts = {chinese.toString(), "a".repeat(300_000), " ".repeat(300_000) + "x", "!?".repeat(150_000)};
        for (String text : texts) {
            long start = System.nanoTime();
            int[] ids = gpt2.encode(text);
            double seconds = (System.nanoTime() - start) / 1e9;
            assertTrue(seconds < 5, text.length() + " chars in one piece took " + seconds + " s");
            assertEquals(text, gpt2.decode(ids));
        }
    }

    private static String streamed(int[] ids) {
        StreamingDecoder stream = gpt2.streamingDecoder();
        StringBuilder out = new StringBuilder();
        for (int id : ids) {
            out.append(stream.feed(id));
        }
        return out.append(stream.finish()).toString();
    }

    private static String randomText(Random random, int codePoints) {
        StringBuilder s = new StringBuilder();
        int[] range = RANGES[random.nextInt(RANGES.length)];
        for (int i = 0; i < codePoints; i++) {
            if (random.nextInt(8) == 0) {
                range = RANGES[random.nextInt(RANGES.length)]; // mostly runs of one script, as text is
            }
            int cp;
            if (random.nextInt(4) == 0) {
                cp = SPACES[random.nextInt(SPACES.length)];
            } else {
                do {
                    cp = range[0] + random.nextInt(range[1] - range[0] + 1);
                } while (cp >= 0xD800 && cp <= 0xDFFF);
            }
            s.appendCodePoint(cp);
        }
        return s.toString();
    }

    /** Pseudo-English: common words, made-up words (cache misses), numbers, punctuation and paragraphs. */
    static String english(Random random, int chars) {
        String[] common = ("the of and to in a is that for it as was with be by on not he I this are or his from at "
                + "which but have an they you were her she there been one all we their has would when if so no will "
                + "more time people could about than first other new some what into only its like these two may then "
                + "do any my now such our over man me even most made after also did many before must through back "
                + "years where much your way well down should because each just those how too little state good very "
                + "make world still own see men work long get here between both life being under never day same "
                + "another know while last might us great old year off come since against go came right used take "
                + "three don't it's I'm they're we've you'll he'd").split(" ");
        String[] syllables = "ka to ri ne sh ou ber lin ta ex pl or ion al ed ing st qu ver com".split(" ");
        StringBuilder s = new StringBuilder(chars + 100);
        boolean sentenceStart = true;
        while (s.length() < chars) {
            String word;
            int r = random.nextInt(100);
            if (r < 80) {
                word = common[random.nextInt(common.length)];
            } else if (r < 95) {
                StringBuilder w = new StringBuilder();
                for (int k = 1 + random.nextInt(4); k > 0; k--) {
                    w.append(syllables[random.nextInt(syllables.length)]);
                }
                word = w.toString();
            } else {
                word = Integer.toString(random.nextInt(100_000));
            }
            if (sentenceStart) {
                word = Character.toUpperCase(word.charAt(0)) + word.substring(1);
            }
            s.append(word);
            sentenceStart = false;
            r = random.nextInt(100);
            if (r < 6) {
                s.append(". ");
                sentenceStart = true;
            } else if (r < 10) {
                s.append(", ");
            } else if (r < 11) {
                s.append(".\n\n");
                sentenceStart = true;
            } else {
                s.append(' ');
            }
        }
        return s.toString();
    }
}
