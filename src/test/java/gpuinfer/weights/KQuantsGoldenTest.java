package gpuinfer.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.gguf.GgufFile;
import gpuinfer.tensor.Npy;
import gpuinfer.tensor.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * K-quant dequantisation (Q4_K, Q5_K, Q6_K) against an independent implementation: llama.cpp's gguf-py
 * ({@code gguf.quants.dequantize}, NumPy). tools/golden_gguf.sh made a random GPT-2 with n_embd 256 (K-quants need
 * rows of whole 256-value super-blocks), wrote it as F32 with gpu-infer convert and quantised it with llama.cpp's
 * {@code llama-quantize} to Q4_K_M (which holds Q4_K and Q6_K tensors) and Q5_K_M (Q5_K and Q6_K); gguf-py wrote
 * rows 0, 1, n/2 and n-1 of every K-quant tensor, dequantised, as .npy (tools/golden_kquant_rows.py).
 *
 * <p>Compared exactly, bit for bit: both sides compute d·scale (or d·scale·q) in float32 in the same order, and
 * every product is exact or rounded once the same way. Measured when written: 0 ulps of difference in all 2 × 5
 * tensors × 4 rows × 256 values.
 */
class KQuantsGoldenTest {
    static final Path DIR = Path.of("src/test/resources/golden/gguf/kquants");

    @ParameterizedTest
    @ValueSource(strings = {"kq-q4_k_m", "kq-q5_k_m"})
    void dequantisedRowsEqualGgufPys(String stem) throws IOException {
        JsonNode index = new ObjectMapper().readTree(DIR.resolve(stem).resolve("rows.json").toFile());
        Set<WeightType> seen = EnumSet.noneOf(WeightType.class);
        int checked = 0;
        try (GgufFile file = GgufFile.open(DIR.resolve(stem + ".gguf"))) {
            // every K-quant tensor of the file has its rows in the index
            for (GgufFile.TensorInfo info : file.tensors().values()) {
                WeightType type = info.type().weightType();
                if (type != null && !type.runsNatively()) {
                    assertTrue(index.get("tensors").has(info.name()), info.name() + " (" + type + ") has no golden rows");
                }
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = index.get("tensors").fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String name = e.getKey();
                WeightTensor tensor = file.tensor(name);
                assertEquals(WeightType.valueOf(e.getValue().get("type").asText()), tensor.type(), name);
                assertArrayEquals(longs(e.getValue().get("shape")), tensor.shape(), name);
                seen.add(tensor.type());
                Tensor want = Npy.read(DIR.resolve(stem).resolve(name + ".npy"));
                JsonNode rows = e.getValue().get("rows");
                int cols = (int) tensor.cols();
                assertArrayEquals(new int[] {rows.size(), cols}, want.shape(), name);
                for (int r = 0; r < rows.size(); r++) {
                    float[] got = new float[cols];
                    tensor.floatRows(rows.get(r).asLong(), 1, got, 0);
                    for (int i = 0; i < cols; i++) {
                        float w = want.data()[r * cols + i];
                        if (Float.floatToRawIntBits(got[i]) != Float.floatToRawIntBits(w)) {
                            fail(stem + " " + name + " (" + tensor.type() + ") row " + rows.get(r).asLong() + " value " + i
                                    + " (super-block " + i / 256 + ", sub-block " + i % 256 / (tensor.type() == WeightType.Q6_K ? 16 : 32)
                                    + "): got " + got[i] + ", gguf-py " + w + " (" + ulps(got[i], w) + " ulps)");
                        }
                    }
                    checked += cols;
                }
            }
        }
        assertEquals(stem.equals("kq-q4_k_m") ? EnumSet.of(WeightType.Q4_K, WeightType.Q6_K)
                : EnumSet.of(WeightType.Q5_K, WeightType.Q6_K), seen, "the K-quant formats this file holds");
        assertTrue(checked >= 5 * 4 * 256, checked + " values checked");
    }

    /** Distance in units in the last place (the number of floats between a and b). */
    static long ulps(float a, float b) {
        int x = Float.floatToRawIntBits(a);
        int y = Float.floatToRawIntBits(b);
        long ox = x < 0 ? Integer.MIN_VALUE - (long) x : x;
        long oy = y < 0 ? Integer.MIN_VALUE - (long) y : y;
        return Math.abs(ox - oy);
    }

    private static long[] longs(JsonNode array) {
        long[] out = new long[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asLong();
        }
        return out;
    }
}
