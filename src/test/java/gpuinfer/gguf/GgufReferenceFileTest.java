package gpuinfer.gguf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.testing.StoredBytes;
import gpuinfer.weights.WeightTensor;
import gpuinfer.weights.WeightType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * gpu-infer's GGUF reader, writer and weight conversions against a file written by an independent GGUF writer
 * (tools/gguf_reference_writer.py: written from the GGUF specification with NumPy, sharing no code with the Java
 * side nor with llama.cpp's gguf-py; its F16, BF16, Q8_0 and Q4_0 bytes are checked against ggml's own C conversion
 * functions when it is run). reference.json lists what reference.gguf holds: every metadata entry with its type and
 * value (every value type, edge values, empty and nested arrays, general.alignment 64), and every tensor with its
 * shape, offset, float input, stored bytes and dequantised values (F32, F16, BF16, Q8_0, Q4_0 in 1 to 4 dimensions;
 * zero, tied, huge, tiny and subnormal blocks). Everything is compared exactly: integers and bit patterns.
 */
class GgufReferenceFileTest {
    static final Path DIR = Path.of("src/test/resources/golden/gguf");
    static final Path REFERENCE = DIR.resolve("reference.gguf");
    /** The same metadata (less general.alignment) and tensors at the default alignment, 32. */
    static final Path REFERENCE_ALIGN32 = DIR.resolve("reference-align32.gguf");
    static final HexFormat HEX = HexFormat.of();

    static JsonNode doc;

    @TempDir
    Path tmp;

    @BeforeAll
    static void load() throws IOException {
        doc = new ObjectMapper().readTree(DIR.resolve("reference.json").toFile());
    }

    @Test
    void headerAlignmentAndCounts() {
        try (GgufFile file = GgufFile.open(REFERENCE)) {
            assertEquals(doc.get("version").asInt(), file.version());
            assertEquals(64, doc.get("alignment").asInt());
            assertEquals(64, file.alignment(), "general.alignment = 64 overrides the default 32");
            assertEquals(0, file.dataStart() % 64, "the data section starts at a multiple of 64");
            assertEquals(doc.get("metadata").size(), file.metadata().size());
            assertEquals(doc.get("tensors").size(), file.tensors().size());
            assertEquals(keys(doc.get("metadata"), "key"), new ArrayList<>(file.metadata().keySet()), "metadata in file order");
            assertEquals(keys(doc.get("tensors"), "name"), new ArrayList<>(file.tensors().keySet()), "tensors in file order");
        }
        try (GgufFile file = GgufFile.open(REFERENCE_ALIGN32)) {
            assertEquals(32, file.alignment(), "without general.alignment the alignment is 32");
        }
    }

    @Test
    void everyMetadataEntryHasItsTypeAndValue() {
        try (GgufFile file = GgufFile.open(REFERENCE)) {
            for (JsonNode entry : doc.get("metadata")) {
                String key = entry.get("key").asText();
                GgufValue value = file.value(key);
                assertNotNull(value, key);
                assertEquals(entry.get("type").asText(), value.type().name(), key + ": type");
                if (value.type() == GgufValue.Type.ARRAY) {
                    checkArray(key, entry.get("value"), entry.get("bits"), (GgufValue.Array) value.value());
                } else {
                    checkScalar(key, value.type(), entry.get("value"), entry.get("bits"), value.value());
                }
            }
            // the typed getters on a few of them
            assertEquals(-1L, file.integer("test.uint64", 0), "UINT64 2^64 - 1 wraps to -1 in a Java long");
            assertEquals(Long.MIN_VALUE, file.integer("test.int64", 0));
            assertEquals(4294967295L, file.integer("test.uint32", 0));
            assertEquals(Math.PI, file.number("test.float64", 0));
            assertEquals(entryText("test.string"), file.string("test.string"));
            assertArrayEquals(new String[] {"", "a", "ü", "東京", "🙂", "two words", "nul\u0000inside"},
                    file.strings("test.array.string"));
            assertArrayEquals(new long[] {-2147483648L, -1, 0, 2147483647L}, file.integers("test.array.int32"));
        }
    }

    @Test
    void everyTensorHasItsTypeShapeOffsetAndStoredBytes() {
        try (GgufFile file = GgufFile.open(REFERENCE)) {
            for (JsonNode t : doc.get("tensors")) {
                String name = t.get("name").asText();
                GgufFile.TensorInfo info = file.tensors().get(name);
                assertEquals(t.get("type").asText(), info.type().upperName(), name + ": type");
                assertEquals(t.get("ggml_type").asInt(), info.type().id(), name + ": ggml type id");
                assertArrayEquals(longs(t.get("ne")), info.dims(), name + ": ne, innermost first, as stored");
                assertArrayEquals(longs(t.get("shape")), info.shape(), name + ": shape, outermost first");
                assertEquals(t.get("offset").asLong(), info.offset(), name + ": offset in the data section");
                assertEquals(t.get("bytes").asLong(), info.bytes(), name + ": bytes");
                WeightTensor tensor = file.tensor(name);
                assertEquals(WeightType.valueOf(t.get("type").asText()), tensor.type());
                assertArrayEquals(longs(t.get("shape")), tensor.shape(), name + ": WeightTensor shape");
                assertBlocksEqual(name, tensor.type(), HEX.parseHex(t.get("stored_hex").asText()), bytes(tensor));
            }
        }
    }

    @Test
    void dequantisedValuesAreExact() {
        try (GgufFile file = GgufFile.open(REFERENCE)) {
            for (JsonNode t : doc.get("tensors")) {
                String name = t.get("name").asText();
                float[] want = floats(t.get("dequantized_f32_hex").asText());
                float[] got = file.tensor(name).toFloats();
                assertSameFloats(name, want, got);
                // floatRows from the middle of the tensor too (row offsets in bytes)
                WeightTensor tensor = file.tensor(name);
                if (tensor.rows() > 1) {
                    int cols = (int) tensor.cols();
                    float[] row = new float[cols];
                    tensor.floatRows(tensor.rows() - 1, 1, row, 0);
                    float[] wantRow = java.util.Arrays.copyOfRange(want, want.length - cols, want.length);
                    assertSameFloats(name + " last row", wantRow, row);
                }
            }
        }
    }

    /** Java's conversions of the same float32 input give the reference's bytes (ggml's reference quantisers). */
    @Test
    void javaConversionsWriteTheSameBytesFromTheSameFloats() {
        for (JsonNode t : doc.get("tensors")) {
            String name = t.get("name").asText();
            WeightType type = WeightType.valueOf(t.get("type").asText());
            float[] input = floats(t.get("input_f32_hex").asText());
            WeightTensor converted = WeightTensor.ofFloats(name, input, longs(t.get("shape"))).to(type).materialized();
            assertBlocksEqual(name + " from " + input.length + " floats", type, HEX.parseHex(t.get("stored_hex").asText()),
                    bytes(converted));
        }
    }

    /**
     * GgufWriter writes the reference content (every metadata entry but general.alignment, which it refuses, and
     * every tensor, mapped from the reference file) byte for byte as the independent writer wrote it at alignment
     * 32, up to the end of the last tensor's data; read back, the file gives the same metadata and tensors.
     */
    @Test
    void gguFWriterRoundTrip() throws IOException {
        Path written = tmp.resolve("roundtrip.gguf");
        try (GgufFile file = GgufFile.open(REFERENCE)) {
            GgufWriter writer = new GgufWriter();
            for (Map.Entry<String, GgufValue> e : file.metadata().entrySet()) {
                if (e.getKey().equals("general.alignment")) {
                    assertThrows(IllegalArgumentException.class, () -> writer.put(e.getKey(), e.getValue()));
                } else {
                    writer.put(e.getKey(), e.getValue());
                }
            }
            for (String name : file.tensors().keySet()) {
                writer.add(file.tensor(name));
            }
            writer.write(written, n -> { });

            byte[] got = Files.readAllBytes(written);
            byte[] want = Files.readAllBytes(REFERENCE_ALIGN32);
            int common = Math.min(got.length, want.length);
            for (int i = 0; i < common; i++) {
                if (got[i] != want[i]) {
                    fail("GgufWriter's file differs from reference-align32.gguf first at byte " + i + ": "
                            + HEX.formatHex(got, i, Math.min(common, i + 16)) + " instead of "
                            + HEX.formatHex(want, i, Math.min(common, i + 16)));
                }
            }
            try (GgufFile back = GgufFile.open(written); GgufFile align32 = GgufFile.open(REFERENCE_ALIGN32)) {
                long end = back.dataStart() + lastTensorEnd(back);
                assertTrue(got.length >= end && common >= end, "GgufWriter's file holds every tensor's data ("
                        + got.length + " bytes, data ends at " + end + ")");
                assertEquals(32, back.alignment());
                assertEquals(align32.dataStart(), back.dataStart());
                for (Map.Entry<String, GgufValue> e : file.metadata().entrySet()) {
                    if (!e.getKey().equals("general.alignment")) {
                        assertEquals(e.getValue(), back.value(e.getKey()), e.getKey() + " after the round trip");
                    }
                }
                assertEquals(file.metadata().size() - 1, back.metadata().size());
                for (String name : file.tensors().keySet()) {
                    WeightTensor a = file.tensor(name);
                    WeightTensor b = back.tensor(name);
                    assertEquals(a.type(), b.type(), name);
                    assertArrayEquals(a.shape(), b.shape(), name);
                    assertEquals(align32.tensors().get(name).offset(), back.tensors().get(name).offset(), name + ": offset");
                    assertBlocksEqual(name + " after the round trip", a.type(), bytes(a), bytes(b));
                }
            }
        }
    }

    /**
     * FAILS today (reported, not fixed here): llama.cpp's GGUF reader, when it loads the tensor data itself
     * (gguf_init_from_file with no_alloc = false), reads the data section as the sum of every tensor's size padded
     * to the alignment, the last tensor included, and refuses a file that ends before ("failed to read tensor data
     * binary blob"); llama.cpp's and gguf-py's writers pad after the last tensor, and so does the independent
     * writer. GgufWriter stops right after the last tensor's bytes, so a file whose last tensor is not a multiple of
     * 32 bytes (here 6 float32 values, 24 bytes) is 8 bytes short for that reader. Checked with a 10-line C program
     * against this llama.cpp's libggml-base: reference-align32.gguf without nested arrays reads with no_alloc 0 and
     * 1; the same file cut after the last tensor's bytes reads only with no_alloc 1.
     */
    @Test
    void gguFWriterPadsTheLastTensorAsLlamaCppReadsIt() throws IOException {
        Path written = tmp.resolve("padded.gguf");
        try (GgufFile file = GgufFile.open(REFERENCE)) {
            GgufWriter writer = new GgufWriter();
            file.metadata().forEach((k, v) -> {
                if (!k.equals("general.alignment")) {
                    writer.put(k, v);
                }
            });
            for (String name : file.tensors().keySet()) {
                writer.add(file.tensor(name));
            }
            writer.write(written, n -> { });
        }
        try (GgufFile back = GgufFile.open(written)) {
            long padded = 0;
            for (GgufFile.TensorInfo info : back.tensors().values()) {
                padded = info.offset() + (info.bytes() + 31) / 32 * 32;
            }
            assertEquals(Files.size(REFERENCE_ALIGN32), back.dataStart() + padded, "the reference file's length");
            assertEquals(back.dataStart() + padded, Files.size(written), "GgufWriter's file should end at the data "
                    + "section's padded length (the last tensor, f32.last, is 24 bytes: 8 bytes of padding missing)");
        }
    }

    // ------------------------------------------------------------------------------------------------------------

    private static long lastTensorEnd(GgufFile file) {
        long end = 0;
        for (GgufFile.TensorInfo info : file.tensors().values()) {
            end = Math.max(end, info.offset() + info.bytes());
        }
        return end;
    }

    private static String entryText(String key) {
        for (JsonNode e : doc.get("metadata")) {
            if (e.get("key").asText().equals(key)) {
                return e.get("value").asText();
            }
        }
        throw new IllegalArgumentException(key);
    }

    private static void checkScalar(String where, GgufValue.Type type, JsonNode want, JsonNode bits, Object got) {
        switch (type) {
            case STRING -> assertEquals(want.asText(), got, where);
            case BOOL -> assertEquals(want.asBoolean(), got, where);
            case FLOAT32 -> {
                double d = assertInstanceOf(Double.class, got, where);
                assertEquals(d, (double) (float) d, where + ": a FLOAT32 value widens exactly");
                assertEquals(bits.asText(), String.format("%08x", Float.floatToRawIntBits((float) d)), where + ": bits");
            }
            case FLOAT64 -> assertEquals(bits.asText(), String.format("%016x",
                    Double.doubleToRawLongBits(assertInstanceOf(Double.class, got, where))), where + ": bits");
            default -> assertEquals(want.bigIntegerValue().longValue(), (long) assertInstanceOf(Long.class, got, where),
                    where + " (" + want + ")");
        }
    }

    /** An array against {"element_type", "values"}, with float bits alongside; nested arrays recursively. */
    private static void checkArray(String where, JsonNode want, JsonNode bits, GgufValue.Array got) {
        String elementType = want.get("element_type").asText();
        assertEquals(elementType, got.elementType().name(), where + ": element type");
        JsonNode values = want.get("values");
        assertEquals(values.size(), got.length(), where + ": length");
        for (int i = 0; i < values.size(); i++) {
            String at = where + "[" + i + "]";
            JsonNode b = bits == null ? null : bits.get(i);
            switch (got.elementType()) {
                case ARRAY -> checkArray(at, values.get(i), b, ((GgufValue.Array[]) got.values())[i]);
                case STRING -> checkScalar(at, GgufValue.Type.STRING, values.get(i), b, ((String[]) got.values())[i]);
                case BOOL -> checkScalar(at, GgufValue.Type.BOOL, values.get(i), b, ((boolean[]) got.values())[i]);
                case FLOAT32, FLOAT64 -> checkScalar(at, got.elementType(), values.get(i), b, ((double[]) got.values())[i]);
                default -> checkScalar(at, got.elementType(), values.get(i), b, ((long[]) got.values())[i]);
            }
        }
    }

    static void assertBlocksEqual(String what, WeightType type, byte[] want, byte[] got) {
        StoredBytes.assertBlocksEqual(what, type, want.length, want, got);
    }

    /** Equal bit patterns, except that any NaN equals any NaN (a NaN's payload from d·q is the CPU's choice). */
    static void assertSameFloats(String what, float[] want, float[] got) {
        assertEquals(want.length, got.length, what + ": count");
        for (int i = 0; i < want.length; i++) {
            boolean same = Float.isNaN(want[i]) ? Float.isNaN(got[i])
                    : Float.floatToRawIntBits(want[i]) == Float.floatToRawIntBits(got[i]);
            if (!same) {
                fail(what + ": value " + i + " is " + got[i] + " (" + Integer.toHexString(Float.floatToRawIntBits(got[i]))
                        + "), want " + want[i] + " (" + Integer.toHexString(Float.floatToRawIntBits(want[i])) + ")");
            }
        }
    }

    static byte[] bytes(WeightTensor tensor) {
        return StoredBytes.of(tensor);
    }

    static float[] floats(String hex) {
        ByteBuffer b = ByteBuffer.wrap(HEX.parseHex(hex)).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[b.remaining() / 4];
        for (int i = 0; i < out.length; i++) {
            out[i] = Float.intBitsToFloat(b.getInt(4 * i));
        }
        return out;
    }

    static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }

    private static List<String> keys(JsonNode entries, String field) {
        List<String> out = new ArrayList<>();
        entries.forEach(e -> out.add(e.get(field).asText()));
        return out;
    }
}
