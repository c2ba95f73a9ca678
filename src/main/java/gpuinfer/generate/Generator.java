package gpuinfer.generate;

import gpuinfer.model.DecoderModel;
import gpuinfer.model.Tap;
import gpuinfer.text.Tokenizer;
import gpuinfer.text.StreamingDecoder;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Text generation with a KV cache: the prompts are prefilled in one forward step (right-padded to the longest),
 * then one token per sequence per step is decoded until every sequence produced end-of-text or the token budget.
 */
public final class Generator {
    /** Receives each token as it is produced. */
    public interface Listener {
        /** {@code text} holds the characters this token completes (possibly empty inside a multi-byte character). */
        void onToken(int sequence, int token, String text);
    }

    /**
     * One sequence's outcome.
     *
     * @param stopReason "end-of-text" or "max-tokens"
     */
    public record Completion(int[] promptIds, int[] generatedIds, String text, String stopReason) {
    }

    /**
     * Wall times of one generation.
     *
     * @param prefillMillis    the prompt's forward pass, logits included
     * @param firstTokenMillis from the start to the first generated token (prefill plus its sampling)
     * @param decodeMillis     every later step
     * @param decodeSteps      forward passes after the prefill
     */
    public record Timings(double prefillMillis, double firstTokenMillis, double decodeMillis, int promptTokens,
                          int decodeSteps, int sequences) {
        public double prefillTokensPerSecond() {
            return promptTokens / (prefillMillis / 1e3);
        }

        /** Generated tokens per second per sequence over the decode steps. */
        public double decodeTokensPerSecond() {
            return decodeSteps == 0 ? Double.NaN : decodeSteps / (decodeMillis / 1e3);
        }
    }

    /** What one call produced. {@code promptLogits} is [promptTokens, V] when asked for, else null. */
    public record Result(List<Completion> completions, Timings timings, float[] promptLogits) {
    }

    private Generator() {
    }

    /**
     * Generates for each prompt. Prompts must already fit: {@code prompt length + maxTokens <= model.maxSequence()}.
     *
     * @param keepPromptLogits return the logits of every prompt position (one prompt only)
     */
    public static Result generate(DecoderModel model, Tokenizer tokenizer, List<int[]> prompts, int maxTokens,
                                  SamplingOptions sampling, boolean keepPromptLogits, Listener listener) {
        return generate(model, tokenizer, prompts, maxTokens, sampling, keepPromptLogits, listener, step -> Tap.NONE);
    }

    /**
     * As above, with a tap per forward step: {@code taps} receives "prefill" or "decode step N" and returns the tap
     * for that step (--check-finite scans every tensor this way).
     */
    public static Result generate(DecoderModel model, Tokenizer tokenizer, List<int[]> prompts, int maxTokens,
                                  SamplingOptions sampling, boolean keepPromptLogits, Listener listener,
                                  java.util.function.Function<String, Tap> taps) {
        int eos = tokenizer.eosId().orElse(model.config().eosTokenId());
        return generate(model, tokenizer, prompts, new int[prompts.size()], eos >= 0 ? new int[] {eos} : new int[0],
                maxTokens, sampling, keepPromptLogits, listener, taps, tokenizer::continuationDecoder);
    }

    /**
     * The general form: each prompt continues a sequence whose first {@code cached[b]} positions are already in the
     * model's KV cache (a chat's earlier turns; 0 for a fresh sequence), and generation stops at any of
     * {@code stopIds} (end-of-text, a chat template's end-of-turn), which is recorded but not fed back.
     */
    public static Result generate(DecoderModel model, Tokenizer tokenizer, List<int[]> prompts, int[] cached,
                                  int[] stopIds, int maxTokens, SamplingOptions sampling, boolean keepPromptLogits,
                                  Listener listener, java.util.function.Function<String, Tap> taps,
                                  java.util.function.Supplier<StreamingDecoder> decoderFactory) {
        return generate(model, tokenizer, prompts, cached, stopIds, maxTokens, sampling, keepPromptLogits, listener,
                taps, decoderFactory, null);
    }

    /**
     * How one prompt's prefill runs when it is not the model's own forward step: given the prompt and whether every
     * position's logits are wanted, it returns the logits [1 or prompt.length, V] and leaves the prompt's keys and
     * values in the model's cache (sequence 0, from position 0), e.g. {@link gpuinfer.model.ContextParallel}.
     */
    public interface Prefill {
        float[] run(int[] prompt, boolean allLogits);
    }

    /** As above, with the prefill of a single fresh prompt done by {@code prefill} (null: the model's forward step). */
    public static Result generate(DecoderModel model, Tokenizer tokenizer, List<int[]> prompts, int[] cached,
                                  int[] stopIds, int maxTokens, SamplingOptions sampling, boolean keepPromptLogits,
                                  Listener listener, java.util.function.Function<String, Tap> taps,
                                  java.util.function.Supplier<StreamingDecoder> decoderFactory, Prefill prefill) {
        if (prefill != null && (prompts.size() != 1 || cached[0] != 0)) {
            throw new IllegalArgumentException("a separate prefill takes one fresh prompt");
        }
        int B = prompts.size();
        int V = model.config().vocabSize();
        int filler = stopIds.length > 0 ? stopIds[0] : 0;
        int T = prompts.stream().mapToInt(p -> p.length).max().orElseThrow();
        if (B * T > model.maxStepRows() && B != 1) {
            throw new IllegalArgumentException(B + " prompts of up to " + T + " tokens exceed the " + model.maxStepRows()
                    + " rows of one step: a batch is prefilled in one step");
        }
        if (keepPromptLogits && B != 1) {
            throw new IllegalArgumentException("prompt logits are kept for one prompt at a time");
        }

        // prefill: every prompt right-padded to T tokens
        int[] tokens = new int[B * T];
        int[] start = new int[B];
        int[] length = new int[B];
        int[] lastRow = new int[B];
        for (int b = 0; b < B; b++) {
            int[] p = prompts.get(b);
            System.arraycopy(p, 0, tokens, b * T, p.length);
            Arrays.fill(tokens, b * T + p.length, (b + 1) * T, p[p.length - 1]);
            start[b] = cached[b];
            length[b] = cached[b] + p.length;
            lastRow[b] = b * T + p.length - 1;
        }
        int[] logitRows = keepPromptLogits ? rangeOf(T) : lastRow;
        long t0 = System.nanoTime();
        float[] logits = prefill != null ? prefill.run(prompts.get(0), keepPromptLogits)
                : B * T <= model.maxStepRows()
                ? model.forward(tokens, start, length, T, logitRows, taps.apply("prefill"))
                : prefillInChunks(model, tokens, start[0], keepPromptLogits, taps);
        long t1 = System.nanoTime();
        float[] promptLogits = keepPromptLogits ? logits : null;
        int logitBase = keepPromptLogits ? T - 1 : 0;

        Sampler[] samplers = new Sampler[B];
        StreamingDecoder[] decoders = new StreamingDecoder[B];
        java.util.function.Supplier<StreamingDecoder> newDecoder = decoderFactory;
        List<List<Integer>> generated = new ArrayList<>();
        StringBuilder[] texts = new StringBuilder[B];
        boolean[] done = new boolean[B];
        for (int b = 0; b < B; b++) {
            samplers[b] = new Sampler(sampling, b);
            decoders[b] = newDecoder.get();
            generated.add(new ArrayList<>());
            texts[b] = new StringBuilder();
        }

        double firstTokenMs = 0;
        long decodeStart = System.nanoTime();
        int decodeSteps = 0;
        int[] next = new int[B];
        for (int step = 0; step < maxTokens; step++) {
            gpuinfer.util.Interruption.check();
            for (int b = 0; b < B; b++) {
                if (done[b]) {
                    next[b] = filler;
                    continue;
                }
                int token = samplers[b].sample(logits, (logitBase + b) * V, V);
                next[b] = token;
                generated.get(b).add(token);
                if (isStop(token, stopIds)) {
                    done[b] = true;
                    continue;
                }
                String piece = decoders[b].feed(token);
                texts[b].append(piece);
                if (listener != null) {
                    listener.onToken(b, token, piece);
                }
            }
            if (step == 0) {
                firstTokenMs = (System.nanoTime() - t0) / 1e6;
                decodeStart = System.nanoTime();
            }
            boolean allDone = true;
            for (boolean d : done) {
                allDone &= d;
            }
            if (allDone || step == maxTokens - 1) {
                break;
            }
            // decode: one token per sequence, appended at its own position
            for (int b = 0; b < B; b++) {
                start[b] = length[b];
                length[b] = length[b] + 1;
            }
            logits = model.forward(next.clone(), start.clone(), length.clone(), 1, rangeOf(B), taps.apply("decode step " + (step + 1)));
            logitBase = 0;
            decodeSteps++;
        }
        long decodeEnd = System.nanoTime();

        List<Completion> completions = new ArrayList<>();
        for (int b = 0; b < B; b++) {
            String rest = decoders[b].finish();
            texts[b].append(rest);
            if (listener != null && !rest.isEmpty()) {
                listener.onToken(b, -1, rest);
            }
            int[] ids = generated.get(b).stream().mapToInt(Integer::intValue).toArray();
            completions.add(new Completion(prompts.get(b), ids, texts[b].toString(), done[b] ? "end-of-text" : "max-tokens"));
        }
        int promptTokens = prompts.stream().mapToInt(p -> p.length).sum();
        Timings timings = new Timings((t1 - t0) / 1e6, firstTokenMs, (decodeEnd - decodeStart) / 1e6, promptTokens,
                decodeSteps, B);
        return new Result(completions, timings, promptLogits);
    }

    /**
     * One sequence's prompt longer than the model's step: fed in steps of {@code model.maxStepRows()} tokens, each
     * attending to the cache the earlier steps wrote; the logits of the last position (or of every one).
     */
    private static float[] prefillInChunks(DecoderModel model, int[] prompt, int cached, boolean keepAll,
                                           java.util.function.Function<String, Tap> taps) {
        int V = model.config().vocabSize();
        int step = model.maxStepRows();
        float[] all = keepAll ? new float[prompt.length * V] : null;
        float[] last = null;
        for (int from = 0; from < prompt.length; from += step) {
            int n = Math.min(step, prompt.length - from);
            int[] chunk = Arrays.copyOfRange(prompt, from, from + n);
            int[] rows = keepAll ? rangeOf(n) : new int[] {n - 1};
            float[] logits = model.forward(chunk, new int[] {cached + from}, new int[] {cached + from + n}, n, rows,
                    taps.apply("prefill"));
            if (keepAll) {
                System.arraycopy(logits, 0, all, from * V, n * V);
            } else {
                last = logits;
            }
            gpuinfer.util.Interruption.check();
        }
        return keepAll ? all : last;
    }

    private static boolean isStop(int token, int[] stopIds) {
        for (int id : stopIds) {
            if (id == token) {
                return true;
            }
        }
        return false;
    }

    private static int[] rangeOf(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) {
            r[i] = i;
        }
        return r;
    }
}
