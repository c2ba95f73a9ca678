package gpuinfer.gguf;

import gpuinfer.weights.WeightType;
import gpuinfer.weights.WeightTensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF file (llama.cpp's model format, versions 2 and 3), read from its specification:
 *
 * <pre>
 * header   "GGUF", uint32 version, uint64 tensor count, uint64 metadata count
 * metadata per entry: string key, uint32 value type, value (strings are uint64 length + UTF-8 bytes; an array
 *          is uint32 element type, uint64 count, the elements, which may be arrays themselves)
 * tensors  per tensor: string name, uint32 n_dims (1..4), uint64 ne[n_dims] (innermost first), uint32 ggml type,
 *          uint64 offset into the data section (a multiple of the alignment)
 * padding  to general.alignment (default 32)
 * data     the tensors' bytes
 * </pre>
 * All integers are little-endian. Every count and length is checked against the bytes left in the file before it
 * drives an allocation, and every tensor's data against the file's size, so that a truncated or hostile file is
 * refused with a message instead of an OutOfMemoryError. Tensors are memory-mapped one by one, with 64-bit offsets,
 * when asked for ({@link #tensor}); their bytes are never copied to the heap.
 */
public final class GgufFile implements AutoCloseable {
    /** "GGUF" read as a little-endian uint32. */
    static final int MAGIC = 0x46554747;
    static final int DEFAULT_ALIGNMENT = 32;
    /** ggml's GGML_MAX_DIMS. */
    static final int MAX_DIMS = 4;
    /** Arrays nested deeper than this are not something a model file holds; refusing them bounds the recursion. */
    static final int MAX_NESTING = 16;

    /**
     * One tensor's entry.
     *
     * @param dims   ne[0..n) as stored: the innermost (row) dimension first
     * @param offset bytes from the start of the data section
     * @param bytes  bytes of data
     */
    public record TensorInfo(String name, long[] dims, GgmlType type, long offset, long bytes) {
        /** The shape outermost first (the reverse of dims), as gpu-infer and NumPy write shapes. */
        public long[] shape() {
            long[] s = new long[dims.length];
            for (int i = 0; i < dims.length; i++) {
                s[i] = dims[dims.length - 1 - i];
            }
            return s;
        }

        public long elementCount() {
            long n = 1;
            for (long d : dims) {
                n *= d;
            }
            return n;
        }
    }

    private final Path file;
    private final FileChannel channel;
    private final int version;
    private final long alignment;
    private final long dataStart;
    private final Map<String, GgufValue> metadata;
    private final Map<String, TensorInfo> tensors;

    private GgufFile(Path file, FileChannel channel, int version, long alignment, long dataStart,
                     Map<String, GgufValue> metadata, Map<String, TensorInfo> tensors) {
        this.file = file;
        this.channel = channel;
        this.version = version;
        this.alignment = alignment;
        this.dataStart = dataStart;
        this.metadata = Collections.unmodifiableMap(metadata);
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    /** Opens and checks the header, the metadata and every tensor entry; tensor data is mapped on request. */
    public static GgufFile open(Path file) {
        FileChannel channel;
        try {
            channel = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new GgufFormatException(file, "no such file");
        } catch (IOException e) {
            throw new GgufFormatException(file, "cannot be opened: " + e.getMessage());
        }
        try {
            return read(file, channel);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    private static GgufFile read(Path file, FileChannel channel) {
        Cursor in = new Cursor(file, channel);
        long size = in.size;
        if (size < 24) {
            throw new GgufFormatException(file, "is " + size + " bytes long; a GGUF file starts with a 24-byte header");
        }
        int magic = in.u32AsInt("the magic number");
        if (magic != MAGIC) {
            throw new GgufFormatException(file, "is not a GGUF file (it does not start with 'GGUF'"
                    + (magic == 0x67676a74 || magic == 0x67676d66 || magic == 0x67676d6c
                    ? "; it is an older GGML/GGJT file: convert it to GGUF with llama.cpp's tools" : "")
                    + "). gpu-infer reads GGUF (llama.cpp) files and Hugging Face model folders.");
        }
        long version = in.u32("the version");
        if (version == 1) {
            throw new GgufFormatException(file, "is GGUF version 1 (2023), whose layout gpu-infer does not read; "
                    + "convert it again with a current llama.cpp (versions 2 and 3 are supported)");
        }
        if (version != 2 && version != 3) {
            throw new GgufFormatException(file, "is GGUF version " + version + "; gpu-infer reads versions 2 and 3"
                    + (version > 3 ? " (a newer gpu-infer may read it)" : ""));
        }
        long tensorCount = in.u64("the tensor count");
        long kvCount = in.u64("the metadata count");
        // the least each entry can take: a key (8-byte length), a type and a 1-byte value; a tensor entry 24 bytes
        in.requireCount("metadata entries", kvCount, 13);
        in.requireCount("tensor entries", tensorCount, 24);

        Map<String, GgufValue> metadata = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = in.string("the key of metadata entry " + i);
            int typeId = in.u32AsInt("the type of '" + key + "'");
            GgufValue.Type type = GgufValue.Type.of(typeId);
            if (type == null) {
                throw new GgufFormatException(file, "metadata '" + key + "' has value type " + Integer.toUnsignedString(typeId)
                        + ", which the GGUF specification does not define (0..12): the file is damaged");
            }
            GgufValue value = in.value(key, type, 0);
            if (metadata.put(key, value) != null) {
                throw new GgufFormatException(file, "metadata key '" + key + "' appears twice");
            }
        }
        long alignment = DEFAULT_ALIGNMENT;
        GgufValue align = metadata.get("general.alignment");
        if (align != null) {
            if (!align.type().isInteger() || (long) align.value() <= 0 || Long.bitCount((long) align.value()) != 1
                    || (long) align.value() > (1 << 30)) {
                throw new GgufFormatException(file, "general.alignment is " + align.display() + " (" + align.type()
                        + "); it must be a positive power of two (default 32)");
            }
            alignment = (long) align.value();
        }

        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        List<TensorInfo> infos = new ArrayList<>();
        for (long i = 0; i < tensorCount; i++) {
            String name = in.string("the name of tensor " + i);
            long nDims = in.u32("the dimension count of '" + name + "'");
            if (nDims < 1 || nDims > MAX_DIMS) {
                throw new GgufFormatException(file, "tensor '" + name + "' has " + nDims + " dimensions; GGUF tensors have 1 to "
                        + MAX_DIMS);
            }
            long[] dims = new long[(int) nDims];
            long elements = 1;
            for (int d = 0; d < nDims; d++) {
                dims[d] = in.u64("dimension " + d + " of '" + name + "'");
                if (dims[d] < 1) {
                    throw new GgufFormatException(file, "tensor '" + name + "' has dimension " + d + " of "
                            + Long.toUnsignedString(dims[d]) + "; every dimension must be at least 1");
                }
                if (elements > Long.MAX_VALUE / dims[d]) {
                    throw new GgufFormatException(file, "tensor '" + name + "' has dimensions whose product overflows");
                }
                elements *= dims[d];
            }
            int typeId = in.u32AsInt("the type of '" + name + "'");
            GgmlType type = GgmlType.of(typeId);
            if (type == null) {
                throw new GgufFormatException(file, "tensor '" + name + "' has type id " + Integer.toUnsignedString(typeId)
                        + ", which is no ggml type this gpu-infer knows (the file may come from a newer llama.cpp)");
            }
            if (dims[0] % type.blockSize() != 0) {
                throw new GgufFormatException(file, "tensor '" + name + "' (" + type.upperName() + ") has rows of " + dims[0]
                        + " values, which end in the middle of a " + type.blockSize() + "-value block: the file is damaged");
            }
            long offset = in.u64("the data offset of '" + name + "'");
            long bytes;
            try {
                bytes = Math.multiplyExact(elements / type.blockSize(), type.blockBytes());
            } catch (ArithmeticException e) {
                throw new GgufFormatException(file, "tensor '" + name + "' would take more than 2^63 bytes: the file is damaged");
            }
            if (offset < 0 || offset % alignment != 0) {
                throw new GgufFormatException(file, "tensor '" + name + "' starts at data offset " + Long.toUnsignedString(offset)
                        + ", which is not a multiple of the alignment " + alignment + ": the file is damaged");
            }
            TensorInfo info = new TensorInfo(name, dims, type, offset, bytes);
            if (tensors.put(name, info) != null) {
                throw new GgufFormatException(file, "tensor '" + name + "' appears twice");
            }
            infos.add(info);
        }
        long headerEnd = in.position();
        long dataStart = (headerEnd + alignment - 1) / alignment * alignment;
        for (TensorInfo info : infos) {
            long end = dataStart + info.offset() + info.bytes();
            if (info.offset() > size || end > size || end < 0) {
                throw new GgufFormatException(file, "tensor '" + info.name() + "' (" + info.type().upperName() + " "
                        + java.util.Arrays.toString(info.shape()) + ", " + info.bytes() + " bytes) ends at byte " + end
                        + " but the file has " + size + " bytes: the file is truncated (an interrupted download?)");
            }
        }
        return new GgufFile(file, channel, (int) version, alignment, dataStart, metadata, tensors);
    }

    public Path file() {
        return file;
    }

    public int version() {
        return version;
    }

    public long alignment() {
        return alignment;
    }

    /** Byte offset of the data section. */
    public long dataStart() {
        return dataStart;
    }

    /** Every metadata entry, in file order. */
    public Map<String, GgufValue> metadata() {
        return metadata;
    }

    /** Every tensor entry, in file order. */
    public Map<String, TensorInfo> tensors() {
        return tensors;
    }

    public GgufValue value(String key) {
        return metadata.get(key);
    }

    /** A string value, or null when the key is absent. */
    public String string(String key) {
        GgufValue v = metadata.get(key);
        if (v == null) {
            return null;
        }
        if (v.type() != GgufValue.Type.STRING) {
            throw wrongType(key, v, "a string");
        }
        return (String) v.value();
    }

    /** An integer value (any integer type), or {@code fallback} when the key is absent. */
    public long integer(String key, long fallback) {
        GgufValue v = metadata.get(key);
        if (v == null) {
            return fallback;
        }
        if (!v.type().isInteger()) {
            throw wrongType(key, v, "an integer");
        }
        return (long) v.value();
    }

    /** A required positive integer that fits an int, named in the error when absent. */
    public int positiveInt(String key) {
        GgufValue v = metadata.get(key);
        if (v == null) {
            throw new GgufFormatException(file, "has no metadata '" + key + "', which a model of this architecture needs");
        }
        long n = integer(key, 0);
        if (n < 1 || n > Integer.MAX_VALUE) {
            throw new GgufFormatException(file, "metadata '" + key + "' is " + n + "; it must be a positive integer");
        }
        return (int) n;
    }

    /** A floating-point value (FLOAT32 or FLOAT64), or {@code fallback} when absent. */
    public double number(String key, double fallback) {
        GgufValue v = metadata.get(key);
        if (v == null) {
            return fallback;
        }
        if (!v.type().isFloat()) {
            throw wrongType(key, v, "a floating-point number");
        }
        return (double) v.value();
    }

    /** An array of strings, or null when absent. */
    public String[] strings(String key) {
        GgufValue.Array a = array(key, GgufValue.Type.STRING);
        return a == null ? null : (String[]) a.values();
    }

    /** An array of integers (any integer element type), or null when absent. */
    public long[] integers(String key) {
        GgufValue v = metadata.get(key);
        if (v == null) {
            return null;
        }
        if (v.value() instanceof GgufValue.Array a && a.elementType().isInteger()) {
            return (long[]) a.values();
        }
        throw wrongType(key, v, "an array of integers");
    }

    private GgufValue.Array array(String key, GgufValue.Type element) {
        GgufValue v = metadata.get(key);
        if (v == null) {
            return null;
        }
        if (v.value() instanceof GgufValue.Array a && a.elementType() == element) {
            return a;
        }
        throw wrongType(key, v, "an array of " + element);
    }

    private GgufFormatException wrongType(String key, GgufValue v, String expected) {
        return new GgufFormatException(file, "metadata '" + key + "' is " + v.type()
                + (v.value() instanceof GgufValue.Array a ? " of " + a.elementType() : "") + ", expected " + expected);
    }

    /**
     * The tensor, memory-mapped, in a format gpu-infer reads (F32, F16, BF16, Q8_0, Q4_0 and the K-quants Q4_K,
     * Q5_K, Q6_K); any other type is refused with a message naming the type and the tensor.
     */
    public WeightTensor tensor(String name) {
        TensorInfo info = tensors.get(name);
        if (info == null) {
            throw new GgufFormatException(file, "has no tensor '" + name + "'");
        }
        WeightType type = info.type().weightType();
        if (type == null) {
            throw new GgufFormatException(file, "tensor '" + name + "' is " + info.type().upperName() + ", which gpu-infer "
                    + "does not run (it runs F32, F16, BF16, Q8_0 and Q4_0, and converts Q4_K, Q5_K and Q6_K to Q8_0 at "
                    + "load). Make a file in one of those with llama.cpp's llama-quantize (e.g. Q8_0 or Q4_K_M), or "
                    + "convert the original model with gpu-infer convert.");
        }
        if (info.bytes() > Integer.MAX_VALUE) {
            throw new GgufFormatException(file, "tensor '" + name + "' is " + info.bytes() + " bytes; gpu-infer maps "
                    + "tensors of at most 2 GiB (use a smaller format, e.g. Q8_0)");
        }
        try {
            MappedByteBuffer mapped = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + info.offset(), info.bytes());
            mapped.order(ByteOrder.LITTLE_ENDIAN);
            return WeightTensor.of(name, type, info.shape(), mapped);
        } catch (IOException e) {
            throw new GgufFormatException(file, "tensor '" + name + "' cannot be mapped: " + e.getMessage());
        }
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // only read
        }
    }

    /** Sequential little-endian reads through a window of the file, with every length checked against what is left. */
    private static final class Cursor {
        private static final int WINDOW = 1 << 16;
        private final Path file;
        private final FileChannel channel;
        private final long size;
        private final ByteBuffer window = ByteBuffer.allocate(WINDOW).order(ByteOrder.LITTLE_ENDIAN);
        private final java.nio.charset.CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        private long windowStart;

        Cursor(Path file, FileChannel channel) {
            this.file = file;
            this.channel = channel;
            try {
                this.size = channel.size();
            } catch (IOException e) {
                throw new GgufFormatException(file, "cannot be read: " + e.getMessage());
            }
            window.limit(0);
        }

        long position() {
            return windowStart + window.position();
        }

        long remaining() {
            return size - position();
        }

        /** Makes {@code n} bytes (at most the window) readable, or reports a truncated file naming {@code what}. */
        private void need(int n, String what) {
            need(n, what, -1);
        }

        /** As {@link #need(int, String)}, for item {@code index} of what (when not negative). */
        private void need(int n, String what, long index) {
            if (window.remaining() >= n) {
                return;
            }
            if (remaining() < n) {
                throw truncated(label(what, index), n);
            }
            long at = position();
            window.clear();
            windowStart = at;
            try {
                while (window.position() < Math.min(WINDOW, size - at)) {
                    if (channel.read(window, at + window.position()) < 0) {
                        break;
                    }
                }
            } catch (IOException e) {
                throw new GgufFormatException(file, "cannot be read at byte " + at + ": " + e.getMessage());
            }
            window.flip();
            if (window.remaining() < n) {
                throw truncated(label(what, index), n);
            }
        }

        private GgufFormatException truncated(String what, long n) {
            return new GgufFormatException(file, "ends at byte " + size + " while reading " + what + " (" + n
                    + " bytes at byte " + position() + "): the file is truncated or damaged");
        }

        long u64(String what) {
            need(8, what);
            return window.getLong();
        }

        long u32(String what) {
            need(4, what);
            return window.getInt() & 0xffffffffL;
        }

        int u32AsInt(String what) {
            need(4, what);
            return window.getInt();
        }

        /** A count of items of at least {@code minBytes} each, checked against the bytes left. */
        void requireCount(String what, long count, long minBytes) {
            if (count < 0 || count > remaining() / minBytes) {
                throw new GgufFormatException(file, "declares " + Long.toUnsignedString(count) + " " + what
                        + ", which cannot fit the " + remaining() + " bytes left in the file: the file is damaged");
            }
        }

        String string(String what) {
            return string(what, -1);
        }

        /**
         * A string; {@code what} and, when not negative, {@code index} name it in an error (joined only then: a
         * tokenizer's hundred thousand strings are read at every start).
         */
        String string(String what, long index) {
            need(8, what, index);
            long length = window.getLong();
            if (length < 0 || length > remaining()) {
                throw new GgufFormatException(file, label(what, index) + " is declared " + Long.toUnsignedString(length)
                        + " bytes long but only " + remaining() + " bytes are left: the file is truncated or damaged");
            }
            byte[] bytes = new byte[(int) Math.min(length, Integer.MAX_VALUE - 8)];
            if (bytes.length != length) {
                throw new GgufFormatException(file, label(what, index) + " is " + length
                        + " bytes long; strings longer than 2 GiB are not supported");
            }
            int done = 0;
            while (done < bytes.length) {
                need(1, what, index);
                int n = Math.min(bytes.length - done, window.remaining());
                window.get(bytes, done, n);
                done += n;
            }
            // the JDK's decoder is the fast one but replaces malformed bytes; only a replacement character in its
            // result (rare in real files) needs the strict decoder to tell a damaged string from a real U+FFFD
            String decoded = new String(bytes, StandardCharsets.UTF_8);
            if (decoded.indexOf('\uFFFD') < 0) {
                return decoded;
            }
            try {
                return utf8.reset().decode(ByteBuffer.wrap(bytes)).toString();
            } catch (CharacterCodingException e) {
                throw new GgufFormatException(file, label(what, index) + " is not valid UTF-8: the file is damaged");
            }
        }

        private static String label(String what, long index) {
            return index < 0 ? what : what + " " + index;
        }

        GgufValue value(String key, GgufValue.Type type, int depth) {
            return value(key, "the value of '" + key + "'", type, depth);
        }

        /** A value of {@code type}; {@code what} names it in an error. */
        private GgufValue value(String key, String what, GgufValue.Type type, int depth) {
            return switch (type) {
                case UINT8 -> { need(1, what); yield new GgufValue(type, (long) (window.get() & 0xff)); }
                case INT8 -> { need(1, what); yield new GgufValue(type, (long) window.get()); }
                case UINT16 -> { need(2, what); yield new GgufValue(type, (long) (window.getShort() & 0xffff)); }
                case INT16 -> { need(2, what); yield new GgufValue(type, (long) window.getShort()); }
                case UINT32 -> new GgufValue(type, u32(what));
                case INT32 -> { need(4, what); yield new GgufValue(type, (long) window.getInt()); }
                case UINT64, INT64 -> new GgufValue(type, u64(what));
                case FLOAT32 -> { need(4, what); yield new GgufValue(type, (double) window.getFloat()); }
                case FLOAT64 -> { need(8, what); yield new GgufValue(type, window.getDouble()); }
                case BOOL -> {
                    need(1, what);
                    int b = window.get();
                    if (b != 0 && b != 1) {
                        throw new GgufFormatException(file, "metadata '" + key + "' is a BOOL with byte value " + b
                                + " (must be 0 or 1): the file is damaged");
                    }
                    yield new GgufValue(type, b == 1);
                }
                case STRING -> new GgufValue(type, string(what));
                case ARRAY -> new GgufValue(type, array(key, depth));
            };
        }

        GgufValue.Array array(String key, int depth) {
            if (depth >= MAX_NESTING) {
                throw new GgufFormatException(file, "metadata '" + key + "' nests arrays more than " + MAX_NESTING + " deep");
            }
            int typeId = u32AsInt("the element type of '" + key + "'");
            GgufValue.Type element = GgufValue.Type.of(typeId);
            if (element == null) {
                throw new GgufFormatException(file, "metadata '" + key + "' is an array of type "
                        + Integer.toUnsignedString(typeId) + ", which GGUF does not define: the file is damaged");
            }
            long count = u64("the length of '" + key + "'");
            requireCount("elements in metadata '" + key + "'", count, element.minBytes);
            if (count > Integer.MAX_VALUE - 8) {
                throw new GgufFormatException(file, "metadata '" + key + "' has " + count + " elements; at most 2^31 are supported");
            }
            int n = (int) count;
            String what = "element of '" + key + "'";
            switch (element) {
                case STRING -> {
                    String[] values = new String[n];
                    for (int i = 0; i < n; i++) {
                        values[i] = string(what, i);
                    }
                    return new GgufValue.Array(element, values);
                }
                case BOOL -> {
                    boolean[] values = new boolean[n];
                    for (int i = 0; i < n; i++) {
                        values[i] = (Boolean) value(key, what, element, depth).value();
                    }
                    return new GgufValue.Array(element, values);
                }
                case FLOAT32, FLOAT64 -> {
                    double[] values = new double[n];
                    for (int i = 0; i < n; i++) {
                        values[i] = (Double) value(key, what, element, depth).value();
                    }
                    return new GgufValue.Array(element, values);
                }
                case ARRAY -> {
                    GgufValue.Array[] values = new GgufValue.Array[n];
                    for (int i = 0; i < n; i++) {
                        values[i] = array(key, depth + 1);
                    }
                    return new GgufValue.Array(element, values);
                }
                default -> {
                    long[] values = new long[n];
                    for (int i = 0; i < n; i++) {
                        values[i] = (Long) value(key, what, element, depth).value();
                    }
                    return new GgufValue.Array(element, values);
                }
            }
        }
    }
}
