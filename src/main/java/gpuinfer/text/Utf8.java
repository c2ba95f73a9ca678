package gpuinfer.text;

/**
 * UTF-8 decoding that replaces invalid input exactly as Python's {@code bytes.decode('utf-8', errors='replace')}
 * does (Unicode's "maximal subpart" practice, also WHATWG's): a byte that cannot start a sequence (0x80-0xC1,
 * 0xF5-0xFF) is one U+FFFD; a sequence broken off by an unexpected byte is one U+FFFD for the part that was valid so
 * far, and decoding resumes at the unexpected byte; an incomplete sequence at the end is one U+FFFD. Overlong forms,
 * encoded surrogates (ED A0..BF) and code points above U+10FFFF are invalid from their second byte on.
 * Java's own decoder differs in some of these cases, hence this class.
 */
final class Utf8 {
    static final char REPLACEMENT = '\uFFFD';

    private Utf8() {
    }

    /** Decodes all of {@code bytes}. */
    static String decode(byte[] bytes) {
        StringBuilder out = new StringBuilder(bytes.length);
        decode(bytes, 0, bytes.length, true, out);
        return out.toString();
    }

    /**
     * Decodes {@code bytes[from, to)} into {@code out} and returns the index of the first byte not consumed. With
     * {@code endOfInput} false, a trailing incomplete sequence that more bytes could still complete is left
     * unconsumed (its start is returned); with it true, such a sequence becomes one U+FFFD and {@code to} is returned.
     * Either way, what is appended for the consumed bytes is exactly what decoding the whole input would give there.
     */
    static int decode(byte[] bytes, int from, int to, boolean endOfInput, StringBuilder out) {
        int i = from;
        while (i < to) {
            int b0 = bytes[i] & 0xFF;
            if (b0 < 0x80) {
                out.append((char) b0);
                i++;
                continue;
            }
            int need;
            int codePoint;
            int low = 0x80;
            int high = 0xBF;
            if (b0 >= 0xC2 && b0 <= 0xDF) {
                need = 1;
                codePoint = b0 & 0x1F;
            } else if (b0 >= 0xE0 && b0 <= 0xEF) {
                need = 2;
                codePoint = b0 & 0x0F;
                if (b0 == 0xE0) {
                    low = 0xA0; // no overlong forms
                } else if (b0 == 0xED) {
                    high = 0x9F; // no surrogates
                }
            } else if (b0 >= 0xF0 && b0 <= 0xF4) {
                need = 3;
                codePoint = b0 & 0x07;
                if (b0 == 0xF0) {
                    low = 0x90; // no overlong forms
                } else if (b0 == 0xF4) {
                    high = 0x8F; // nothing above U+10FFFF
                }
            } else {
                out.append(REPLACEMENT);
                i++;
                continue;
            }
            int j = i + 1;
            boolean broken = false;
            for (int k = 0; k < need; k++, j++) {
                if (j >= to) {
                    if (!endOfInput) {
                        return i;
                    }
                    out.append(REPLACEMENT);
                    return to;
                }
                int b = bytes[j] & 0xFF;
                if (b < (k == 0 ? low : 0x80) || b > (k == 0 ? high : 0xBF)) {
                    broken = true;
                    break;
                }
                codePoint = codePoint << 6 | (b & 0x3F);
            }
            if (broken) {
                out.append(REPLACEMENT);
            } else {
                out.appendCodePoint(codePoint);
            }
            i = j;
        }
        return to;
    }
}
