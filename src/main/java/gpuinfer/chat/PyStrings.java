package gpuinfer.chat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Python's str methods where Java's differ: whitespace is Python's {@code str.isspace()}, split is literal. */
final class PyStrings {
    private PyStrings() {
    }

    /** Python's {@code str.isspace()} for one char: Java's whitespace plus U+0085, U+00A0, U+2007 and U+202F. */
    static boolean isSpace(int c) {
        return Character.isWhitespace(c) || c == 0x85 || c == 0xa0 || c == 0x2007 || c == 0x202f;
    }

    static String strip(String s, String chars, boolean left, boolean right) {
        int lo = 0;
        int hi = s.length();
        if (left) {
            while (lo < hi && strippable(s.charAt(lo), chars)) {
                lo++;
            }
        }
        if (right) {
            while (hi > lo && strippable(s.charAt(hi - 1), chars)) {
                hi--;
            }
        }
        return s.substring(lo, hi);
    }

    private static boolean strippable(char c, String chars) {
        return chars == null ? isSpace(c) : chars.indexOf(c) >= 0;
    }

    /** {@code startswith}/{@code endswith} with a string or a tuple (list) of strings. */
    static boolean startsOrEnds(String s, Object prefixes, boolean start) {
        if (prefixes instanceof Iterable<?> options) {
            for (Object o : options) {
                if (startsOrEnds(s, o, start)) {
                    return true;
                }
            }
            return false;
        }
        if (!(prefixes instanceof CharSequence p)) {
            throw new IllegalArgumentException((start ? "startswith" : "endswith")
                    + " first arg must be str or a tuple of str, not " + prefixes);
        }
        return start ? s.startsWith(p.toString()) : s.endsWith(p.toString());
    }

    static List<String> split(String s, String sep, int maxsplit) {
        List<String> out = new ArrayList<>();
        if (sep == null) {
            int i = 0;
            int n = s.length();
            while (true) {
                while (i < n && isSpace(s.charAt(i))) {
                    i++;
                }
                if (i >= n) {
                    break;
                }
                if (maxsplit >= 0 && out.size() == maxsplit) {
                    out.add(strip(s.substring(i), null, false, true));
                    break;
                }
                int j = i;
                while (j < n && !isSpace(s.charAt(j))) {
                    j++;
                }
                out.add(s.substring(i, j));
                i = j;
            }
            return out;
        }
        if (sep.isEmpty()) {
            throw new IllegalArgumentException("empty separator");
        }
        int from = 0;
        while (maxsplit < 0 || out.size() < maxsplit) {
            int at = s.indexOf(sep, from);
            if (at < 0) {
                break;
            }
            out.add(s.substring(from, at));
            from = at + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    static List<String> rsplit(String s, String sep, int maxsplit) {
        if (maxsplit < 0) {
            return split(s, sep, -1);
        }
        if (sep == null) {
            List<String> out = new ArrayList<>();
            int j = s.length();
            while (true) {
                while (j > 0 && isSpace(s.charAt(j - 1))) {
                    j--;
                }
                if (j == 0) {
                    break;
                }
                if (out.size() == maxsplit) {
                    out.add(strip(s.substring(0, j), null, true, false));
                    break;
                }
                int i = j;
                while (i > 0 && !isSpace(s.charAt(i - 1))) {
                    i--;
                }
                out.add(s.substring(i, j));
                j = i;
            }
            Collections.reverse(out);
            return out;
        }
        if (sep.isEmpty()) {
            throw new IllegalArgumentException("empty separator");
        }
        List<String> out = new ArrayList<>();
        int end = s.length();
        while (out.size() < maxsplit) {
            int at = s.lastIndexOf(sep, end - sep.length());
            if (at < 0) {
                break;
            }
            out.add(s.substring(at + sep.length(), end));
            end = at;
        }
        out.add(s.substring(0, end));
        Collections.reverse(out);
        return out;
    }

    static List<String> splitlines(String s) {
        List<String> out = new ArrayList<>();
        int start = 0;
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            boolean lineBreak = c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d
                    || c == 0x1e || c == 0x85 || c == 0x2028 || c == 0x2029;
            if (lineBreak) {
                out.add(s.substring(start, i));
                i += c == '\r' && i + 1 < s.length() && s.charAt(i + 1) == '\n' ? 2 : 1;
                start = i;
            } else {
                i++;
            }
        }
        if (start < s.length()) {
            out.add(s.substring(start));
        }
        return out;
    }

    /** Python's {@code str.title()}: a cased letter after an uncased character is upper case, others lower. */
    static String title(String s) {
        StringBuilder out = new StringBuilder(s.length());
        boolean previousCased = false;
        for (int i = 0; i < s.length(); ) {
            int c = s.codePointAt(i);
            boolean cased = Character.isUpperCase(c) || Character.isLowerCase(c) || Character.isTitleCase(c);
            if (cased) {
                out.appendCodePoint(previousCased ? Character.toLowerCase(c) : Character.toTitleCase(c));
            } else {
                out.appendCodePoint(c);
            }
            previousCased = cased;
            i += Character.charCount(c);
        }
        return out.toString();
    }

    static String replace(String s, String old, String replacement, int count) {
        if (count < 0) {
            return s.replace(old, replacement);
        }
        StringBuilder out = new StringBuilder();
        int from = 0;
        for (int n = 0; n < count; n++) {
            int at = old.isEmpty() ? (from <= s.length() ? from : -1) : s.indexOf(old, from);
            if (at < 0) {
                break;
            }
            out.append(s, from, at).append(replacement);
            if (old.isEmpty()) {
                if (at < s.length()) {
                    out.append(s.charAt(at));
                }
                from = at + 1;
            } else {
                from = at + old.length();
            }
        }
        if (from <= s.length()) {
            out.append(s.substring(from));
        }
        return out.toString();
    }

    static int count(String s, String sub) {
        if (sub.isEmpty()) {
            return s.length() + 1;
        }
        int n = 0;
        for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) {
            n++;
        }
        return n;
    }

    static String join(String separator, Object items) {
        if (!(items instanceof Iterable<?> iterable)) {
            throw new IllegalArgumentException("join: can only join an iterable, not " + items);
        }
        StringBuilder out = new StringBuilder();
        boolean first = true;
        for (Object o : iterable) {
            if (!first) {
                out.append(separator);
            }
            first = false;
            if (!(o instanceof CharSequence)) {
                throw new IllegalArgumentException("join: expected str instance, found " + o);
            }
            out.append(o);
        }
        return out.toString();
    }
}
