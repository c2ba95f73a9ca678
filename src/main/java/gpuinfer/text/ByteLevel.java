package gpuinfer.text;

/**
 * GPT-2's {@code bytes_to_unicode}: every byte value gets a printable character so that a byte string can be a vocab
 * key. The 188 bytes that are printable Latin-1 ({@code !} to {@code ~}, {@code ¡} to {@code ¬}, {@code ®} to
 * {@code ÿ}) map to themselves; the other 68 (controls, space, DEL, NBSP, soft hyphen, ...) map in byte order to
 * U+0100, U+0101, ..., so the space byte 0x20 is {@code Ġ} (U+0120) and newline 0x0A is {@code Ċ} (U+010A).
 */
final class ByteLevel {
    /** Characters of the byte alphabet are all below this. */
    static final int ALPHABET_END = 256 + 68;

    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final short[] CHAR_TO_BYTE = new short[ALPHABET_END];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, (short) -1);
        int extra = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) (256 + extra++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = (short) b;
        }
    }

    private ByteLevel() {
    }

    /** The character that stands for byte {@code b} (0 to 255). */
    static char charOf(int b) {
        return BYTE_TO_CHAR[b & 0xFF];
    }

    /** The byte a character of the alphabet stands for, or -1 when the character is not in the alphabet. */
    static int byteOf(char c) {
        return c < ALPHABET_END ? CHAR_TO_BYTE[c] : -1;
    }

    /**
     * The bytes a vocab string stands for: through the byte alphabet when every character is in it, otherwise (a token
     * added to a vocabulary by hand, such as one with a real space) the string's own UTF-8.
     */
    static byte[] bytesOf(String token) {
        byte[] bytes = new byte[token.length()];
        for (int i = 0; i < token.length(); i++) {
            int b = byteOf(token.charAt(i));
            if (b < 0) {
                return token.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            }
            bytes[i] = (byte) b;
        }
        return bytes;
    }
}
