package gpuinfer.text;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

class Utf8Test {
    @Test
    void decodesValidUtf8LikeJava() {
        String text = "aé€😀\u0000\uFFFF\uD800\uDC00\uDBFF\uDFFF";
        assertEquals(text, Utf8.decode(text.getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void replacesMaximalSubpartsAsPythonDoes() {
        // Python: b'...'.decode('utf-8', errors='replace')
        assertEquals("\uFFFD\uFFFD", decode(0xC0, 0xAF));
        assertEquals("\uFFFD\uFFFD\uFFFD", decode(0xED, 0xA0, 0x80));
        assertEquals("\uFFFDA", decode(0xE2, 0x82, 0x41));
        assertEquals("\uFFFD", decode(0xF0, 0x9F, 0x98));
        assertEquals("\uFFFD\uFFFD\uFFFD\uFFFD", decode(0xF4, 0x90, 0x80, 0x80));
        assertEquals("\uFFFD€", decode(0xF0, 0x9F, 0xE2, 0x82, 0xAC));
    }

    @Test
    void decodingInPiecesGivesWhatDecodingAllAtOnceGives() {
        Random random = new Random(7);
        int[] interesting = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1,
            0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF};
        for (int n = 0; n < 20_000; n++) {
            byte[] bytes = new byte[random.nextInt(10)];
            for (int i = 0; i < bytes.length; i++) {
                bytes[i] = (byte) interesting[random.nextInt(interesting.length)];
            }
            StringBuilder pieces = new StringBuilder();
            byte[] pending = new byte[bytes.length];
            int held = 0;
            for (byte b : bytes) {
                pending[held++] = b;
                int consumed = Utf8.decode(pending, 0, held, false, pieces);
                System.arraycopy(pending, consumed, pending, 0, held - consumed);
                held -= consumed;
            }
            Utf8.decode(pending, 0, held, true, pieces);
            assertEquals(Utf8.decode(bytes), pieces.toString());
        }
    }

    private static String decode(int... bytes) {
        byte[] b = new byte[bytes.length];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) bytes[i];
        }
        return Utf8.decode(b);
    }
}
