package gpuinfer.model;

import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.ops.Backend;
import gpuinfer.ops.CpuBackend;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The forward pass's invariants, for any model family (Gpt2ModelTest, LlamaModelTest): decoding with the KV cache
 * equals recomputing the sequence; a padded batch equals each sequence alone. The CPU reference's full forward is
 * the expectation.
 */
final class ModelInvariants {
    private ModelInvariants() {
    }

    /** Logits of every position of a sequence run in one step. */
    static float[] fullForward(Backend backend, ModelWeights w, int[] tokens) {
        try (DecoderModel model = new DecoderModel(backend, w, 1, tokens.length, tokens.length, tokens.length)) {
            int[] rows = new int[tokens.length];
            Arrays.setAll(rows, i -> i);
            return model.forward(tokens, new int[] {0}, new int[] {tokens.length}, tokens.length, rows, Tap.NONE);
        }
    }

    /** Prefill of the first {@code prefill} tokens, then one token at a time: every step's logits as the full forward's. */
    static void decodingEqualsRecomputing(Backend backend, ModelWeights w, int[] tokens, int prefill, Tolerance tolerance) {
        float[] full = fullForward(new CpuBackend(), w, tokens);
        int V = w.config.vocabSize();
        try (DecoderModel model = new DecoderModel(backend, w, 1, tokens.length, prefill, 1)) {
            float[] logits = model.forward(Arrays.copyOf(tokens, prefill), new int[] {0}, new int[] {prefill}, prefill,
                    new int[] {prefill - 1}, Tap.NONE);
            check("prefill last row", logits, Arrays.copyOfRange(full, (prefill - 1) * V, prefill * V), tolerance);
            for (int pos = prefill; pos < tokens.length; pos++) {
                logits = model.forward(new int[] {tokens[pos]}, new int[] {pos}, new int[] {pos + 1}, 1, new int[] {0}, Tap.NONE);
                check("decode position " + pos, logits, Arrays.copyOfRange(full, pos * V, (pos + 1) * V), tolerance);
            }
        }
    }

    /**
     * The prompts right-padded to the longest (with a real token, which must not leak in) and prefilled together,
     * then one decode step each at its own position: every sequence's logits as its own full forward's.
     */
    static void aPaddedBatchEqualsEachSequenceAlone(Backend backend, ModelWeights w, int[][] prompts, int[] next,
                                                    Tolerance tolerance) {
        int V = w.config.vocabSize();
        int B = prompts.length;
        int T = Arrays.stream(prompts).mapToInt(p -> p.length).max().orElseThrow();
        try (DecoderModel model = new DecoderModel(backend, w, B, T + 1, T, B)) {
            int[] tokens = new int[B * T];
            int[] lengths = new int[B];
            int[] lastRows = new int[B];
            for (int b = 0; b < B; b++) {
                Arrays.fill(tokens, b * T, (b + 1) * T, 5);
                System.arraycopy(prompts[b], 0, tokens, b * T, prompts[b].length);
                lengths[b] = prompts[b].length;
                lastRows[b] = b * T + prompts[b].length - 1;
            }
            float[] batch = model.forward(tokens, new int[B], lengths, T, lastRows, Tap.NONE);
            int[] after = Arrays.stream(lengths).map(l -> l + 1).toArray();
            int[] rows = new int[B];
            Arrays.setAll(rows, i -> i);
            float[] decoded = model.forward(next, lengths.clone(), after, 1, rows, Tap.NONE);
            for (int b = 0; b < B; b++) {
                int[] alone = Arrays.copyOf(prompts[b], prompts[b].length + 1);
                alone[prompts[b].length] = next[b];
                float[] want = fullForward(new CpuBackend(), w, alone);
                int L = prompts[b].length;
                check("sequence " + b + " prefill", Arrays.copyOfRange(batch, b * V, (b + 1) * V),
                        Arrays.copyOfRange(want, (L - 1) * V, L * V), tolerance);
                check("sequence " + b + " decode", Arrays.copyOfRange(decoded, b * V, (b + 1) * V),
                        Arrays.copyOfRange(want, L * V, (L + 1) * V), tolerance);
            }
        }
    }

    static void check(String what, float[] got, float[] want, Tolerance tolerance) {
        Comparison c = Validate.compare(what, got, want, tolerance);
        assertTrue(c.passed(), c::report);
    }
}
