package gpuinfer.text;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;

class PreTokenizerTest {
    /** GPT-2's regex as java.util.regex reads it with Unicode classes: the specification PreTokenizer writes out. */
    private static final Pattern GPT2 = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

    /** Characters where the pieces change: every class, apostrophes, contraction letters, Unicode whitespace. */
    private static final int[] ALPHABET = {
        ' ', ' ', ' ', '\t', '\n', '\r', 0x0B, 0x0C, 0x85, 0xA0, 0x1680, 0x2000, 0x2009, 0x200A, 0x2028, 0x2029, 0x202F,
        0x205F, 0x3000, 0xFEFF, 0x200B, 0x180E, 0x1C, 0x1F,
        '\'', '\'', 's', 't', 'r', 'e', 'v', 'm', 'l', 'd', 'S', 'T', 'R', 'E', 'a', 'z',
        'é', 'ß', 'Ω', 'ж', '中', 'あ', 'ﾀ', 0x02B0, 0x01C5, 0x1D4D7,
        '0', '9', '٣', '²', '½', 'Ⅻ', 0x1D7D8,
        '!', '.', '-', '"', '€', 0x0301, 0x200D, 0xFE0F, 0x1F600, 0x1F1FA, 0x1F3FD, 0, 0x7F, 0xD800, 0xDC00,
    };

    @Test
    void cutsGpt2sPiecesInTheseExamples() {
        assertEquals(List.of("Hello", ",", " world", "!"), pieces("Hello, world!"));
        assertEquals(List.of("I", "'m", " here", "'s", " don", "'t", " HE", "'", "S"), pieces("I'm here's don't HE'S"));
        assertEquals(List.of(" '", "s", " '", "ll"), pieces(" 's 'll"));
        assertEquals(List.of("a", "  ", " b", "\n", "\n", "c", "   "), pieces("a   b\n\nc   "));
        assertEquals(List.of("x", "\u00a0", "y", " \u3000", " z"), pieces("x\u00a0y \u3000 z"));
        assertEquals(List.of("😀", " 😀😀!", " 12", "abc"), pieces("😀 😀😀! 12abc"));
        assertEquals(List.of("\n \n", " leading"), pieces("\n \n leading"));
    }

    @Test
    void agreesWithJavaRegexWithUnicodeClassesOnRandomText() {
        Random random = new Random(42);
        for (int n = 0; n < 20_000; n++) {
            StringBuilder s = new StringBuilder();
            int length = random.nextInt(12);
            for (int i = 0; i < length; i++) {
                s.appendCodePoint(ALPHABET[random.nextInt(ALPHABET.length)]);
            }
            String text = s.toString();
            assertEquals(regexPieces(text), pieces(text), () -> "text " + escape(text));
        }
    }

    @Test
    void classifiesEveryCodePointAsTheRegexClassesDo() {
        Pattern letter = Pattern.compile("\\p{L}", Pattern.UNICODE_CHARACTER_CLASS);
        Pattern number = Pattern.compile("\\p{N}", Pattern.UNICODE_CHARACTER_CLASS);
        Pattern space = Pattern.compile("\\s", Pattern.UNICODE_CHARACTER_CLASS);
        for (int cp = 0; cp < 0x110000; cp++) {
            String s = new String(Character.toChars(cp));
            int expected = letter.matcher(s).matches() ? PreTokenizer.LETTER : number.matcher(s).matches()
                    ? PreTokenizer.NUMBER : space.matcher(s).matches() ? PreTokenizer.SPACE : PreTokenizer.OTHER;
            assertEquals(expected, PreTokenizer.classOf(cp), s);
        }
    }

    static List<String> pieces(String text) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < text.length(); ) {
            int end = PreTokenizer.next(text, i, text.length());
            out.add(text.substring(i, end));
            i = end;
        }
        return out;
    }

    private static List<String> regexPieces(String text) {
        List<String> out = new ArrayList<>();
        Matcher m = GPT2.matcher(text);
        while (m.find()) {
            out.add(m.group());
        }
        return out;
    }

    private static String escape(String s) {
        StringBuilder b = new StringBuilder();
        s.chars().forEach(c -> b.append(c >= 0x20 && c < 0x7F ? String.valueOf((char) c) : String.format("\\u%04x", c)));
        return b.toString();
    }
}
