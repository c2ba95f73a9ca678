package gpuinfer.weights;

import gpuinfer.InputException;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The storage formats of weights: the one table that describes a format (as ggml's type traits do). A row of
 * {@code cols} values is {@code cols / blockSize} blocks of {@code blockBytes} bytes; rows never share a block.
 * Every format converts a row to float32 ({@link #dequantize}); the formats gpu-infer runs on the device
 * ({@link #runsNatively()}) also convert from float32 ({@link #quantize}), bit-identical to ggml's reference
 * quantisers. The K-quants are read only: a model that holds them is converted to Q8_0 at load.
 *
 * <p>Layouts (little-endian, as ggml stores them):
 * <ul>
 *   <li>F32, F16 (IEEE binary16), BF16 (the top half of a float32): one value per "block";</li>
 *   <li>Q8_0: 32 values as one fp16 scale d and 32 int8 q; value = d·q (34 bytes);</li>
 *   <li>Q4_0: 32 values as one fp16 scale d and 16 bytes of 4-bit q; byte j holds value j in its low nibble and
 *       value j + 16 in its high nibble; value = d·(q − 8) (18 bytes);</li>
 *   <li>Q4_K, Q5_K, Q6_K: super-blocks of 256 values with 6- or 8-bit sub-block scales (144, 176, 210 bytes).</li>
 * </ul>
 */
public enum WeightType {
    F32("f32", 0, 1, 4, 0, true),
    F16("f16", 1, 1, 2, 1, true),
    BF16("bf16", 30, 1, 2, 2, true),
    Q8_0("q8_0", 8, 32, 34, 3, true),
    Q4_0("q4_0", 2, 32, 18, 4, true),
    Q4_K("q4_K", 12, 256, 144, -1, false),
    Q5_K("q5_K", 13, 256, 176, -1, false),
    Q6_K("q6_K", 14, 256, 210, -1, false);

    /** Lower-case name as llama.cpp writes it (q8_0, q4_K). */
    public final String label;
    /** ggml_type id, as GGUF files store it. */
    public final int ggmlId;
    /** Values per block. */
    public final int blockSize;
    /** Bytes per block. */
    public final int blockBytes;
    /** The kernels' {@code -DWTYPE} value (see kernels/weights.h), or -1 for formats the device does not read. */
    public final int kernelCode;
    private final boolean runsNatively;

    WeightType(String label, int ggmlId, int blockSize, int blockBytes, int kernelCode, boolean runsNatively) {
        this.label = label;
        this.ggmlId = ggmlId;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
        this.kernelCode = kernelCode;
        this.runsNatively = runsNatively;
    }

    /** True for the formats the OpenCL kernels read directly (F32, F16, BF16, Q8_0, Q4_0). */
    public boolean runsNatively() {
        return runsNatively;
    }

    /** True for the formats of 32- or 256-value blocks. */
    public boolean isBlockQuantized() {
        return blockSize > 1;
    }

    /** Bits per stored value, e.g. 8.5 for Q8_0. */
    public double bitsPerValue() {
        return 8.0 * blockBytes / blockSize;
    }

    /** Bytes of a row of {@code cols} values; {@code cols} must be a whole number of blocks ({@link #checkRow}). */
    public long rowBytes(long cols) {
        return cols / blockSize * blockBytes;
    }

    /** Whether rows of {@code cols} values are whole blocks of this format. */
    public boolean fitsRow(long cols) {
        return cols % blockSize == 0;
    }

    /** Throws, naming the tensor, when rows of {@code cols} values would end in the middle of a block. */
    public void checkRow(String tensor, long cols) {
        if (!fitsRow(cols)) {
            throw new InputException("tensor '" + tensor + "': rows of " + cols + " values are not whole " + name()
                    + " blocks of " + blockSize + " values (" + cols % blockSize + " left over); " + name()
                    + " needs a row length that is a multiple of " + blockSize + ". Keep this tensor in F16 or F32.");
        }
    }

    /**
     * Converts {@code count} values (whole blocks) starting at byte {@code at} of {@code src} (little-endian,
     * absolute indexing: the buffer's position is ignored) to float32 in {@code dst[to ...]}.
     */
    public void dequantize(ByteBuffer src, long at, float[] dst, int to, int count) {
        BlockCodecs.dequantize(this, src, checkedIndex(at), dst, to, count);
    }

    /**
     * Converts {@code count} float32 values (whole blocks) from {@code src[from ...]} to this format at byte
     * {@code at} of {@code dst}; for Q8_0 and Q4_0 the blocks are bit-identical to ggml's reference quantiser.
     *
     * @throws UnsupportedOperationException for the read-only K-quants
     */
    public void quantize(float[] src, int from, int count, ByteBuffer dst, long at) {
        BlockCodecs.quantize(this, src, from, count, dst, checkedIndex(at));
    }

    private static int checkedIndex(long at) {
        if (at < 0 || at > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("byte index " + at + " outside a ByteBuffer");
        }
        return (int) at;
    }

    /** The format of a ggml type id, or null when gpu-infer does not know it. */
    public static WeightType ofGgml(int id) {
        for (WeightType t : values()) {
            if (t.ggmlId == id) {
                return t;
            }
        }
        return null;
    }

    /** The formats a user may ask weights to be converted to ({@code --weights}, {@code convert --type}). */
    public static WeightType[] targets() {
        return Arrays.stream(values()).filter(WeightType::runsNatively).toArray(WeightType[]::new);
    }

    /** Parses f32, f16, bf16, q8_0 or q4_0 (any case), the values of {@code --weights} and {@code --type}. */
    public static WeightType parseTarget(String option, String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        for (WeightType type : targets()) {
            if (type.label.equals(t)) {
                return type;
            }
        }
        throw new InputException(option + " '" + text + "' is not a weight format gpu-infer runs: use one of "
                + Arrays.stream(targets()).map(w -> w.label).collect(Collectors.joining(", ")) + ".");
    }
}
