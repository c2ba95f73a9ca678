package gpuinfer.tensor;

import gpuinfer.util.AtomicFiles;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * NumPy's {@code .npy} format (versions 1.0, 2.0 and 3.0) for float32 little-endian C-order arrays: the magic
 * {@code \x93NUMPY}, a version, a header length (2 bytes in 1.0, 4 bytes after), a Python dict literal with exactly
 * the keys descr, fortran_order and shape, then the raw values.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** Headers beyond this are not something NumPy writes; refusing them bounds what a hostile file can make us read. */
    private static final int MAX_HEADER_BYTES = 1 << 20;
    private static final int CHUNK_BYTES = 8 << 20;

    private Npy() {
    }

    /** Reads a float32 array; every problem is a {@link NpyFormatException} naming the file. */
    public static Tensor read(Path file) {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long fileSize = channel.size();
            ByteBuffer preamble = readFully(channel, 0, (int) Math.min(fileSize, 12), file);
            if (preamble.remaining() < 10 || !hasMagic(preamble)) {
                throw new NpyFormatException(file, "not a NumPy .npy file (it does not start with \\x93NUMPY). "
                        + "Save arrays with numpy.save(path, array).");
            }
            int major = preamble.get(6) & 0xff;
            int minor = preamble.get(7) & 0xff;
            long headerLength;
            int headerStart;
            if (major == 1) {
                headerLength = preamble.order(ByteOrder.LITTLE_ENDIAN).getShort(8) & 0xffff;
                headerStart = 10;
            } else if (major == 2 || major == 3) {
                if (preamble.remaining() < 12) {
                    throw new NpyFormatException(file, "truncated: the file ends inside its preamble");
                }
                headerLength = preamble.order(ByteOrder.LITTLE_ENDIAN).getInt(8) & 0xffffffffL;
                headerStart = 12;
            } else {
                throw new NpyFormatException(file, "unsupported .npy format version " + major + "." + minor
                        + " (gpu-infer reads 1.0, 2.0 and 3.0)");
            }
            if (headerLength > MAX_HEADER_BYTES || headerStart + headerLength > fileSize) {
                throw new NpyFormatException(file, "the header claims " + headerLength + " bytes but the file has only "
                        + fileSize + " bytes in all: the file is truncated or not a .npy file");
            }
            ByteBuffer headerBytes = readFully(channel, headerStart, (int) headerLength, file);
            String header = (major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1).decode(headerBytes).toString();
            Header parsed = Header.parse(header, file);
            long dataStart = headerStart + headerLength;
            long expected = parsed.elementCount() * 4;
            long actual = fileSize - dataStart;
            if (actual < expected) {
                throw new NpyFormatException(file, "truncated: shape " + Tensor.describe(parsed.shape()) + " needs "
                        + expected + " bytes of data, the file has " + actual);
            }
            if (actual > expected) {
                throw new NpyFormatException(file, "the file has " + (actual - expected) + " bytes after the "
                        + expected + " bytes that shape " + Tensor.describe(parsed.shape()) + " needs: it is damaged or "
                        + "its header is wrong");
            }
            float[] values = new float[(int) parsed.elementCount()];
            int done = 0;
            while (done < values.length) {
                int n = Math.min(values.length - done, CHUNK_BYTES / 4);
                ByteBuffer chunk = readFully(channel, dataStart + 4L * done, 4 * n, file);
                chunk.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values, done, n);
                done += n;
            }
            return new Tensor(values, parsed.shape());
        } catch (NoSuchFileException e) {
            throw new NpyFormatException(file, "no such file");
        } catch (IOException e) {
            throw new NpyFormatException(file, "cannot be read: " + e.getMessage());
        }
    }

    /** Reads a float32 array and checks its shape; a mismatch names both shapes. */
    public static Tensor read(Path file, String role, int[] expectedShape) {
        Tensor tensor = read(file);
        if (!java.util.Arrays.equals(tensor.shape(), expectedShape)) {
            throw new NpyFormatException(file, role + " has shape " + tensor.shapeString() + " but "
                    + Tensor.describe(expectedShape) + " is needed");
        }
        return tensor;
    }

    /** Writes a float32 little-endian C-order array (format 1.0), atomically: no half-written file is ever visible. */
    public static void write(Path file, Tensor tensor) throws IOException {
        byte[] header = headerFor(tensor.shape());
        AtomicFiles.write(file, out -> {
            out.write(header);
            writeValues(out, tensor.data());
        });
    }

    static byte[] headerFor(int[] shape) {
        StringBuilder dims = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            dims.append(shape[i]).append(shape.length == 1 ? "," : i + 1 < shape.length ? ", " : "");
        }
        dims.append(')');
        String dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + dims + ", }";
        int unpadded = MAGIC.length + 2 + 2 + dict.length() + 1;
        int padding = (64 - unpadded % 64) % 64;
        String text = dict + " ".repeat(padding) + "\n";
        ByteBuffer header = ByteBuffer.allocate(MAGIC.length + 4 + text.length()).order(ByteOrder.LITTLE_ENDIAN);
        header.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) text.length());
        header.put(text.getBytes(StandardCharsets.ISO_8859_1));
        return header.array();
    }

    private static void writeValues(OutputStream out, float[] values) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocate(Math.min(CHUNK_BYTES, Math.max(4, values.length * 4))).order(ByteOrder.LITTLE_ENDIAN);
        int done = 0;
        while (done < values.length) {
            int n = Math.min(values.length - done, chunk.capacity() / 4);
            chunk.clear();
            chunk.asFloatBuffer().put(values, done, n);
            out.write(chunk.array(), 0, n * 4);
            done += n;
        }
    }

    private static boolean hasMagic(ByteBuffer preamble) {
        for (int i = 0; i < MAGIC.length; i++) {
            if (preamble.get(i) != MAGIC[i]) {
                return false;
            }
        }
        return true;
    }

    private static ByteBuffer readFully(FileChannel channel, long position, int length, Path file) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, position + buffer.position());
            if (n < 0) {
                throw new NpyFormatException(file, "truncated: the file ended after " + (position + buffer.position()) + " bytes");
            }
        }
        return buffer.flip();
    }

    /** The parsed header dict. */
    record Header(String descr, boolean fortranOrder, int[] shape) {
        long elementCount() {
            return Tensor.elementCount(shape);
        }

        static Header parse(String text, Path file) {
            Map<String, Object> dict = new DictParser(text, file).parse();
            for (String key : List.of("descr", "fortran_order", "shape")) {
                if (!dict.containsKey(key)) {
                    throw new NpyFormatException(file, "the header has no '" + key + "' entry: " + text.strip());
                }
            }
            if (dict.size() != 3) {
                throw new NpyFormatException(file, "the header has keys " + dict.keySet()
                        + "; a .npy header has exactly descr, fortran_order and shape");
            }
            if (!(dict.get("descr") instanceof String descr)) {
                throw new NpyFormatException(file, "descr is not a string (structured dtypes are not supported)");
            }
            if (!(dict.get("fortran_order") instanceof Boolean fortran)) {
                throw new NpyFormatException(file, "fortran_order is not True or False");
            }
            if (!(dict.get("shape") instanceof int[] shape)) {
                throw new NpyFormatException(file, "shape is not a tuple of integers");
            }
            if (!descr.equals("<f4")) {
                throw new NpyFormatException(file, "dtype '" + descr + "' (" + dtypeName(descr) + ") is not supported: "
                        + "gpu-infer reads float32 little-endian ('<f4'). Convert with array.astype('<f4').");
            }
            if (fortran) {
                throw new NpyFormatException(file, "the array is in Fortran (column-major) order; gpu-infer reads C order. "
                        + "Save numpy.ascontiguousarray(array) instead.");
            }
            long n;
            try {
                n = Tensor.elementCount(shape);
            } catch (ArithmeticException e) {
                n = Long.MAX_VALUE;
            }
            if (n < 0) {
                throw new NpyFormatException(file, "shape " + Tensor.describe(shape) + " has a negative dimension");
            }
            if (n > Integer.MAX_VALUE - 8) {
                throw new NpyFormatException(file, "shape " + Tensor.describe(shape) + " holds " + n
                        + " values, more than gpu-infer can load at once (2^31 - 9)");
            }
            return new Header(descr, fortran, shape);
        }

        private static String dtypeName(String descr) {
            return switch (descr) {
                case ">f4" -> "float32 big-endian";
                case "<f8", ">f8" -> "float64";
                case "<f2", ">f2" -> "float16";
                case "<i4", ">i4" -> "int32";
                case "<i8", ">i8" -> "int64";
                case "|b1" -> "bool";
                default -> "not float32";
            };
        }
    }

    /** A parser for the small subset of Python literals a .npy header uses: {str: str | bool | tuple of int}. */
    private static final class DictParser {
        private final String text;
        private final Path file;
        private int pos;

        DictParser(String text, Path file) {
            this.text = text;
            this.file = file;
        }

        Map<String, Object> parse() {
            Map<String, Object> dict = new LinkedHashMap<>();
            expect('{');
            while (true) {
                skipSpace();
                if (peek() == '}') {
                    pos++;
                    break;
                }
                String key = string();
                expect(':');
                Object value = value();
                if (dict.put(key, value) != null) {
                    throw error("the key '" + key + "' appears twice");
                }
                skipSpace();
                if (peek() == ',') {
                    pos++;
                } else if (peek() != '}') {
                    throw error("expected ',' or '}'");
                }
            }
            skipSpace();
            if (pos != text.length()) {
                throw error("unexpected text after the dict");
            }
            return dict;
        }

        private Object value() {
            skipSpace();
            char c = peek();
            if (c == '\'' || c == '"') {
                return string();
            }
            if (c == '(') {
                return tuple();
            }
            if (text.startsWith("True", pos)) {
                pos += 4;
                return Boolean.TRUE;
            }
            if (text.startsWith("False", pos)) {
                pos += 5;
                return Boolean.FALSE;
            }
            throw error("unsupported value");
        }

        private int[] tuple() {
            expect('(');
            List<Integer> dims = new ArrayList<>();
            while (true) {
                skipSpace();
                if (peek() == ')') {
                    pos++;
                    break;
                }
                int start = pos;
                while (pos < text.length() && (Character.isDigit(text.charAt(pos)) || text.charAt(pos) == '-')) {
                    pos++;
                }
                if (pos < text.length() && text.charAt(pos) == 'L') {
                    pos++; // Python 2 long suffix, as old NumPy wrote it
                }
                String digits = text.substring(start, pos).replace("L", "");
                try {
                    dims.add(Integer.parseInt(digits));
                } catch (NumberFormatException e) {
                    throw error("shape entry '" + digits + "' is not an integer that fits in 32 bits");
                }
                skipSpace();
                if (peek() == ',') {
                    pos++;
                } else if (peek() != ')') {
                    throw error("expected ',' or ')' in the shape");
                }
            }
            return dims.stream().mapToInt(Integer::intValue).toArray();
        }

        private String string() {
            skipSpace();
            char quote = peek();
            if (quote != '\'' && quote != '"') {
                throw error("expected a quoted string");
            }
            int end = text.indexOf(quote, pos + 1);
            if (end < 0) {
                throw error("unterminated string");
            }
            String s = text.substring(pos + 1, end);
            pos = end + 1;
            return s;
        }

        private void expect(char c) {
            skipSpace();
            if (peek() != c) {
                throw error("expected '" + c + "'");
            }
            pos++;
        }

        private char peek() {
            if (pos >= text.length()) {
                throw error("the header ends too early");
            }
            return text.charAt(pos);
        }

        private void skipSpace() {
            while (pos < text.length() && Character.isWhitespace(text.charAt(pos))) {
                pos++;
            }
        }

        private NpyFormatException error(String what) {
            return new NpyFormatException(file, "malformed header (" + what + " at character " + pos + "): "
                    + text.strip());
        }
    }
}
