package gpuinfer.gguf;

import gpuinfer.InputException;
import gpuinfer.weights.WeightTensor;
import gpuinfer.weights.WeightType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The GGUF reader on files built byte by byte: what it reads, and every way a file can be wrong, each refused
 * with a message that names the problem (the fuzzer in ParserFuzzTest covers the combinations).
 */
class GgufFileTest {
    @TempDir
    Path dir;

    /** A GGUF file assembled field by field, little-endian, so that any field can be made wrong. */
    static final class Raw {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Raw u32(long v) {
            return bytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array());
        }

        Raw u64(long v) {
            return bytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
        }

        Raw u8(int v) {
            out.write(v);
            return this;
        }

        Raw f32(float v) {
            return bytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(v).array());
        }

        Raw str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            return u64(b.length).bytes(b);
        }

        Raw bytes(byte[] b) {
            out.writeBytes(b);
            return this;
        }

        /** Header: magic, version, tensor count, metadata count. */
        static Raw header(long version, long tensors, long kvs) {
            return new Raw().bytes("GGUF".getBytes(StandardCharsets.US_ASCII)).u32(version).u64(tensors).u64(kvs);
        }

        Raw pad(int alignment) {
            while (out.size() % alignment != 0) {
                out.write(0);
            }
            return this;
        }

        Path write(Path file) throws IOException {
            Files.write(file, out.toByteArray());
            return file;
        }
    }

    private Path file(Raw raw) throws IOException {
        return raw.write(dir.resolve("m.gguf"));
    }

    private void refused(Raw raw, String... fragments) throws IOException {
        Path f = file(raw);
        InputException e = assertThrows(InputException.class, () -> {
            try (GgufFile g = GgufFile.open(f)) {
                for (String name : g.tensors().keySet()) {
                    g.tensor(name).toFloats();
                }
            }
        });
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), "'" + fragment + "' missing from: " + e.getMessage());
        }
        assertTrue(e.getMessage().startsWith(f.toString()), "the message names the file: " + e.getMessage());
    }

    @Test
    void readsScalarsArraysNestedArraysAndAlignedTensors() throws IOException {
        Raw raw = Raw.header(3, 2, 5)
                .str("a.u8").u32(0).u8(200)
                .str("a.f32").u32(6).f32(1.5f)
                .str("a.strings").u32(9).u32(8).u64(2).str("x").str("ünï")
                .str("a.nested").u32(9).u32(9).u64(2).u32(5).u64(2).u32(-1).u32(7).u32(5).u64(0)
                .str("general.alignment").u32(4).u32(64)
                .str("v").u32(1).u64(3).u32(0).u64(0)
                .str("q").u32(2).u64(32).u64(2).u32(8).u64(64);
        raw.pad(64);
        raw.f32(1).f32(-2).f32(3.25f);
        raw.pad(64);
        for (int row = 0; row < 2; row++) {
            raw.bytes(new byte[] {0x00, 0x3c}); // d = 1.0 (fp16)
            for (int j = 0; j < 32; j++) {
                raw.u8((j - 16 + row) & 0xff);
            }
        }
        try (GgufFile g = GgufFile.open(file(raw))) {
            assertEquals(3, g.version());
            assertEquals(64, g.alignment());
            assertEquals(200L, g.integer("a.u8", 0));
            assertEquals(1.5, g.number("a.f32", 0));
            assertArrayEquals(new String[] {"x", "ünï"}, g.strings("a.strings"));
            GgufValue.Array nested = (GgufValue.Array) g.value("a.nested").value();
            GgufValue.Array[] inner = (GgufValue.Array[]) nested.values();
            assertArrayEquals(new long[] {-1, 7}, (long[]) inner[0].values());
            assertEquals(0, inner[1].length());
            assertArrayEquals(new float[] {1, -2, 3.25f}, g.tensor("v").toFloats());
            WeightTensor q = g.tensor("q");
            assertEquals(WeightType.Q8_0, q.type());
            assertArrayEquals(new long[] {2, 32}, q.shape(), "shapes are reported outermost first");
            float[] values = q.toFloats();
            assertEquals(-16f, values[0]);
            assertEquals(16f, values[63]);
            assertTrue(q.buffer().isPresent() && q.buffer().get().isDirect(), "tensors are memory-mapped, not copied");
        }
    }

    @Test
    void headersThatAreNotGgufOrNotThisVersion() throws IOException {
        refused(new Raw().bytes("GGML0123456789012345678901234".getBytes(StandardCharsets.US_ASCII)), "is not a GGUF file");
        refused(new Raw().bytes(new byte[] {'G', 'G', 'U', 'F'}), "24-byte header");
        refused(Raw.header(1, 0, 0), "version 1", "versions 2 and 3");
        refused(Raw.header(4, 0, 0), "version 4");
    }

    @Test
    void countsAndLengthsAreCheckedAgainstTheFileBeforeTheyAllocate() throws IOException {
        refused(Raw.header(3, 1L << 40, 0), "tensor entries", "cannot fit");
        refused(Raw.header(3, 0, Long.MAX_VALUE), "metadata entries", "cannot fit");
        refused(Raw.header(3, 0, 1).u64(1L << 50).bytes(new byte[16]), "declared", "bytes long but only");
        refused(Raw.header(3, 0, 1).str("k").u32(9).u32(8).u64(1L << 40), "elements in metadata 'k'", "cannot fit");
        refused(Raw.header(3, 0, 1).str("k").u32(8).u64(-1), "bytes long but only");
        refused(Raw.header(3, 0, 1).str("k").u32(4), "ends at byte", "truncated");
    }

    @Test
    void malformedMetadata() throws IOException {
        refused(Raw.header(3, 0, 1).str("k").u32(99).u32(0), "value type 99");
        refused(Raw.header(3, 0, 2).str("k").u32(4).u32(1).str("k").u32(4).u32(2), "'k' appears twice");
        refused(Raw.header(3, 0, 1).str("general.alignment").u32(4).u32(48), "power of two");
        refused(Raw.header(3, 0, 1).str("b").u32(7).u8(2), "BOOL with byte value 2");
        refused(Raw.header(3, 0, 1).u64(2).bytes(new byte[] {(byte) 0xc3, 0x28}).u32(4).u32(1), "not valid UTF-8");
        Raw deep = Raw.header(3, 0, 1).str("deep").u32(9);
        for (int i = 0; i < 20; i++) {
            deep.u32(9).u64(1);
        }
        refused(deep, "nests arrays more than");
    }

    @Test
    void malformedTensorEntries() throws IOException {
        refused(Raw.header(3, 1, 0).str("t").u32(5).u64(1).u64(1).u64(1).u64(1).u64(1).u32(0).u64(0), "5 dimensions");
        refused(Raw.header(3, 1, 0).str("t").u32(2).u64(4).u64(0).u32(0).u64(0), "dimension 1 of 0");
        refused(Raw.header(3, 1, 0).str("t").u32(1).u64(4).u32(99).u64(0), "type id 99");
        refused(Raw.header(3, 1, 0).str("t").u32(1).u64(48).u32(8).u64(0), "rows of 48 values", "32-value block");
        refused(Raw.header(3, 1, 0).str("t").u32(1).u64(4).u32(0).u64(8), "not a multiple of the alignment 32");
        refused(Raw.header(3, 1, 0).str("t").u32(2).u64(1L << 20).u64(1L << 20).u32(0).u64(0), "the file is truncated");
        refused(Raw.header(3, 1, 0).str("t").u32(2).u64(1L << 31).u64(1L << 31).u32(0).u64(0), "more than 2^63 bytes");
        refused(Raw.header(3, 2, 0).str("t").u32(1).u64(4).u32(0).u64(0).str("t").u32(1).u64(4).u32(0).u64(32), "appears twice");
        Raw overflow = Raw.header(3, 1, 0).str("t").u32(4).u64(1L << 20).u64(1L << 20).u64(1L << 20).u64(1L << 20).u32(0).u64(0);
        refused(overflow, "overflows");
    }

    @Test
    void dataThatEndsEarlyIsReportedWithTheTensorAndTheSizes() throws IOException {
        Raw raw = Raw.header(3, 1, 0).str("blk.0.ffn_up.weight").u32(2).u64(8).u64(4).u32(0).u64(0).pad(32);
        raw.bytes(new byte[100]); // 128 are needed
        refused(raw, "'blk.0.ffn_up.weight'", "128 bytes", "the file has", "truncated");
    }

    @Test
    void tensorsOfFormatsGpuInferDoesNotRunAreRefusedByName() throws IOException {
        Raw raw = Raw.header(3, 1, 0).str("blk.3.attn_v.weight").u32(1).u64(32).u32(7).u64(0).pad(32);
        raw.bytes(new byte[24]); // one Q5_1 block
        Path f = file(raw);
        try (GgufFile g = GgufFile.open(f)) {
            assertEquals("q5_1", g.tensors().get("blk.3.attn_v.weight").type().name());
            InputException e = assertThrows(InputException.class, () -> g.tensor("blk.3.attn_v.weight"));
            assertTrue(e.getMessage().contains("'blk.3.attn_v.weight' is Q5_1") && e.getMessage().contains("llama-quantize"),
                    e.getMessage());
        }
    }

    @Test
    void theWriterRoundTripsThroughTheReader() throws IOException {
        float[] values = new float[3 * 64];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) Math.sin(i * 0.37) * (i % 7);
        }
        GgufWriter w = new GgufWriter()
                .put("general.architecture", GgufValue.string("test"))
                .put("x.ints", GgufValue.int32s(1, -2, 3))
                .put("x.flag", GgufValue.bool(true))
                .add(WeightTensor.ofFloats("a", values, 3, 64))
                .add(WeightTensor.ofFloats("b", values, 3, 64).to(WeightType.Q4_0).named("b"))
                .add(WeightTensor.ofFloats("c", Arrays.copyOf(values, 5), 5).to(WeightType.F16).named("c"));
        Path f = dir.resolve("w.gguf");
        w.write(f, bytes -> { });
        try (GgufFile g = GgufFile.open(f)) {
            assertEquals("test", g.string("general.architecture"));
            assertArrayEquals(new long[] {1, -2, 3}, g.integers("x.ints"));
            assertEquals(Boolean.TRUE, g.value("x.flag").value());
            assertArrayEquals(values, g.tensor("a").toFloats());
            assertArrayEquals(WeightTensor.ofFloats("b", values, 3, 64).to(WeightType.Q4_0).toFloats(), g.tensor("b").toFloats());
            assertEquals(WeightType.F16, g.tensor("c").type());
            for (GgufFile.TensorInfo info : g.tensors().values()) {
                assertEquals(0, (g.dataStart() + info.offset()) % 32, info.name() + " is aligned");
            }
        }
    }
}
