package gpuinfer.weights;

import gpuinfer.InputException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * A weight tensor in its stored format, never expanded to a whole float32 array: a name, a {@link WeightType}, a
 * row-major shape (outermost first; the last dimension is the row, along which blocks run) and its bytes. The bytes
 * are either a buffer (a slice of a memory-mapped file, or memory this process filled) or computed row by row on
 * request (a tensor converted to another format or transposed at load), so that an upload streams them through a
 * small staging buffer and a model larger than the Java heap still loads.
 *
 * <p>Rows are whole blocks: a tensor whose row length is not a multiple of its format's block size cannot exist.
 */
public final class WeightTensor {
    /** Stored bytes computed on request. */
    public interface RowSource {
        /** Writes the stored bytes of rows {@code first .. first + count - 1} at {@code dst}'s position and advances it. */
        void storedRows(long first, int count, ByteBuffer dst);
    }

    /** Values converted per batch (4 MiB of float32). */
    private static final int CONVERSION_BATCH_VALUES = 1 << 20;
    private static final int TRANSPOSE_TILE = 64;

    private final String name;
    private final WeightType type;
    private final long[] shape;
    private final long rows;
    private final long cols;
    private final ByteBuffer buffer; // the whole tensor, little-endian, or null when computed by source
    private final RowSource source;
    private final String origin;

    private WeightTensor(String name, WeightType type, long[] shape, ByteBuffer buffer, RowSource source, String origin) {
        if (shape.length == 0) {
            throw new IllegalArgumentException("tensor '" + name + "' has no dimensions");
        }
        for (long d : shape) {
            if (d < 1) {
                throw new InputException("tensor '" + name + "' has a dimension of " + d + " in " + Arrays.toString(shape));
            }
        }
        this.name = name;
        this.type = type;
        this.shape = shape.clone();
        this.cols = shape[shape.length - 1];
        long r = 1;
        for (int i = 0; i < shape.length - 1; i++) {
            r = Math.multiplyExact(r, shape[i]);
        }
        this.rows = r;
        type.checkRow(name, cols);
        if (buffer != null && buffer.remaining() != storedBytes()) {
            throw new IllegalArgumentException("tensor '" + name + "' " + describeShape() + " " + type + " needs "
                    + storedBytes() + " bytes, the buffer has " + buffer.remaining());
        }
        this.buffer = buffer == null ? null : buffer.slice().order(ByteOrder.LITTLE_ENDIAN);
        this.source = source;
        this.origin = origin;
    }

    /** A tensor whose stored bytes are {@code bytes} (from its position to its limit; not copied). */
    public static WeightTensor of(String name, WeightType type, long[] shape, ByteBuffer bytes) {
        return new WeightTensor(name, type, shape, bytes, null, "stored");
    }

    /** A tensor whose stored bytes come from {@code source}, row range by row range. */
    public static WeightTensor computed(String name, WeightType type, long[] shape, RowSource source, String origin) {
        return new WeightTensor(name, type, shape, null, source, origin);
    }

    /** An F32 tensor holding a copy of {@code values} (small tensors and tests). */
    public static WeightTensor ofFloats(String name, float[] values, long... shape) {
        ByteBuffer bytes = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        return of(name, WeightType.F32, shape, bytes);
    }

    /** {@code values} quantised to {@code type} in memory (tests and small tensors). */
    public static WeightTensor quantized(String name, WeightType type, float[] values, long... shape) {
        return ofFloats(name, values, shape).to(type).materialized();
    }

    public String name() {
        return name;
    }

    public WeightType type() {
        return type;
    }

    /** The shape, outermost dimension first. */
    public long[] shape() {
        return shape.clone();
    }

    /** Product of every dimension but the last. */
    public long rows() {
        return rows;
    }

    /** The last dimension: values per row. */
    public long cols() {
        return cols;
    }

    public long elementCount() {
        return rows * cols;
    }

    public long rowBytes() {
        return type.rowBytes(cols);
    }

    /** Bytes in the stored format. */
    public long storedBytes() {
        return rows * rowBytes();
    }

    /** "stored" for a tensor as its file holds it, else how it was made (e.g. "converted from F32"). */
    public String origin() {
        return origin;
    }

    /** "[768, 2304]". */
    public String describeShape() {
        return Arrays.stream(shape).mapToObj(Long::toString).collect(Collectors.joining(", ", "[", "]"));
    }

    /** The stored bytes as one buffer (position 0, little-endian) when they exist as such, e.g. a mapped file's. */
    public Optional<ByteBuffer> buffer() {
        return Optional.ofNullable(buffer).map(b -> b.duplicate().order(ByteOrder.LITTLE_ENDIAN));
    }

    /** Writes the stored bytes of rows {@code first .. first + count - 1} at {@code dst}'s position and advances it. */
    public void storedRows(long first, int count, ByteBuffer dst) {
        checkRows(first, count);
        long bytes = count * rowBytes();
        if (dst.remaining() < bytes) {
            throw new IllegalArgumentException(bytes + " bytes of '" + name + "' do not fit " + dst.remaining());
        }
        if (buffer != null) {
            int from = Math.toIntExact(first * rowBytes());
            dst.put(dst.position(), buffer, from, (int) bytes);
            dst.position(dst.position() + (int) bytes);
        } else {
            int start = dst.position();
            source.storedRows(first, count, dst);
            if (dst.position() - start != bytes) {
                throw new IllegalStateException("the source of '" + name + "' wrote " + (dst.position() - start)
                        + " bytes for " + count + " rows, not " + bytes);
            }
        }
    }

    /** Rows {@code first .. first + count - 1} as float32 (exactly the values the stored format encodes). */
    public void floatRows(long first, int count, float[] dst, int to) {
        checkRows(first, count);
        int values = Math.toIntExact(count * cols);
        if (buffer != null) {
            type.dequantize(buffer, first * rowBytes(), dst, to, values);
        } else {
            ByteBuffer stored = ByteBuffer.allocate(Math.toIntExact(count * rowBytes())).order(ByteOrder.LITTLE_ENDIAN);
            storedRows(first, count, stored);
            type.dequantize(stored, 0, dst, to, values);
        }
    }

    /** Every value as float32: for vectors (norm weights, biases) and tests, never for a model's matrices. */
    public float[] toFloats() {
        if (elementCount() > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("tensor '" + name + "' has " + elementCount() + " values");
        }
        float[] values = new float[(int) elementCount()];
        floatRows(0, (int) rows, values, 0);
        return values;
    }

    /**
     * This tensor in another format, converted row by row when its bytes are read (quantised with ggml's reference
     * quantisers); this tensor itself when it already has that format.
     *
     * @throws InputException when its rows are not whole blocks of {@code target}
     */
    public WeightTensor to(WeightType target) {
        if (target == type) {
            return this;
        }
        if (!target.runsNatively()) {
            throw new IllegalArgumentException("gpu-infer does not write " + target);
        }
        target.checkRow(name, cols);
        WeightTensor from = this;
        int width = Math.toIntExact(cols);
        int batch = Math.max(1, CONVERSION_BATCH_VALUES / width);
        int outRowBytes = (int) target.rowBytes(width);
        return computed(name, target, shape, (first, count, dst) -> {
            // source rows in batches: a transposed source reads its whole input once per batch, not once per row;
            // the rows of a batch are quantised in parallel (each writes its own bytes, by absolute index)
            float[] values = new float[Math.min(count, batch) * width];
            ByteBuffer out = BlockCodecs.littleEndian(dst);
            for (int done = 0; done < count; ) {
                int n = Math.min(batch, count - done);
                from.floatRows(first + done, n, values, 0);
                int at = dst.position();
                java.util.stream.IntStream.range(0, n).parallel()
                        .forEach(i -> target.quantize(values, i * width, width, out, at + i * outRowBytes));
                dst.position(at + n * outRowBytes);
                done += n;
            }
        }, "converted from " + type);
    }

    /**
     * The rows of {@code parts} one after another, as one [sum of rows, cols] tensor in their common stored format
     * (nothing converted): e.g. q, k and v projections fused so that one launch computes all three.
     */
    public static WeightTensor concatRows(String name, List<WeightTensor> parts) {
        WeightTensor first = parts.get(0);
        long total = 0;
        for (WeightTensor p : parts) {
            if (p.type != first.type || p.cols != first.cols || p.shape.length != 2) {
                throw new IllegalArgumentException("cannot stack '" + p.name + "' " + p.describeShape() + " " + p.type
                        + " under '" + first.name + "' " + first.describeShape() + " " + first.type);
            }
            total += p.rows;
        }
        long[] starts = new long[parts.size() + 1];
        for (int i = 0; i < parts.size(); i++) {
            starts[i + 1] = starts[i] + parts.get(i).rows;
        }
        List<WeightTensor> stacked = List.copyOf(parts);
        return computed(name, first.type, new long[] {total, first.cols}, (row, count, dst) -> {
            for (long r = row; r < row + count; ) {
                int part = 0;
                while (starts[part + 1] <= r) {
                    part++;
                }
                int n = (int) Math.min(row + count, starts[part + 1]) - (int) r;
                stacked.get(part).storedRows(r - starts[part], n, dst);
                r += n;
            }
        }, "rows of " + parts.size() + " tensors stacked");
    }

    /**
     * A tensor whose row i is this tensor's row {@code from[i]}, in the stored format (rows are whole blocks in every
     * format, so nothing is converted): e.g. q and k rows reordered between rotary pair layouts.
     */
    public WeightTensor rowsFrom(int[] from, String why) {
        if (from.length != rows) {
            throw new IllegalArgumentException(from.length + " row indices for the " + rows + " rows of '" + name + "'");
        }
        for (int r : from) {
            if (r < 0 || r >= rows) {
                throw new IllegalArgumentException("row " + r + " outside the " + rows + " rows of '" + name + "'");
            }
        }
        WeightTensor source = this;
        int[] order = from.clone();
        return computed(name, type, shape, (first, count, dst) -> {
            for (int i = 0; i < count; i++) {
                source.storedRows(order[(int) first + i], 1, dst);
            }
        }, why);
    }

    /**
     * The transpose of a 2-D tensor of F32, F16 or BF16 values that has a buffer ([a, b] becomes [b, a]); its rows
     * are gathered when read. GPT-2's Conv1D weights are stored [in, out]; the kernels read [out, in].
     */
    public WeightTensor transposed() {
        if (shape.length != 2 || type.isBlockQuantized() || buffer == null) {
            throw new IllegalArgumentException("only 2-D F32/F16/BF16 tensors with a buffer are transposed, not '" + name
                    + "' " + describeShape() + " " + type);
        }
        int a = Math.toIntExact(shape[0]);
        int b = Math.toIntExact(shape[1]);
        int size = type.blockBytes;
        ByteBuffer src = buffer;
        return computed(name, type, new long[] {b, a}, (first, count, dst) -> {
            // output row i (input column first + i), element j = input row j; 64 x 64 tiles keep both sides in
            // cache, and the tiles of output rows are shared among the cores (each writes its own rows)
            int base = dst.position();
            ByteBuffer target = BlockCodecs.littleEndian(dst.duplicate()).position(base).slice();
            java.util.stream.IntStream.range(0, (count + TRANSPOSE_TILE - 1) / TRANSPOSE_TILE).parallel().forEach(tile -> {
                int i0 = tile * TRANSPOSE_TILE;
                int n = Math.min(count, i0 + TRANSPOSE_TILE) - i0;
                Lanes in = Lanes.of(src, size);
                Lanes out = Lanes.of(target, size);
                int[] segment = new int[n];
                int[] rows = new int[n * TRANSPOSE_TILE];
                for (int j0 = 0; j0 < a; j0 += TRANSPOSE_TILE) {
                    int m = Math.min(a, j0 + TRANSPOSE_TILE) - j0;
                    for (int j = 0; j < m; j++) {
                        in.read((int) ((long) (j0 + j) * b + first + i0), segment, n);
                        for (int i = 0; i < n; i++) {
                            rows[i * TRANSPOSE_TILE + j] = segment[i];
                        }
                    }
                    for (int i = 0; i < n; i++) {
                        out.write((i0 + i) * a + j0, rows, i * TRANSPOSE_TILE, m);
                    }
                }
            });
            dst.position(base + count * a * size);
        }, (origin.equals("stored") ? "" : origin + ", ") + "transposed");
    }

    /** Elements of 2 or 4 bytes moved in runs through int arrays, whatever their width (the transpose's bulk copies). */
    private interface Lanes {
        /** Elements index .. index + n - 1 into dst[0 .. n). */
        void read(int index, int[] dst, int n);

        /** src[from .. from + n) into elements index .. index + n - 1. */
        void write(int index, int[] src, int from, int n);

        /** Lanes over the elements of {@code buffer} (little-endian, from index 0); not thread-safe. */
        static Lanes of(ByteBuffer buffer, int size) {
            ByteBuffer b = buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            if (size == 4) {
                java.nio.IntBuffer ints = b.asIntBuffer();
                return new Lanes() {
                    @Override
                    public void read(int index, int[] dst, int n) {
                        ints.get(index, dst, 0, n);
                    }

                    @Override
                    public void write(int index, int[] src, int from, int n) {
                        ints.put(index, src, from, n);
                    }
                };
            }
            java.nio.ShortBuffer shorts = b.asShortBuffer();
            short[] scratch = new short[TRANSPOSE_TILE];
            return new Lanes() {
                @Override
                public void read(int index, int[] dst, int n) {
                    shorts.get(index, scratch, 0, n);
                    for (int i = 0; i < n; i++) {
                        dst[i] = scratch[i];
                    }
                }

                @Override
                public void write(int index, int[] src, int from, int n) {
                    for (int i = 0; i < n; i++) {
                        scratch[i] = (short) src[from + i];
                    }
                    shorts.put(index, scratch, 0, n);
                }
            };
        }
    }

    /** This tensor with its stored bytes in one heap buffer (itself when it already has a buffer). */
    public WeightTensor materialized() {
        if (buffer != null) {
            return this;
        }
        if (storedBytes() > Integer.MAX_VALUE - 8) {
            throw new InputException("tensor '" + name + "' is " + storedBytes() + " bytes in " + type
                    + "; a buffer holds at most 2 GiB");
        }
        ByteBuffer bytes = ByteBuffer.allocate((int) storedBytes()).order(ByteOrder.LITTLE_ENDIAN);
        storedRows(0, (int) rows, bytes);
        bytes.flip();
        return new WeightTensor(name, type, shape, bytes, null, origin);
    }

    /** The formats of {@code tensors} with their counts, e.g. "Q8_0 ×49, F32 ×1", in the order first met. */
    public static String formats(java.util.Collection<WeightTensor> tensors) {
        java.util.Map<WeightType, Integer> counts = new java.util.LinkedHashMap<>();
        for (WeightTensor t : tensors) {
            counts.merge(t.type(), 1, Integer::sum);
        }
        return counts.entrySet().stream().map(e -> e.getKey() + " ×" + e.getValue()).collect(Collectors.joining(", "));
    }

    /** The same bytes under another name. */
    public WeightTensor named(String newName) {
        return new WeightTensor(newName, type, shape, buffer, source, origin);
    }

    private void checkRows(long first, int count) {
        if (first < 0 || count < 0 || first + count > rows) {
            throw new IndexOutOfBoundsException("rows " + first + ".." + (first + count) + " of '" + name + "' with " + rows);
        }
    }

    @Override
    public String toString() {
        return name + " " + describeShape() + " " + type;
    }
}
