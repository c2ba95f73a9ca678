package gpuinfer.chat;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Python's {@code json.dumps}, as Hugging Face's chat-template {@code tojson} filter calls it:
 * {@code json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)}. Unlike
 * Jinja's own {@code tojson} it does not HTML-escape {@code < > & '}, and unlike Jackson's default output it puts a
 * space after {@code ,} and {@code :} (Python's default separators).
 */
final class PyJson {
    private PyJson() {
    }

    /**
     * @param indent null for one line; otherwise the number of spaces (or the string) per level, as in Python
     * @param itemSeparator null for Python's default ({@code ", "}, or {@code ","} when indenting)
     * @param keySeparator null for Python's default ({@code ": "})
     */
    static String dumps(Object value, boolean ensureAscii, Object indent, String itemSeparator, String keySeparator,
            boolean sortKeys) {
        String indentText = null;
        if (indent instanceof Number n) {
            indentText = " ".repeat(Math.max(0, n.intValue()));
        } else if (indent instanceof String s) {
            indentText = s;
        } else if (indent != null) {
            throw new IllegalArgumentException("tojson: indent must be a number or a string, not " + indent);
        }
        String item = itemSeparator != null ? itemSeparator : indentText != null ? "," : ", ";
        String key = keySeparator != null ? keySeparator : ": ";
        StringBuilder out = new StringBuilder();
        write(out, value, ensureAscii, indentText, item, key, sortKeys, 0);
        return out.toString();
    }

    private static void write(StringBuilder out, Object value, boolean ascii, String indent, String item, String key,
            boolean sort, int depth) {
        if (value == null) {
            out.append("null");
        } else if (value instanceof Boolean b) {
            out.append(b ? "true" : "false");
        } else if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte
                || value instanceof BigInteger) {
            out.append(value);
        } else if (value instanceof Double || value instanceof Float || value instanceof BigDecimal) {
            out.append(pyFloat(((Number) value).doubleValue()));
        } else if (value instanceof CharSequence s) {
            string(out, s.toString(), ascii);
        } else if (value instanceof Map<?, ?> map) {
            List<Map.Entry<?, ?>> entries = new ArrayList<>(map.entrySet());
            if (sort) {
                entries.sort((a, b) -> String.valueOf(a.getKey()).compareTo(String.valueOf(b.getKey())));
            }
            if (entries.isEmpty()) {
                out.append("{}");
                return;
            }
            out.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : entries) {
                if (!first) {
                    out.append(item);
                }
                first = false;
                newline(out, indent, depth + 1);
                string(out, keyText(e.getKey()), ascii);
                out.append(key);
                write(out, e.getValue(), ascii, indent, item, key, sort, depth + 1);
            }
            newline(out, indent, depth);
            out.append('}');
        } else if (value instanceof Iterable<?> list) {
            List<Object> items = new ArrayList<>();
            list.forEach(items::add);
            if (items.isEmpty()) {
                out.append("[]");
                return;
            }
            out.append('[');
            for (int i = 0; i < items.size(); i++) {
                if (i > 0) {
                    out.append(item);
                }
                newline(out, indent, depth + 1);
                write(out, items.get(i), ascii, indent, item, key, sort, depth + 1);
            }
            newline(out, indent, depth);
            out.append(']');
        } else if (value instanceof Object[] array) {
            write(out, List.of(array), ascii, indent, item, key, sort, depth);
        } else {
            throw new IllegalArgumentException("tojson: Object of type " + value.getClass().getSimpleName()
                    + " is not JSON serializable");
        }
    }

    private static String keyText(Object key) {
        if (key instanceof Boolean b) {
            return b ? "true" : "false";
        }
        return key == null ? "null" : key.toString();
    }

    private static void newline(StringBuilder out, String indent, int depth) {
        if (indent != null) {
            out.append('\n').append(indent.repeat(depth));
        }
    }

    /** Python's float repr: the shortest text that reads back the same, "1.0" not "1", "1e-05" not "1.0E-5". */
    static String pyFloat(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        if (d == Math.rint(d) && Math.abs(d) < 1e16) {
            return new BigDecimal(d).toPlainString() + ".0";
        }
        BigDecimal shortest = new BigDecimal(Double.toString(d)).stripTrailingZeros();
        int exponent = shortest.precision() - shortest.scale() - 1;
        if (exponent < -4 || exponent >= 16) {
            String digits = shortest.unscaledValue().abs().toString();
            String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
            return (d < 0 ? "-" : "") + mantissa + "e" + (exponent < 0 ? "-" : "+")
                    + String.format("%02d", Math.abs(exponent));
        }
        return shortest.toPlainString();
    }

    private static void string(StringBuilder out, String s, boolean ascii) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20 || (ascii && c > 0x7e)) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
