package gpuinfer.gguf;

import gpuinfer.util.AtomicFiles;
import gpuinfer.weights.WeightTensor;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;

/**
 * Writes a GGUF version 3 file: metadata in insertion order, then the tensors in the order added, each at an offset
 * aligned to {@code general.alignment} (32). Tensor bytes are streamed row range by row range from each
 * {@link WeightTensor} (converting or transposing as they are read), so a model larger than the heap is written with
 * a few MiB of memory. The file is written under a temporary name and renamed when complete: an interrupted
 * conversion never leaves a file that looks whole.
 */
public final class GgufWriter {
    private static final int CHUNK_BYTES = 8 << 20;

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<WeightTensor> tensors = new ArrayList<>();
    private final int alignment = GgufFile.DEFAULT_ALIGNMENT;

    public GgufWriter put(String key, GgufValue value) {
        if (key.equals("general.alignment")) {
            throw new IllegalArgumentException("the writer always aligns to " + alignment);
        }
        metadata.put(key, value);
        return this;
    }

    public GgufWriter add(WeightTensor tensor) {
        if (tensor.shape().length > GgufFile.MAX_DIMS) {
            throw new IllegalArgumentException(tensor + " has more than " + GgufFile.MAX_DIMS + " dimensions");
        }
        for (WeightTensor t : tensors) {
            if (t.name().equals(tensor.name())) {
                throw new IllegalArgumentException("tensor '" + tensor.name() + "' added twice");
            }
        }
        tensors.add(tensor);
        return this;
    }

    public int tensorCount() {
        return tensors.size();
    }

    /** The tensors' formats with their counts, e.g. "Q8_0 ×49, F32 ×98", in the order first added. */
    public String formats() {
        return WeightTensor.formats(tensors);
    }

    /** Bytes of tensor data the file will hold (with alignment padding). */
    public long dataBytes() {
        long offset = 0;
        for (WeightTensor t : tensors) {
            offset = align(offset) + t.storedBytes();
        }
        return offset;
    }

    /** Writes the file; {@code progress} receives the tensor bytes written as they are. */
    public void write(Path target, LongConsumer progress) throws IOException {
        AtomicFiles.write(target, out -> writeTo(out, progress));
    }

    private void writeTo(OutputStream out, LongConsumer progress) throws IOException {
        Bytes header = new Bytes();
        header.u32(GgufFile.MAGIC);
        header.u32(3);
        header.u64(tensors.size());
        header.u64(metadata.size());
        for (Map.Entry<String, GgufValue> e : metadata.entrySet()) {
            header.string(e.getKey());
            header.u32(e.getValue().type().id);
            header.value(e.getValue());
        }
        long offset = 0;
        List<Long> offsets = new ArrayList<>();
        for (WeightTensor t : tensors) {
            offset = align(offset);
            offsets.add(offset);
            header.string(t.name());
            long[] shape = t.shape();
            header.u32(shape.length);
            for (int d = shape.length - 1; d >= 0; d--) {
                header.u64(shape[d]); // ne[0] is the innermost dimension
            }
            header.u32(t.type().ggmlId);
            header.u64(offset);
            offset += t.storedBytes();
        }
        header.pad(alignment);
        out.write(header.bytes.array(), 0, header.bytes.position());

        long written = 0;
        ByteBuffer chunk = ByteBuffer.allocate(CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < tensors.size(); i++) {
            WeightTensor t = tensors.get(i);
            long padding = offsets.get(i) - written;
            out.write(new byte[(int) padding]);
            written += padding;
            int rowsPerChunk = (int) Math.max(1, Math.min(t.rows(), CHUNK_BYTES / Math.max(1, t.rowBytes())));
            if (t.rowBytes() > CHUNK_BYTES) {
                chunk = ByteBuffer.allocate(Math.toIntExact(t.rowBytes())).order(ByteOrder.LITTLE_ENDIAN);
            }
            for (long row = 0; row < t.rows(); row += rowsPerChunk) {
                int n = (int) Math.min(rowsPerChunk, t.rows() - row);
                chunk.clear();
                t.storedRows(row, n, chunk);
                out.write(chunk.array(), 0, chunk.position());
                written += chunk.position();
                progress.accept(chunk.position());
                gpuinfer.util.Interruption.check();
            }
        }
        // the last tensor is padded too: llama.cpp's reader, loading the data itself, reads every tensor's padded size
        out.write(new byte[(int) (align(written) - written)]);
    }

    private long align(long offset) {
        return (offset + alignment - 1) / alignment * alignment;
    }

    /** A growing little-endian byte buffer for the header. */
    private static final class Bytes {
        ByteBuffer bytes = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        private void room(int n) {
            if (bytes.remaining() < n) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(bytes.capacity() * 2, bytes.position() + n))
                        .order(ByteOrder.LITTLE_ENDIAN);
                bytes.flip();
                bigger.put(bytes);
                bytes = bigger;
            }
        }

        void u32(long v) {
            room(4);
            bytes.putInt((int) v);
        }

        void u64(long v) {
            room(8);
            bytes.putLong(v);
        }

        void string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            room(b.length);
            bytes.put(b);
        }

        void pad(int alignment) {
            int n = (alignment - bytes.position() % alignment) % alignment;
            room(n);
            bytes.put(new byte[n]);
        }

        void value(GgufValue v) {
            switch (v.type()) {
                case ARRAY -> array((GgufValue.Array) v.value());
                case STRING -> string((String) v.value());
                case BOOL -> scalar(v.type(), (Boolean) v.value() ? 1L : 0L, 0);
                case FLOAT32, FLOAT64 -> scalar(v.type(), 0, (Double) v.value());
                default -> scalar(v.type(), (Long) v.value(), 0);
            }
        }

        void scalar(GgufValue.Type type, long integer, double real) {
            room(8);
            switch (type) {
                case UINT8, INT8, BOOL -> bytes.put((byte) integer);
                case UINT16, INT16 -> bytes.putShort((short) integer);
                case UINT32, INT32 -> bytes.putInt((int) integer);
                case UINT64, INT64 -> bytes.putLong(integer);
                case FLOAT32 -> bytes.putFloat((float) real);
                case FLOAT64 -> bytes.putDouble(real);
                default -> throw new IllegalArgumentException(type + " is not a scalar");
            }
        }

        void array(GgufValue.Array a) {
            u32(a.elementType().id);
            u64(a.length());
            switch (a.elementType()) {
                case STRING -> {
                    for (String s : (String[]) a.values()) {
                        string(s);
                    }
                }
                case ARRAY -> {
                    for (GgufValue.Array nested : (GgufValue.Array[]) a.values()) {
                        array(nested);
                    }
                }
                case BOOL -> {
                    for (boolean b : (boolean[]) a.values()) {
                        scalar(GgufValue.Type.BOOL, b ? 1 : 0, 0);
                    }
                }
                case FLOAT32, FLOAT64 -> {
                    for (double d : (double[]) a.values()) {
                        scalar(a.elementType(), 0, d);
                    }
                }
                default -> {
                    for (long l : (long[]) a.values()) {
                        scalar(a.elementType(), l, 0);
                    }
                }
            }
        }
    }
}
