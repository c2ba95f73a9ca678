package gpuinfer.tensor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

class NpyTest {
    @TempDir
    Path dir;

    @Test
    void roundTripsAndWritesWhatNumpyWrites() throws IOException {
        Tensor t = new Tensor(new float[] {1, -2.5f, Float.MIN_VALUE, 3e30f, 0, -0f}, 2, 3);
        Path file = dir.resolve("t.npy");
        Npy.write(file, t);
        byte[] bytes = Files.readAllBytes(file);
        assertEquals(0, (bytes.length - 6 * 4) % 64, "header padded to a multiple of 64 bytes, as NumPy does");
        String header = new String(bytes, 10, bytes.length - 10 - 24, StandardCharsets.ISO_8859_1);
        assertEquals("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", header.strip());
        Tensor back = Npy.read(file);
        assertArrayEquals(t.shape(), back.shape());
        assertArrayEquals(t.data(), back.data());
    }

    @Test
    void writesOneDimensionalAndScalarShapesLikeNumpy() throws IOException {
        assertTrue(new String(Npy.headerFor(new int[] {5}), StandardCharsets.ISO_8859_1).contains("'shape': (5,)"));
        assertTrue(new String(Npy.headerFor(new int[] {}), StandardCharsets.ISO_8859_1).contains("'shape': ()"));
        Path file = dir.resolve("scalar.npy");
        Npy.write(file, new Tensor(new float[] {7}));
        assertEquals(0, Npy.read(file).rank());
    }

    @Test
    void readsVersionsTwoAndThreeAndAnyKeyOrder() throws IOException {
        String dict = "{\"shape\": (2,), \"fortran_order\": False, 'descr': '<f4'}";
        for (int major : new int[] {1, 2, 3}) {
            Path file = write("v" + major + ".npy", major, dict, floats(4f, 5f));
            Tensor t = Npy.read(file);
            assertArrayEquals(new int[] {2}, t.shape());
            assertArrayEquals(new float[] {4f, 5f}, t.data());
        }
    }

    @Test
    void readsTheGoldenFilesNumpyWrote() {
        Tensor q = Npy.read(Path.of("src/test/resources/golden/attention/basic/q.npy"));
        assertArrayEquals(new int[] {1, 2, 5, 8}, q.shape());
    }

    @Test
    void rejectsFortranOrder() throws IOException {
        Path file = write("f.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 2), }", floats(1, 2));
        assertMessage(file, "Fortran", "ascontiguousarray");
    }

    @Test
    void rejectsOtherDtypesNamingTheConversion() throws IOException {
        assertMessage(write("d.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", new byte[8]),
                "float64", "astype('<f4')");
        assertMessage(write("b.npy", 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", new byte[4]),
                "big-endian", "astype('<f4')");
        assertMessage(write("i.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", new byte[8]),
                "int64", "astype('<f4')");
    }

    @Test
    void rejectsTruncatedData() throws IOException {
        Path file = write("short.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", new byte[40]);
        assertMessage(file, "truncated", "48 bytes", "has 40");
    }

    @Test
    void rejectsTrailingBytes() throws IOException {
        Path file = write("long.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", new byte[12]);
        assertMessage(file, "4 bytes after");
    }

    @Test
    void rejectsAHeaderThatPointsPastTheEnd() throws IOException {
        byte[] bytes = Files.readAllBytes(write("h.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", new byte[4]));
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putShort(8, (short) 60000);
        Path file = dir.resolve("hostile.npy");
        Files.write(file, bytes);
        assertMessage(file, "header claims 60000 bytes");
    }

    @Test
    void rejectsMalformedHeadersAndOtherFiles() throws IOException {
        assertMessage(write("m.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,) ", new byte[4]),
                "malformed header");
        assertMessage(write("k.npy", 1, "{'descr': '<f4', 'shape': (1,), }", new byte[4]), "no 'fortran_order'");
        assertMessage(write("x.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", new byte[4]),
                "unsupported value");
        assertMessage(write("n.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", new byte[4]),
                "negative");
        assertMessage(write("v9.npy", 9, "{}", new byte[0]), "version 9.0");
        Path text = dir.resolve("text.npy");
        Files.writeString(text, "hello, this is not numpy");
        assertMessage(text, "not a NumPy .npy file");
        Path empty = dir.resolve("empty.npy");
        Files.write(empty, new byte[0]);
        assertMessage(empty, "not a NumPy .npy file");
        assertMessage(dir.resolve("missing.npy"), "no such file");
    }

    @Test
    void checksTheExpectedShape() throws IOException {
        Path file = dir.resolve("q.npy");
        Npy.write(file, Tensor.zeros(1, 2, 3, 4));
        NpyFormatException e = assertThrows(NpyFormatException.class, () -> Npy.read(file, "q", new int[] {1, 2, 3, 8}));
        assertTrue(e.getMessage().contains("q has shape [1, 2, 3, 4] but [1, 2, 3, 8] is needed"), e.getMessage());
    }

    @Test
    void anInterruptedWriteLeavesNoFile() {
        Path file = dir.resolve("out.npy");
        assertThrows(IOException.class, () -> gpuinfer.util.AtomicFiles.write(file, out -> {
            out.write(new byte[100]);
            throw new IOException("disk full (simulated)");
        }));
        assertTrue(!Files.exists(file), "no partial file under the final name");
        assertEquals(0, dir.toFile().list().length, "the temporary file is removed too: " + Arrays.toString(dir.toFile().list()));
    }

    private void assertMessage(Path file, String... fragments) {
        NpyFormatException e = assertThrows(NpyFormatException.class, () -> Npy.read(file));
        assertTrue(e.getMessage().startsWith(file.toString()), "names the file: " + e.getMessage());
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), "'" + fragment + "' missing from: " + e.getMessage());
        }
    }

    private Path write(String name, int major, String dict, byte[] data) throws IOException {
        byte[] text = (dict + "\n").getBytes(StandardCharsets.ISO_8859_1);
        int lengthBytes = major == 1 ? 2 : 4;
        ByteBuffer b = ByteBuffer.allocate(8 + lengthBytes + text.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        if (major == 1) {
            b.putShort((short) text.length);
        } else {
            b.putInt(text.length);
        }
        b.put(text).put(data);
        Path file = dir.resolve(name);
        Files.write(file, b.array());
        return file;
    }

    private static byte[] floats(float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.array();
    }
}
