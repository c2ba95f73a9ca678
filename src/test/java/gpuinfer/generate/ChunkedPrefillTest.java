package gpuinfer.generate;

import gpuinfer.model.DecoderModel;
import gpuinfer.model.LoadedModel;
import gpuinfer.model.Tap;
import gpuinfer.ops.CpuBackend;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A prompt longer than the model's step (a chat's first message, a long conversation fed again) is prefilled in
 * steps that each attend to the cache the earlier ones wrote: the same logits and tokens as one step.
 */
class ChunkedPrefillTest {
    @Test
    void aPromptFedInStepsGivesTheSameLogitsAndTokensAsOneStep() {
        LoadedModel m = LoadedModel.open(Path.of("src/test/resources/golden/llama/llama-tiny-f32.gguf"), null);
        int[] prompt = new int[23];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = (i * 37 + 11) % 400;
        }
        SamplingOptions greedy = new SamplingOptions(0, 0, 1, 0);
        Generator.Result whole;
        Generator.Result chunked;
        try (DecoderModel one = new DecoderModel(new CpuBackend(), m.weights(), 1, 40, 23, 23);
             DecoderModel steps = new DecoderModel(new CpuBackend(), m.weights(), 1, 40, 6, 23)) {
            whole = Generator.generate(one, m.tokenizer(), List.of(prompt), new int[1], new int[0], 8, greedy, true, null,
                    s -> Tap.NONE, m.tokenizer()::continuationDecoder);
            chunked = Generator.generate(steps, m.tokenizer(), List.of(prompt), new int[1], new int[0], 8, greedy, true, null,
                    s -> Tap.NONE, m.tokenizer()::continuationDecoder);
            assertEquals(6, steps.maxStepRows());
            assertArrayEquals(whole.completions().get(0).generatedIds(), chunked.completions().get(0).generatedIds());
            float[] a = whole.promptLogits();
            float[] b = chunked.promptLogits();
            assertEquals(a.length, b.length);
            for (int i = 0; i < a.length; i++) {
                assertEquals(a[i], b[i], 1e-5, "logit " + i);
            }
            assertThrows(IllegalArgumentException.class, () -> Generator.generate(steps, m.tokenizer(),
                    List.of(new int[4], new int[4]), new int[2], new int[0], 2, greedy, false, null, s -> Tap.NONE,
                    m.tokenizer()::continuationDecoder), "a batch wider than a step");
        }
    }
}
