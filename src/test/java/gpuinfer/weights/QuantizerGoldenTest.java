package gpuinfer.weights;

import gpuinfer.gguf.GgufFile;
import gpuinfer.testing.StoredBytes;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * gpu-infer's Q8_0 and Q4_0 quantisers against llama.cpp's, bit for bit. tools/golden_gguf.sh made a tiny random
 * GPT-2 (n_embd 64, n_inner 128, 2 layers, a 512-token vocabulary; some token-embedding rows hold planted edge
 * cases: zero blocks, exact rounding ties, Q4_0's first-largest-magnitude rule in both orders and its clamp at 15,
 * fp16 scales that round to zero or to a subnormal, float32 subnormals, -0.0), wrote it as F32 with
 * {@code gpu-infer convert}, and quantised that file with llama.cpp's {@code llama-quantize --pure} to Q8_0 and
 * Q4_0. For every tensor llama-quantize quantised, WeightType.quantize applied to the F32 file's tensor of the same
 * name must give the same bytes (a failure names the first differing block). Outcome when written: identical, all
 * 9 matrices of both files (the reference quantisers in ggml-base are compiled without -march, so no FMA
 * contraction can change x·id + 8.5; see src/test/resources/golden/gguf/README.md).
 */
class QuantizerGoldenTest {
    static final Path DIR = Path.of("src/test/resources/golden/gguf/tiny");
    /** token_embd plus 4 matrices in each of the 2 layers: what --pure quantises in a tied GPT-2. */
    static final int QUANTISED_MATRICES = 9;

    @ParameterizedTest
    @EnumSource(value = WeightType.class, names = {"Q8_0", "Q4_0"})
    void javaQuantiserGivesLlamaQuantizesBytes(WeightType type) {
        int quantised = 0;
        try (GgufFile f32 = GgufFile.open(DIR.resolve("tiny-f32.gguf"));
             GgufFile llama = GgufFile.open(DIR.resolve("tiny-" + type.label + ".llama-quantize.gguf"))) {
            assertEquals(f32.tensors().keySet(), llama.tensors().keySet());
            for (String name : llama.tensors().keySet()) {
                WeightTensor want = llama.tensor(name);
                WeightTensor source = f32.tensor(name);
                assertEquals(WeightType.F32, source.type(), name);
                assertArrayEquals(source.shape(), want.shape(), name + ": shape");
                if (want.type() == type) {
                    quantised++;
                    WeightTensor got = source.to(type);
                    StoredBytes.assertBlocksEqual(name + " quantised by Java vs llama-quantize", type, want.rowBytes(),
                            StoredBytes.of(want), StoredBytes.of(got));
                } else {
                    // what llama-quantize left alone (norms, biases, the position table) is copied as it was
                    assertEquals(WeightType.F32, want.type(), name + " is either " + type + " or kept F32");
                    StoredBytes.assertBlocksEqual(name + " copied", WeightType.F32, want.rowBytes(),
                            StoredBytes.of(source), StoredBytes.of(want));
                }
            }
        }
        assertEquals(QUANTISED_MATRICES, quantised, "tensors llama-quantize --pure quantised to " + type);
    }

    /**
     * The files {@code gpu-infer convert --type q8_0 / q4_0} wrote from the model folder hold the same tensors as
     * llama-quantize's, byte for byte: the quantised matrices, and the position table and vectors kept in F32 (the
     * files differ only in metadata such as general.name).
     */
    @ParameterizedTest
    @EnumSource(value = WeightType.class, names = {"Q8_0", "Q4_0"})
    void gpuInferConvertWritesLlamaQuantizesBytes(WeightType type) {
        int quantised = 0;
        try (GgufFile converted = GgufFile.open(DIR.resolve("tiny-" + type.label + ".gguf"));
             GgufFile llama = GgufFile.open(DIR.resolve("tiny-" + type.label + ".llama-quantize.gguf"))) {
            assertEquals(llama.tensors().keySet(), converted.tensors().keySet());
            for (String name : llama.tensors().keySet()) {
                WeightTensor want = llama.tensor(name);
                WeightTensor got = converted.tensor(name);
                assertNotNull(got, name);
                assertEquals(want.type(), got.type(), name + ": format");
                quantised += want.type() == type ? 1 : 0;
                StoredBytes.assertBlocksEqual(name + " by gpu-infer convert vs llama-quantize", want.type(), want.rowBytes(),
                        StoredBytes.of(want), StoredBytes.of(got));
            }
        }
        assertEquals(QUANTISED_MATRICES, quantised);
    }
}
