package gpuinfer.text;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Hugging Face's added tokens, as its {@code AddedVocabulary} finds them in text before anything else: the leftmost
 * occurrence of any of them, the longest when several start there (Aho-Corasick, leftmost-longest); the text between
 * occurrences is encoded as usual. A token with {@code lstrip} / {@code rstrip} takes the whitespace on its left /
 * right with it; one with {@code single_word} matches only when no word character touches it.
 * llama.cpp's GGUF tokenizers do the same with their control and user-defined tokens.
 */
final class AddedTokens {
    /** One token: its text, id and options. */
    record Token(String content, int id, boolean special, boolean lstrip, boolean rstrip, boolean singleWord) {
    }

    /** The pieces of a text: [from, to) of ordinary text when id < 0, else the added token id. */
    record Piece(int from, int to, int id) {
    }

    static final AddedTokens NONE = new AddedTokens(List.of());

    private final Map<Character, Token[]> byFirstChar = new HashMap<>();

    AddedTokens(List<Token> tokens) {
        Map<Character, List<Token>> lists = new HashMap<>();
        for (Token t : tokens) {
            if (!t.content().isEmpty()) {
                lists.computeIfAbsent(t.content().charAt(0), c -> new ArrayList<>()).add(t);
            }
        }
        lists.forEach((c, list) -> {
            Token[] sorted = list.toArray(new Token[0]);
            Arrays.sort(sorted, (a, b) -> Integer.compare(b.content().length(), a.content().length()));
            byFirstChar.put(c, sorted);
        });
    }

    boolean isEmpty() {
        return byFirstChar.isEmpty();
    }

    /** Splits {@code text} into ordinary text and added tokens, in order; empty text pieces are left out. */
    List<Piece> split(String text) {
        List<Piece> out = new ArrayList<>();
        int textFrom = 0;
        int i = 0;
        while (i < text.length()) {
            Token match = byFirstChar.isEmpty() ? null : longestAt(text, i);
            if (match == null) {
                i++;
                continue;
            }
            int start = i;
            int end = i + match.content().length();
            if (match.lstrip()) {
                while (start > textFrom && Character.isWhitespace(text.charAt(start - 1))) {
                    start--;
                }
            }
            if (match.rstrip()) {
                while (end < text.length() && Character.isWhitespace(text.charAt(end))) {
                    end++;
                }
            }
            if (start > textFrom) {
                out.add(new Piece(textFrom, start, -1));
            }
            out.add(new Piece(start, end, match.id()));
            textFrom = end;
            i = end;
        }
        if (textFrom < text.length()) {
            out.add(new Piece(textFrom, text.length(), -1));
        }
        return out;
    }

    private Token longestAt(String text, int i) {
        Token[] candidates = byFirstChar.get(text.charAt(i));
        if (candidates == null) {
            return null;
        }
        for (Token t : candidates) {
            if (text.startsWith(t.content(), i) && (!t.singleWord() || isWordBoundary(text, i, i + t.content().length()))) {
                return t;
            }
        }
        return null;
    }

    private static boolean isWordBoundary(String text, int from, int to) {
        boolean before = from > 0 && isWordChar(text.codePointBefore(from));
        boolean after = to < text.length() && isWordChar(text.codePointAt(to));
        return !before && !after;
    }

    private static boolean isWordChar(int cp) {
        return Character.isLetterOrDigit(cp) || cp == '_';
    }
}
