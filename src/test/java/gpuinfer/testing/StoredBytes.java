package gpuinfer.testing;

import gpuinfer.weights.WeightTensor;
import gpuinfer.weights.WeightType;

import java.nio.ByteBuffer;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/** Stored bytes of weight tensors, compared block by block so that a failure names the block and shows both. */
public final class StoredBytes {
    private static final HexFormat HEX = HexFormat.of();

    private StoredBytes() {
    }

    /** The tensor's stored bytes (materialised when they are computed on request). */
    public static byte[] of(WeightTensor tensor) {
        ByteBuffer b = tensor.buffer().orElseGet(() -> tensor.materialized().buffer().orElseThrow());
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    /** Equal bytes, or a failure naming the first differing block (and row), with both versions in hex. */
    public static void assertBlocksEqual(String what, WeightType type, long rowBytes, byte[] want, byte[] got) {
        assertEquals(want.length, got.length, what + ": byte count");
        int block = type.blockBytes;
        for (int b = 0; b < want.length / block; b++) {
            for (int i = b * block; i < (b + 1) * block; i++) {
                if (want[i] != got[i]) {
                    long row = (long) b * block / rowBytes;
                    long inRow = (long) b * block % rowBytes / block;
                    fail(what + ": " + type + " block " + b + " (row " + row + ", block " + inRow + " of the row; values "
                            + (long) b * type.blockSize + ".." + ((long) (b + 1) * type.blockSize - 1) + " of the tensor) "
                            + "differs at byte " + (i - b * block) + ":\n  got  " + HEX.formatHex(got, b * block, (b + 1) * block)
                            + "\n  want " + HEX.formatHex(want, b * block, (b + 1) * block));
                }
            }
        }
    }
}
