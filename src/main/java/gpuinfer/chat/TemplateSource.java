package gpuinfer.chat;

/**
 * The rewrites of template text gpu-infer makes before Jinjava parses it, each for a place where Jinjava's
 * expression parser reads valid jinja2 differently (or not at all). They are syntactic and general (not tied to
 * any model's template), apply inside {@code {{ }}} and {@code {% %}} only, skip string literals, and never add
 * or remove a line break, so line numbers in errors stay those of the original template:
 * <ul>
 *   <li>a subscript with a step, {@code x[a:b:c]} (Qwen3's {@code messages[::-1]}), becomes the call
 *       {@code x.py_slice__(a, b, c)}, which {@link PythonMethods} evaluates with Python's slice semantics:
 *       Jinjava accepts {@code x[a:b]} but not a third part;
 *   <li>{@code not X} becomes {@code not (X)}, X running to the next top-level {@code and}, {@code or},
 *       {@code if}, {@code else}, comma or closing bracket: in jinja2 {@code not} binds looser than comparisons
 *       and tests ({@code not x is defined} is {@code not (x is defined)}), in Jinjava tighter, so
 *       {@code {% if not add_generation_prompt is defined %}} was always false;
 *   <li>a keyword argument's value, {@code f(k=v)}, becomes {@code f(k=(v))}: Jinjava parses
 *       {@code namespace(i=messages|length - 1)} as {@code (i=messages|length) - 1} (Qwen3's template).
 * </ul>
 */
final class TemplateSource {
    private TemplateSource() {
    }

    static String rewrite(String template) {
        StringBuilder out = new StringBuilder(template.length());
        int i = 0;
        int n = template.length();
        while (i < n) {
            int open = nextTagOpen(template, i);
            if (open < 0) {
                out.append(template, i, n);
                break;
            }
            out.append(template, i, open + 2);
            String close = template.charAt(open + 1) == '{' ? "}}" : "%}";
            int end = findClose(template, open + 2, close);
            if (end < 0) {
                out.append(template, open + 2, n);
                break;
            }
            out.append(rewriteExpression(template.substring(open + 2, end)));
            i = end;
        }
        return out.toString();
    }

    private static int nextTagOpen(String t, int from) {
        for (int i = from; i + 1 < t.length(); i++) {
            if (t.charAt(i) == '{' && (t.charAt(i + 1) == '{' || t.charAt(i + 1) == '%')) {
                return i;
            }
            if (t.charAt(i) == '{' && t.charAt(i + 1) == '#') {
                int end = t.indexOf("#}", i + 2);
                if (end < 0) {
                    return -1;
                }
                i = end + 1;
            }
        }
        return -1;
    }

    /** The index of the closing delimiter, skipping string literals. */
    private static int findClose(String t, int from, String close) {
        for (int i = from; i < t.length(); i++) {
            char c = t.charAt(i);
            if (c == '\'' || c == '"') {
                i = skipString(t, i);
            } else if (t.startsWith(close, i)) {
                return i;
            }
        }
        return -1;
    }

    private static int skipString(String t, int quoteAt) {
        char q = t.charAt(quoteAt);
        for (int i = quoteAt + 1; i < t.length(); i++) {
            char c = t.charAt(i);
            if (c == '\\') {
                i++;
            } else if (c == q) {
                return i;
            }
        }
        return t.length() - 1;
    }

    static String rewriteExpression(String e) {
        return parenthesizeKeywordArguments(parenthesizeNot(rewriteSlices(e)));
    }

    private static String rewriteSlices(String e) {
        StringBuilder out = new StringBuilder();
        int i = 0;
        while (i < e.length()) {
            char c = e.charAt(i);
            if (c == '\'' || c == '"') {
                int end = skipString(e, i);
                out.append(e, i, end + 1);
                i = end + 1;
                continue;
            }
            if (c == '[' && followsOperand(out)) {
                int close = matching(e, i);
                if (close > 0) {
                    String inner = e.substring(i + 1, close);
                    java.util.List<String> parts = topLevelColonSplit(inner);
                    if (parts.size() == 3) {
                        out.append('.').append(PythonMethods.SLICE).append('(');
                        for (int p = 0; p < 3; p++) {
                            String part = rewriteSlices(parts.get(p)).strip();
                            out.append(p > 0 ? ", " : "").append(part.isEmpty() ? "none" : part);
                        }
                        out.append(')');
                        i = close + 1;
                        continue;
                    }
                }
            }
            out.append(c);
            i++;
        }
        return out.toString();
    }

    private static boolean followsOperand(StringBuilder out) {
        int j = out.length() - 1;
        if (j < 0) {
            return false;
        }
        char p = out.charAt(j);
        return Character.isLetterOrDigit(p) || p == '_' || p == ')' || p == ']' || p == '\'' || p == '"';
    }

    private static int matching(String e, int open) {
        int depth = 0;
        for (int i = open; i < e.length(); i++) {
            char c = e.charAt(i);
            if (c == '\'' || c == '"') {
                i = skipString(e, i);
            } else if (c == '[' || c == '(' || c == '{') {
                depth++;
            } else if (c == ']' || c == ')' || c == '}') {
                depth--;
                if (depth == 0) {
                    return c == ']' ? i : -1;
                }
            }
        }
        return -1;
    }

    private static java.util.List<String> topLevelColonSplit(String s) {
        java.util.List<String> parts = new java.util.ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\'' || c == '"') {
                i = skipString(s, i);
            } else if (c == '[' || c == '(' || c == '{') {
                depth++;
            } else if (c == ']' || c == ')' || c == '}') {
                depth--;
            } else if (c == ':' && depth == 0) {
                parts.add(s.substring(start, i));
                start = i + 1;
            }
        }
        parts.add(s.substring(start));
        return parts;
    }

    private static boolean isWordChar(char c) {
        return Character.isLetterOrDigit(c) || c == '_';
    }

    /** The word (identifier or keyword) starting at i, or "" when i does not start one. */
    private static String wordAt(String e, int i) {
        if (i >= e.length() || !isWordChar(e.charAt(i)) || (i > 0 && (isWordChar(e.charAt(i - 1)) || e.charAt(i - 1) == '.'))) {
            return "";
        }
        int j = i;
        while (j < e.length() && isWordChar(e.charAt(j))) {
            j++;
        }
        return e.substring(i, j);
    }

    private static String previousWord(String e, int i) {
        int j = i - 1;
        while (j >= 0 && Character.isWhitespace(e.charAt(j))) {
            j--;
        }
        int end = j + 1;
        while (j >= 0 && isWordChar(e.charAt(j))) {
            j--;
        }
        return e.substring(j + 1, end);
    }

    private static int skipSpaces(String e, int i) {
        while (i < e.length() && Character.isWhitespace(e.charAt(i))) {
            i++;
        }
        return i;
    }

    static String parenthesizeNot(String e) {
        StringBuilder out = new StringBuilder();
        int i = 0;
        while (i < e.length()) {
            char c = e.charAt(i);
            if (c == '\'' || c == '"') {
                int end = skipString(e, i);
                out.append(e, i, end + 1);
                i = end + 1;
                continue;
            }
            if (wordAt(e, i).equals("not") && !previousWord(e, i).equals("is")
                    && !wordAt(e, skipSpaces(e, i + 3)).equals("in")) {
                int start = skipSpaces(e, i + 3);
                int end = operandEnd(e, start);
                if (end > start) {
                    out.append("not (").append(parenthesizeNot(e.substring(start, end).stripTrailing())).append(')');
                    out.append(e, start + e.substring(start, end).stripTrailing().length(), end);
                    i = end;
                    continue;
                }
            }
            out.append(c);
            i++;
        }
        return out.toString();
    }

    /** Where the operand of a 'not' starting at start ends: the next top-level and/or/if/else, comma or closer. */
    private static int operandEnd(String e, int start) {
        return expressionEnd(e, start, true);
    }

    /** Where a call argument starting at start ends: the next top-level comma or closer. */
    private static int argumentEnd(String e, int start) {
        return expressionEnd(e, start, false);
    }

    /**
     * The end of the expression starting at start: a top-level comma or unmatched closer, and with
     * {@code atKeywords} a top-level and/or/if/else too; strings are skipped whole.
     */
    private static int expressionEnd(String e, int start, boolean atKeywords) {
        int depth = 0;
        for (int i = start; i < e.length(); i++) {
            char c = e.charAt(i);
            if (c == '\'' || c == '"') {
                i = skipString(e, i);
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                if (depth == 0) {
                    return i;
                }
                depth--;
            } else if (depth == 0 && c == ',') {
                return i;
            } else if (depth == 0 && atKeywords) {
                String w = wordAt(e, i);
                if (w.equals("and") || w.equals("or") || w.equals("if") || w.equals("else")) {
                    return i;
                }
                if (!w.isEmpty()) {
                    i += w.length() - 1;
                }
            }
        }
        return e.length();
    }

    static String parenthesizeKeywordArguments(String e) {
        StringBuilder out = new StringBuilder();
        int i = 0;
        while (i < e.length()) {
            char c = e.charAt(i);
            if (c == '\'' || c == '"') {
                int end = skipString(e, i);
                out.append(e, i, end + 1);
                i = end + 1;
                continue;
            }
            // name = value, right after '(' or ',' inside a call's parentheses
            String w = wordAt(e, i);
            if (!w.isEmpty() && insideCallArguments(out)) {
                int eq = skipSpaces(e, i + w.length());
                if (eq < e.length() && e.charAt(eq) == '=' && (eq + 1 >= e.length() || e.charAt(eq + 1) != '=')) {
                    int valueStart = eq + 1;
                    int valueEnd = argumentEnd(e, valueStart);
                    out.append(e, i, valueStart).append('(')
                            .append(parenthesizeKeywordArguments(e.substring(valueStart, valueEnd))).append(')');
                    i = valueEnd;
                    continue;
                }
            }
            out.append(c);
            i++;
        }
        return out.toString();
    }

    /** Whether the text so far ends with '(' or ',' (spaces aside) inside an open '(' that follows a name. */
    private static boolean insideCallArguments(StringBuilder out) {
        int j = out.length() - 1;
        while (j >= 0 && Character.isWhitespace(out.charAt(j))) {
            j--;
        }
        if (j < 0 || (out.charAt(j) != '(' && out.charAt(j) != ',')) {
            return false;
        }
        int depth = 0;
        for (int k = j; k >= 0; k--) {
            char c = out.charAt(k);
            if (c == ')' || c == ']' || c == '}') {
                depth++;
            } else if (c == '[' || c == '{') {
                if (depth == 0) {
                    return false;
                }
                depth--;
            } else if (c == '(') {
                if (depth == 0) {
                    return k > 0 && (isWordChar(out.charAt(k - 1)) || out.charAt(k - 1) == ')');
                }
                depth--;
            }
        }
        return false;
    }
}
