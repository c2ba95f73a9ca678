package gpuinfer.batch;

import gpuinfer.model.DecoderModel;
import gpuinfer.model.ModelWeights;
import gpuinfer.model.Tap;
import gpuinfer.ops.Backend;
import gpuinfer.testing.NoLeaksInClass;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * The property continuous batching rests on: a sequence's decode-step logits are bitwise the same whether it decodes
 * alone or beside other sequences of other lengths, for every batch size up to 16. Exact, not within a tolerance:
 * a sampler that sees a logit one ulp apart can choose another token.
 */
@ExtendWith(NoLeaksInClass.class)
class BatchInvarianceTest {
    private static final int MAX_BATCH = 16;
    @TempDir
    static Path dir;
    private static BatchTestModels models;

    @BeforeAll
    static void writeModel() throws IOException {
        models = new BatchTestModels(dir);
    }

    @AfterAll
    static void close() {
        models.close();
    }

    static Stream<Arguments> cases() {
        return BatchTestModels.cases();
    }


    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void decodeLogitsDoNotDependOnTheBatch(String modelName, String backendName) {
        Supplier<Backend> backend = models.backends(backendName);
        ModelWeights weights = models.weights(modelName);
        int V = weights.config.vocabSize();
        int maxLength = Math.min(weights.config.nPositions() - 1, 200);
        int[][] prompts = new int[MAX_BATCH][];
        int[] next = new int[MAX_BATCH];
        SplittableRandom random = new SplittableRandom(7);
        for (int b = 0; b < MAX_BATCH; b++) {
            prompts[b] = random.ints(1 + random.nextInt(maxLength), 0, V - 1).toArray();
            next[b] = random.nextInt(V - 1);
        }
        // alone: prefill, then one decode step of this sequence only
        float[][] alone = new float[MAX_BATCH][];
        for (int b = 0; b < MAX_BATCH; b++) {
            int L = prompts[b].length;
            try (DecoderModel model = new DecoderModel(backend.get(), weights, 1, L + 1, L, 1)) {
                model.forward(prompts[b], new int[] {0}, new int[] {L}, L, new int[] {L - 1}, Tap.NONE);
                alone[b] = model.forward(new int[] {next[b]}, new int[] {L}, new int[] {L + 1}, 1, new int[] {0}, Tap.NONE);
            }
        }
        List<String> differences = new ArrayList<>();
        try (DecoderModel model = new DecoderModel(backend.get(), weights, MAX_BATCH, maxLength + 1, maxLength, MAX_BATCH)) {
            // every prompt prefilled alone in slot 0, then moved to its own slot
            for (int b = MAX_BATCH - 1; b >= 0; b--) {
                int L = prompts[b].length;
                model.forward(prompts[b], new int[] {0}, new int[] {L}, L, new int[] {L - 1}, Tap.NONE);
                if (b > 0) {
                    model.copyCacheSlot(0, b, L);
                }
            }
            for (int k : new int[] {1, 2, 3, 4, 5, 7, 8, 12, 15, 16}) {
                int[] start = new int[k];
                int[] length = new int[k];
                int[] rows = new int[k];
                for (int b = 0; b < k; b++) {
                    start[b] = prompts[b].length;
                    length[b] = start[b] + 1;
                    rows[b] = b;
                }
                float[] logits = model.forward(java.util.Arrays.copyOf(next, k), start, length, 1, rows, Tap.NONE);
                for (int b = 0; b < k; b++) {
                    for (int v = 0; v < V; v++) {
                        if (Float.floatToIntBits(logits[b * V + v]) != Float.floatToIntBits(alone[b][v])) {
                            differences.add("batch " + k + ", sequence " + b + " (" + prompts[b].length + " positions): logit "
                                    + v + " " + logits[b * V + v] + " alone " + alone[b][v]);
                            break;
                        }
                    }
                }
            }
        }
        if (!differences.isEmpty()) {
            fail(differences.size() + " sequences' logits differ from decoding alone, first: "
                    + differences.subList(0, Math.min(8, differences.size())));
        }
    }
}
