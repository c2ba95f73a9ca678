package gpuinfer.text;

/**
 * GPT-2's pre-tokenization: the regex
 * <pre>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</pre>
 * applied repeatedly (Python's {@code regex.findall}), written out by hand because it is the hot loop of encoding.
 * The pieces are: an English contraction suffix (lowercase only: {@code 'S} is not one); a run of letters, of numbers,
 * or of anything else, each optionally preceded by one ASCII space; a run of whitespace that leaves its last
 * character to the next piece when a non-whitespace character follows; a single whitespace character.
 *
 * <p>The character classes are Unicode's, as in Python's {@code regex} module (and Java's
 * {@code Pattern.UNICODE_CHARACTER_CLASS}, which {@code PreTokenizerTest} checks this against): {@code \p{L}} is
 * general category L, {@code \p{N}} is Nd, Nl and No, and {@code \s} is the White_Space property: tab to carriage
 * return, U+0085, and categories Zs, Zl and Zp (so U+00A0 and U+3000 are whitespace, U+FEFF and U+200B are not).
 * Categories come from the running JVM's Unicode tables (Unicode 13 in Java 17). Code points, not UTF-16 units, are
 * classified; lone surrogates are "anything else".
 */
final class PreTokenizer {
    static final int LETTER = 0;
    static final int NUMBER = 1;
    static final int SPACE = 2;
    static final int OTHER = 3;

    private static final byte[] ASCII = new byte[128];

    static {
        for (int c = 0; c < 128; c++) {
            ASCII[c] = (byte) ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ? LETTER
                    : c >= '0' && c <= '9' ? NUMBER
                    : (c >= '\t' && c <= '\r') || c == ' ' ? SPACE : OTHER);
        }
    }

    private PreTokenizer() {
    }

    /** The class of a code point: {@link #LETTER}, {@link #NUMBER}, {@link #SPACE} or {@link #OTHER}. */
    static int classOf(int codePoint) {
        if (codePoint < 128) {
            return ASCII[codePoint];
        }
        switch (Character.getType(codePoint)) {
            case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER,
                    Character.MODIFIER_LETTER, Character.OTHER_LETTER:
                return LETTER;
            case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER:
                return NUMBER;
            case Character.SPACE_SEPARATOR, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR:
                return SPACE;
            default:
                return codePoint == 0x85 ? SPACE : OTHER;
        }
    }

    /**
     * The end of the piece that starts at {@code start}, treating {@code end} as the end of the text (the regex's
     * lookahead sees nothing beyond it). Requires {@code start < end}.
     */
    static int next(CharSequence text, int start, int end) {
        char c = text.charAt(start);
        if (c == '\'' && start + 1 < end) {
            char d = text.charAt(start + 1);
            if (d == 's' || d == 't' || d == 'm' || d == 'd') {
                return start + 2;
            }
            if (start + 2 < end) {
                char e = text.charAt(start + 2);
                if ((d == 'r' || d == 'v') && e == 'e' || d == 'l' && e == 'l') {
                    return start + 3;
                }
            }
        }
        if (c == ' ' && start + 1 < end) {
            int following = classOf(codePointAt(text, start + 1, end));
            if (following != SPACE) {
                return runEnd(text, start + 1, end, following);
            }
        }
        int first = codePointAt(text, start, end);
        int cls = classOf(first);
        if (cls != SPACE) {
            return runEnd(text, start + Character.charCount(first), end, cls);
        }
        // \s+(?!\S) takes the whole run at the end of the text, otherwise all of it but its last character (which
        // may begin the next piece, as in "  word" -> " ", " word"); a single one before a non-space is \s+.
        int last = start;
        int i = start + Character.charCount(first);
        while (i < end) {
            int cp = codePointAt(text, i, end);
            if (classOf(cp) != SPACE) {
                return last > start ? last : i;
            }
            last = i;
            i += Character.charCount(cp);
        }
        return end;
    }

    private static int runEnd(CharSequence text, int i, int end, int cls) {
        while (i < end) {
            int cp = codePointAt(text, i, end);
            if (classOf(cp) != cls) {
                break;
            }
            i += Character.charCount(cp);
        }
        return i;
    }

    private static int codePointAt(CharSequence text, int i, int end) {
        char c = text.charAt(i);
        if (Character.isHighSurrogate(c) && i + 1 < end) {
            char d = text.charAt(i + 1);
            if (Character.isLowSurrogate(d)) {
                return Character.toCodePoint(c, d);
            }
        }
        return c;
    }
}
