package gpuinfer.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.tensor.Half;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.MappedByteBuffer;
import java.nio.ShortBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A {@code .safetensors} file: an 8-byte little-endian header length N, N bytes of JSON naming each tensor's dtype,
 * shape and byte range within the data that follows, then the data. Tensors are memory-mapped (64-bit offsets; each
 * tensor is one mapping) and converted to float32 on read. F32, F16 and BF16 are supported.
 *
 * <p>Everything in the header is checked against the file before any allocation it would drive: a header length
 * past the end of the file, a range outside the data, a range whose size does not match shape × dtype, an unknown
 * dtype — each is a {@link ModelFormatException} that names the tensor.
 */
public final class SafeTensors implements AutoCloseable {
    /** Headers beyond this are not something a real model writes; refusing them bounds what a hostile file can do. */
    static final long MAX_HEADER_BYTES = 100L << 20;

    /** One tensor's entry in the header. */
    public record Entry(String name, String dtype, int[] shape, long begin, long end) {
        public long elementCount() {
            long n = 1;
            for (int d : shape) {
                n *= d;
            }
            return n;
        }
    }

    private final Path file;
    private final FileChannel channel;
    private final long dataStart;
    private final Map<String, Entry> entries;

    private SafeTensors(Path file, FileChannel channel, long dataStart, Map<String, Entry> entries) {
        this.file = file;
        this.channel = channel;
        this.dataStart = dataStart;
        this.entries = entries;
    }

    /** Opens and validates the header; the data is read lazily. */
    public static SafeTensors open(Path file) {
        FileChannel channel;
        try {
            channel = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new ModelFormatException(file, "no such file");
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot be opened: " + e.getMessage());
        }
        try {
            long size = channel.size();
            if (size < 8) {
                throw new ModelFormatException(file, "is " + size + " bytes long; a safetensors file starts with an "
                        + "8-byte header length");
            }
            ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, lengthBytes, 0);
            long headerLength = lengthBytes.getLong(0);
            if (headerLength <= 0 || headerLength > size - 8 || headerLength > MAX_HEADER_BYTES) {
                throw new ModelFormatException(file, "the header length field says " + headerLength + " bytes, but "
                        + (headerLength > size - 8 ? "the file has only " + (size - 8) + " bytes after it"
                        : "that is not a plausible safetensors header") + ": the file is truncated or not safetensors");
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLength);
            readFully(channel, header, 8);
            long dataStart = 8 + headerLength;
            Map<String, Entry> entries = parseHeader(file, new String(header.array(), StandardCharsets.UTF_8), size - dataStart);
            return new SafeTensors(file, channel, dataStart, entries);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new ModelFormatException(file, "cannot be read: " + e.getMessage());
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    static Map<String, Entry> parseHeader(Path file, String text, long dataBytes) {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(text);
        } catch (JsonProcessingException e) {
            throw new ModelFormatException(file, "the header is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new ModelFormatException(file, "the header is not a JSON object");
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            String name = field.getKey();
            if (name.equals("__metadata__")) {
                continue;
            }
            JsonNode t = field.getValue();
            String dtype = t.path("dtype").asText("");
            int bytesPer = switch (dtype) {
                case "F32" -> 4;
                case "F16", "BF16" -> 2;
                case "" -> throw new ModelFormatException(file, "tensor '" + name + "' has no dtype");
                default -> throw new ModelFormatException(file, "tensor '" + name + "' has dtype " + dtype
                        + "; gpu-infer reads F32, F16 and BF16 (convert the model, e.g. model.float() before saving)");
            };
            JsonNode shapeNode = t.path("shape");
            JsonNode offsets = t.path("data_offsets");
            if (!shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2) {
                throw new ModelFormatException(file, "tensor '" + name + "' lacks a shape array or a [begin, end] data_offsets pair");
            }
            int[] shape = new int[shapeNode.size()];
            long elements = 1;
            for (int i = 0; i < shape.length; i++) {
                long d = shapeNode.get(i).asLong(-1);
                if (!shapeNode.get(i).canConvertToLong() || d < 0 || d > Integer.MAX_VALUE) {
                    throw new ModelFormatException(file, "tensor '" + name + "' has an invalid dimension " + shapeNode.get(i));
                }
                shape[i] = (int) d;
                elements = multiplyCapped(elements, d);
            }
            long begin = offsets.get(0).asLong(-1);
            long end = offsets.get(1).asLong(-1);
            if (begin < 0 || end < begin || end > dataBytes) {
                throw new ModelFormatException(file, "tensor '" + name + "' points at bytes " + begin + ".." + end
                        + " but the data section has " + dataBytes + " bytes: the file is truncated or damaged");
            }
            if (end - begin != elements * bytesPer) {
                throw new ModelFormatException(file, "tensor '" + name + "' has shape " + Arrays.toString(shape) + " "
                        + dtype + " (" + elements * bytesPer + " bytes) but its data range holds " + (end - begin) + " bytes");
            }
            if (elements > Integer.MAX_VALUE - 8) {
                throw new ModelFormatException(file, "tensor '" + name + "' has " + elements + " values; gpu-infer "
                        + "holds at most 2^31 - 9 per tensor");
            }
            entries.put(name, new Entry(name, dtype, shape, begin, end));
        }
        return Collections.unmodifiableMap(entries);
    }

    public Path file() {
        return file;
    }

    /** Every tensor, in header order. */
    public Map<String, Entry> entries() {
        return entries;
    }

    public Entry entry(String name) {
        return entries.get(name);
    }

    /** The tensor in its stored format (F32, F16 or BF16), memory-mapped: nothing is copied to the heap. */
    public gpuinfer.weights.WeightTensor tensor(Entry entry) {
        gpuinfer.weights.WeightType type = switch (entry.dtype()) {
            case "F32" -> gpuinfer.weights.WeightType.F32;
            case "F16" -> gpuinfer.weights.WeightType.F16;
            case "BF16" -> gpuinfer.weights.WeightType.BF16;
            default -> throw new IllegalStateException(entry.dtype());
        };
        long[] shape = java.util.Arrays.stream(entry.shape().length == 0 ? new int[] {1} : entry.shape())
                .asLongStream().toArray();
        try {
            MappedByteBuffer mapped = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + entry.begin(), entry.end() - entry.begin());
            mapped.order(ByteOrder.LITTLE_ENDIAN);
            return gpuinfer.weights.WeightTensor.of(entry.name(), type, shape, mapped);
        } catch (IOException e) {
            throw new ModelFormatException(file, "tensor '" + entry.name() + "' cannot be read: " + e.getMessage());
        }
    }

    /** The tensor's values as float32 (F16 and BF16 widened exactly). */
    public float[] read(Entry entry) {
        try {
            MappedByteBuffer mapped = channel.map(FileChannel.MapMode.READ_ONLY, dataStart + entry.begin(), entry.end() - entry.begin());
            mapped.order(ByteOrder.LITTLE_ENDIAN);
            float[] values = new float[(int) entry.elementCount()];
            switch (entry.dtype()) {
                case "F32" -> {
                    FloatBuffer floats = mapped.asFloatBuffer();
                    floats.get(values);
                }
                case "F16" -> {
                    ShortBuffer halves = mapped.asShortBuffer();
                    for (int i = 0; i < values.length; i++) {
                        values[i] = Half.toFloat(halves.get(i));
                    }
                }
                case "BF16" -> {
                    ShortBuffer halves = mapped.asShortBuffer();
                    for (int i = 0; i < values.length; i++) {
                        values[i] = Half.bfloat16ToFloat(halves.get(i));
                    }
                }
                default -> throw new IllegalStateException(entry.dtype());
            }
            return values;
        } catch (IOException e) {
            throw new ModelFormatException(file, "tensor '" + entry.name() + "' cannot be read: " + e.getMessage());
        }
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    private static long multiplyCapped(long a, long b) {
        long r = a * b;
        return (a != 0 && (r / a != b || r < 0)) ? Long.MAX_VALUE / 4 : r;
    }

    private static void readFully(FileChannel channel, ByteBuffer buffer, long position) throws IOException {
        while (buffer.hasRemaining()) {
            if (channel.read(buffer, position + buffer.position()) < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing to do: the file was only read
        }
    }
}
