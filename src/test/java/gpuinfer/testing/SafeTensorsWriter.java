package gpuinfer.testing;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Writes safetensors files for tests (F32, F16 or BF16; round to nearest even), tensors packed in the given order. */
public final class SafeTensorsWriter {
    private final Map<String, float[]> tensors = new LinkedHashMap<>();
    private final Map<String, int[]> shapes = new LinkedHashMap<>();

    public SafeTensorsWriter put(String name, float[] values, int... shape) {
        tensors.put(name, values);
        shapes.put(name, shape);
        return this;
    }

    public void write(Path file, String dtype) throws IOException {
        int bytesPer = dtype.equals("F32") ? 4 : 2;
        Map<String, Object> header = new LinkedHashMap<>();
        long offset = 0;
        for (Map.Entry<String, float[]> e : tensors.entrySet()) {
            long size = (long) e.getValue().length * bytesPer;
            header.put(e.getKey(), Map.of("dtype", dtype, "shape", shapes.get(e.getKey()), "data_offsets", List.of(offset, offset + size)));
            offset += size;
        }
        header.put("__metadata__", Map.of("format", "pt"));
        byte[] json = new ObjectMapper().writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        try (OutputStream out = Files.newOutputStream(file)) {
            ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded);
            out.write(length.array());
            out.write(json);
            out.write(" ".repeat(padded - json.length).getBytes(StandardCharsets.US_ASCII));
            for (float[] values : tensors.values()) {
                ByteBuffer data = ByteBuffer.allocate(values.length * bytesPer).order(ByteOrder.LITTLE_ENDIAN);
                for (float v : values) {
                    switch (dtype) {
                        case "F32" -> data.putFloat(v);
                        case "F16" -> data.putShort(toHalf(v));
                        case "BF16" -> data.putShort(toBfloat16(v));
                        default -> throw new IllegalArgumentException(dtype);
                    }
                }
                out.write(data.array());
            }
        }
    }

    /** float32 to bfloat16 bits, round to nearest even. */
    public static short toBfloat16(float v) {
        int bits = Float.floatToRawIntBits(v);
        if (Float.isNaN(v)) {
            return (short) ((bits >>> 16) | 0x40);
        }
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }

    /** float32 to binary16 bits, round to nearest even (normal and subnormal results; overflow to infinity). */
    public static short toHalf(float v) {
        int bits = Float.floatToRawIntBits(v);
        int sign = (bits >>> 16) & 0x8000;
        float abs = Math.abs(v);
        if (Float.isNaN(v)) {
            return (short) (sign | 0x7e00);
        }
        if (abs >= 65520f) {
            return (short) (sign | 0x7c00);
        }
        if (abs < 0x1p-14f) {
            // subnormal: a multiple of 2^-24, rounded to nearest even by Math.rint
            return (short) (sign | (int) Math.rint(abs * 0x1p24));
        }
        int exponent = Math.getExponent(abs);
        int mantissa = (Float.floatToRawIntBits(abs) & 0x7fffff);
        int half = ((exponent + 15) << 10) | (mantissa >>> 13);
        int rest = mantissa & 0x1fff;
        if (rest > 0x1000 || (rest == 0x1000 && (half & 1) == 1)) {
            half++;
        }
        return (short) (sign | half);
    }
}
