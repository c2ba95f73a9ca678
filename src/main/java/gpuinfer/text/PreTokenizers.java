package gpuinfer.text;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The pre-tokenizers gpu-infer implements: each step cuts every piece the previous step made into smaller pieces
 * (Hugging Face's {@code Sequence}); BPE never merges across a cut.
 *
 * <ul>
 *   <li>GPT-2's regex, hand-written in {@link PreTokenizer} (Hugging Face's ByteLevel with {@code use_regex});</li>
 *   <li>a regex with behaviour Isolated (Hugging Face's Split): each match is a piece and so is the text between;
 *       run by {@code java.util.regex} with {@code UNICODE_CHARACTER_CLASS}, whose {@code \s} (White_Space),
 *       {@code \p{L}} and {@code \p{N}} are those of the Rust and Oniguruma engines Hugging Face uses;</li>
 *   <li>Digits: every numeric character its own piece, or runs of them;</li>
 *   <li>Metaspace: spaces become "▁", a "▁" is put in front, and pieces are cut before each "▁".</li>
 * </ul>
 */
final class PreTokenizers {
    /** Llama 3's split regex (GGUF pre "llama-bpe"). */
    static final String LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"
            + " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    /** Qwen2's (and Qwen3's) split regex: Llama 3's with single digits (GGUF pre "qwen2"). */
    static final String QWEN2_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|"
            + " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    /** The regex PreTokenizer implements by hand. */
    static final String GPT2_REGEX = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    /** GGUF pre-tokenizer names gpu-infer reads, for messages. */
    static final String SUPPORTED_GGUF = "\"gpt-2\" (also \"default\"), \"llama-bpe\" (also \"llama3\"), \"qwen2\" and \"smollm\"";

    /** One step. {@code first} says the piece is the start of the whole text (Metaspace's prepend_scheme "first"). */
    interface Step {
        void split(String piece, boolean first, List<String> out);
    }

    private PreTokenizers() {
    }

    /** Runs the steps over one piece of ordinary text. */
    static List<String> run(List<Step> steps, String text, boolean first) {
        List<String> pieces = new ArrayList<>();
        pieces.add(text);
        for (Step step : steps) {
            List<String> next = new ArrayList<>(pieces.size() * 2);
            for (int i = 0; i < pieces.size(); i++) {
                step.split(pieces.get(i), first && i == 0, next);
            }
            pieces = next;
        }
        return pieces;
    }

    /** GPT-2's regex (ByteLevel with use_regex), with ByteLevel's add_prefix_space. */
    static Step gpt2(boolean addPrefixSpace) {
        return (piece, first, out) -> {
            String s = addPrefixSpace && !piece.startsWith(" ") ? " " + piece : piece;
            for (int start = 0; start < s.length(); ) {
                int end = PreTokenizer.next(s, start, s.length());
                out.add(s.substring(start, end));
                start = end;
            }
        };
    }

    /** ByteLevel without its regex: only add_prefix_space, or nothing. */
    static Step prefixSpace(boolean addPrefixSpace) {
        return (piece, first, out) -> out.add(addPrefixSpace && !piece.startsWith(" ") ? " " + piece : piece);
    }

    /** Split with behaviour Isolated: every match and every stretch between matches is a piece. */
    static Step isolated(Pattern pattern) {
        return (piece, first, out) -> {
            Matcher m = pattern.matcher(piece);
            int last = 0;
            while (m.find()) {
                if (m.end() == m.start()) {
                    continue; // Hugging Face skips empty matches
                }
                if (m.start() > last) {
                    out.add(piece.substring(last, m.start()));
                }
                out.add(piece.substring(m.start(), m.end()));
                last = m.end();
            }
            if (last < piece.length()) {
                out.add(piece.substring(last));
            }
        };
    }

    static Pattern compile(String regex) {
        return Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
    }

    /** Digits: numeric characters (Rust's char::is_numeric: Nd, Nl, No) each alone, or in runs. */
    static Step digits(boolean individual) {
        return (piece, first, out) -> {
            int from = 0;
            int i = 0;
            while (i < piece.length()) {
                int cp = piece.codePointAt(i);
                int n = Character.charCount(cp);
                if (isNumeric(cp)) {
                    int end = i + n;
                    if (!individual) {
                        while (end < piece.length() && isNumeric(piece.codePointAt(end))) {
                            end += Character.charCount(piece.codePointAt(end));
                        }
                    }
                    if (i > from) {
                        out.add(piece.substring(from, i));
                    }
                    out.add(piece.substring(i, end));
                    from = end;
                    i = end;
                } else {
                    i += n;
                }
            }
            if (from < piece.length()) {
                out.add(piece.substring(from));
            }
        };
    }

    private static boolean isNumeric(int cp) {
        int t = Character.getType(cp);
        return t == Character.DECIMAL_DIGIT_NUMBER || t == Character.LETTER_NUMBER || t == Character.OTHER_NUMBER;
    }

    /**
     * Metaspace: ' ' becomes {@code replacement}; the replacement is put in front unless the piece starts with it
     * ("always", or "first" for the start of the text only, "never"); with {@code split} the piece is cut before
     * every replacement character (behaviour MergedWithNext).
     */
    static Step metaspace(char replacement, String prependScheme, boolean split) {
        return (piece, first, out) -> {
            String s = piece.replace(' ', replacement);
            boolean prepend = prependScheme.equals("always") || prependScheme.equals("first") && first;
            if (prepend && !s.isEmpty() && s.charAt(0) != replacement) {
                s = replacement + s;
            }
            if (!split) {
                out.add(s);
                return;
            }
            int from = 0;
            for (int i = 1; i < s.length(); i++) {
                if (s.charAt(i) == replacement) {
                    out.add(s.substring(from, i));
                    from = i;
                }
            }
            if (from < s.length()) {
                out.add(s.substring(from));
            }
        };
    }

    /** The steps for a GGUF {@code tokenizer.ggml.pre} of a byte-level BPE tokenizer, or null when not known. */
    static List<Step> forGguf(String pre) {
        return switch (pre) {
            case "gpt-2", "default" -> List.of(gpt2(false));
            case "llama-bpe", "llama3" -> List.of(isolated(compile(LLAMA3_REGEX)));
            case "qwen2" -> List.of(isolated(compile(QWEN2_REGEX)));
            case "smollm" -> List.of(digits(true), gpt2(false));
            default -> null;
        };
    }

    /** The canonical GGUF name: "llama3" is written "llama-bpe", "default" "gpt-2". */
    static String canonicalGguf(String pre) {
        return switch (pre) {
            case "default" -> "gpt-2";
            case "llama3" -> "llama-bpe";
            default -> pre;
        };
    }
}
