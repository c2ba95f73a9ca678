package gpuinfer.model;

import gpuinfer.testing.SafeTensorsWriter;
import gpuinfer.testing.TinyGpt2;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every defect of config.json and model.safetensors gets a message that names the file and the field or tensor. */
class ModelFilesTest {
    @TempDir
    Path dir;

    @Test
    void configFieldsAreChecked() throws IOException {
        assertConfig("{\"n_head\": 2, \"n_embd\": 8, \"n_positions\": 4, \"vocab_size\": 5}", "no 'n_layer' field");
        assertConfig("{\"n_layer\": 0, \"n_head\": 2, \"n_embd\": 8, \"n_positions\": 4, \"vocab_size\": 5}", "'n_layer' must be a positive integer");
        assertConfig("{\"n_layer\": 1, \"n_head\": 3, \"n_embd\": 8, \"n_positions\": 4, \"vocab_size\": 5}", "not a multiple of n_head");
        assertConfig("{\"n_layer\": 1, \"n_head\": 2, \"n_embd\": 8, \"n_positions\": 4, \"vocab_size\": 5, \"activation_function\": \"relu\"}",
                "activation_function 'relu'");
        assertConfig("{\"model_type\": \"bert\"}", "model_type is 'bert'");
        assertConfig("{\"n_layer\": 1,", "not valid JSON");
        assertConfig("[1, 2]", "not a JSON object");
        ModelConfig ok = ModelConfig.read(write("ok.json", "{\"n_layer\": 1, \"n_head\": 2, \"n_embd\": 8, \"n_ctx\": 4, \"vocab_size\": 5}"));
        assertEquals(4, ok.nPositions(), "n_ctx is accepted for n_positions");
        assertEquals(32, ok.nInner(), "n_inner defaults to 4C");
        assertTrue(assertThrows(ModelFormatException.class, () -> ModelConfig.read(dir.resolve("none.json"))).getMessage()
                .contains("config.json"));
    }

    @Test
    void safetensorsHeadersAreCheckedBeforeAnyAllocation() throws IOException {
        assertSafeTensors(bytes(0, ""), "is 0 bytes long");
        assertSafeTensors(header(1L << 40, "{}"), "header length field says 1099511627776 bytes");
        assertSafeTensors(header(2, "{]"), "not valid JSON");
        assertSafeTensors(header(-1, "{}"), "header length field");
        assertSafeTensors(withHeader("{\"a\": {\"dtype\": \"I64\", \"shape\": [1], \"data_offsets\": [0, 8]}}", 8), "dtype I64");
        assertSafeTensors(withHeader("{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]}}", 8),
                "points at bytes 0..16 but the data section has 8 bytes");
        assertSafeTensors(withHeader("{\"a\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 8),
                "(12 bytes) but its data range holds 8 bytes");
        assertSafeTensors(withHeader("{\"a\": {\"dtype\": \"F32\", \"shape\": [2147483647, 2147483647], \"data_offsets\": [0, 8]}}", 8),
                "'a'");
        assertSafeTensors(withHeader("{\"a\": {\"dtype\": \"F32\", \"data_offsets\": [0, 8]}}", 8), "lacks a shape");
    }

    @Test
    void weightsAreCheckedAgainstTheConfig() throws IOException {
        Path model = TinyGpt2.write(dir.resolve("m"), "F32", false, 100);
        // a config whose width does not match the weights
        Files.writeString(model.resolve("config.json"), Files.readString(model.resolve("config.json")).replace("\"n_embd\": 48", "\"n_embd\": 24"));
        ModelFormatException wrong = assertThrows(ModelFormatException.class, () -> ModelWeights.loadFolder(model));
        assertTrue(wrong.getMessage().contains("tensor 'wte.weight' has shape [97, 48] but config.json implies [97, 24]"), wrong.getMessage());

        Path short1 = TinyGpt2.write(dir.resolve("s"), "F32", false, 100);
        Files.writeString(short1.resolve("config.json"), Files.readString(short1.resolve("config.json")).replace("\"n_layer\": 2", "\"n_layer\": 3"));
        ModelFormatException missing = assertThrows(ModelFormatException.class, () -> ModelWeights.loadFolder(short1));
        assertTrue(missing.getMessage().contains("no tensor 'h.2.ln_1.weight'"), missing.getMessage());

        Path truncated = TinyGpt2.write(dir.resolve("t"), "F32", false, 100);
        byte[] all = Files.readAllBytes(truncated.resolve("model.safetensors"));
        Files.write(truncated.resolve("model.safetensors"), Arrays.copyOf(all, all.length - 100));
        ModelFormatException cut = assertThrows(ModelFormatException.class, () -> ModelWeights.loadFolder(truncated));
        assertTrue(cut.getMessage().contains("truncated or damaged"), cut.getMessage());

        Path noWeights = dir.resolve("empty");
        Files.createDirectories(noWeights);
        Files.copy(model.resolve("config.json"), noWeights.resolve("config.json"));
        Files.write(noWeights.resolve("pytorch_model.bin"), new byte[8]);
        ModelFormatException bin = assertThrows(ModelFormatException.class, () -> ModelWeights.loadFolder(noWeights));
        assertTrue(bin.getMessage().contains("convert it to safetensors"), bin.getMessage());
    }

    @Test
    void halfPrecisionConversionIsExact() {
        assertEquals(1.0f, gpuinfer.tensor.Half.toFloat((short) 0x3c00));
        assertEquals(-2.0f, gpuinfer.tensor.Half.toFloat((short) 0xc000));
        assertEquals(65504f, gpuinfer.tensor.Half.toFloat((short) 0x7bff));
        assertEquals(0x1p-24f, gpuinfer.tensor.Half.toFloat((short) 0x0001), "smallest subnormal");
        assertEquals(Float.POSITIVE_INFINITY, gpuinfer.tensor.Half.toFloat((short) 0x7c00));
        assertTrue(Float.isNaN(gpuinfer.tensor.Half.toFloat((short) 0x7e00)));
        for (int bits = 0; bits < 0x10000; bits++) {
            float f = gpuinfer.tensor.Half.toFloat((short) bits);
            if (!Float.isNaN(f)) {
                assertEquals((short) bits, SafeTensorsWriter.toHalf(f), "half " + Integer.toHexString(bits) + " round-trips");
            }
        }
        assertEquals(1.5f, gpuinfer.tensor.Half.bfloat16ToFloat((short) 0x3fc0));
    }

    private void assertConfig(String json, String fragment) throws IOException {
        Path file = write("config.json", json);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> ModelConfig.read(file));
        assertTrue(e.getMessage().startsWith(file.toString()) && e.getMessage().contains(fragment), e.getMessage());
    }

    private void assertSafeTensors(byte[] content, String fragment) throws IOException {
        Path file = dir.resolve("m.safetensors");
        Files.write(file, content);
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> SafeTensors.open(file).close());
        assertTrue(e.getMessage().startsWith(file.toString()) && e.getMessage().contains(fragment), e.getMessage());
    }

    private Path write(String name, String text) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, text);
        return file;
    }

    private static byte[] header(long length, String json) {
        return bytes(length, json);
    }

    private static byte[] withHeader(String json, int dataBytes) {
        byte[] text = json.getBytes(StandardCharsets.UTF_8);
        byte[] head = bytes(text.length, json);
        return Arrays.copyOf(head, head.length + dataBytes);
    }

    private static byte[] bytes(long length, String json) {
        if (json.isEmpty() && length == 0) {
            return new byte[0];
        }
        byte[] text = json.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + text.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(length).put(text);
        return b.array();
    }
}
