package gpuinfer.batch;

import gpuinfer.generate.Sampler;
import gpuinfer.model.DecoderModel;
import gpuinfer.model.Tap;
import gpuinfer.text.StreamingDecoder;
import gpuinfer.util.Interruption;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Continuous batching over a {@link DecoderModel}'s cache slots: up to {@code model.maxBatch()} sequences decode
 * together, one forward step per token for all of them; when one finishes (a stop id, its max tokens, or one of its
 * stop texts) the next request takes its slot at once, so the batch stays full while requests remain.
 *
 * <h2>How a newcomer is prefilled: compacted slots, the prompt alone in slot 0</h2>
 * The model's forward step reads batch row b from cache slot b, so the active sequences are kept in slots 0..k-1
 * (compacted): a finished sequence's slot is filled by moving the last active one into it
 * ({@link DecoderModel#copyCacheSlot}, a device copy of its valid cache rows). A newcomer is prefilled alone, in a
 * step of one sequence whose cache is slot 0: the sequence there first moves to slot k. The alternative, one step
 * mixing the newcomer's prompt with the others' next tokens right-padded to the prompt's length, computes k times
 * the prompt length of padding rows and, above all, runs the prompt's rows through kernels chosen for a different
 * row count than when the request runs alone. Prefilling alone runs exactly the step that running the request alone
 * runs; what the batch changes is only the decode steps, whose rows are independent of each other on both
 * backends (the OpenCL kernels compute each row's sums in the same order whatever the batch: see
 * {@code Linear.OnDevice} and {@code FlashAttention.split}). The price: while a prompt is prefilled the others wait
 * one step, and prompts are not batched with each other.
 *
 * <h2>Results identical to running each request alone</h2>
 * Each request has its own {@link Sampler}, made as a single-prompt run makes it (sequence 0, the request's seed),
 * so its draws do not depend on its slot or on the other requests; with identical logits its tokens and text are
 * those of {@code gpu-infer run} with the same prompt, options and seed (BatchEngineTest checks it).
 */
public final class BatchEngine {
    private final DecoderModel model;
    private final int[] stopIds;
    private final Supplier<StreamingDecoder> decoders;
    private final int V;
    /** The most sequences decoding together: the model's slots, or fewer. */
    private final int maxActive;
    /** What the steps took so far: prompts prefilled and their time, decode steps, their rows and time. */
    private long prefills;
    private long prefillNanos;
    private long decodeSteps;
    private long decodeRows;
    private long decodeNanos;

    /**
     * @param stopIds  token ids that end a sequence (end-of-text): recorded among the generated ids, not in the text
     * @param decoders a fresh streaming decoder per request (the tokenizer's continuation decoder)
     */
    public BatchEngine(DecoderModel model, int[] stopIds, Supplier<StreamingDecoder> decoders) {
        this(model, stopIds, decoders, model.maxBatch());
    }

    /**
     * As above, decoding at most {@code maxActive} sequences together (1 .. the model's slots): one model serves
     * batches of several sizes (a benchmark), its weights uploaded once.
     */
    public BatchEngine(DecoderModel model, int[] stopIds, Supplier<StreamingDecoder> decoders, int maxActive) {
        if (maxActive < 1 || maxActive > model.maxBatch()) {
            throw new IllegalArgumentException("at most " + maxActive + " sequences together: the model has "
                    + model.maxBatch() + " slots");
        }
        this.maxActive = maxActive;
        this.model = model;
        this.stopIds = stopIds.clone();
        this.decoders = decoders;
        this.V = model.config().vocabSize();
    }

    /**
     * Whether a request fits the model: its prompt in one step and prompt plus max tokens within the cache; else why
     * not (null when it fits).
     */
    public String whyNot(BatchRequest r) {
        int L = r.prompt().length;
        if (L > model.maxStepRows()) {
            return "the prompt is " + L + " tokens; this run prefills at most " + model.maxStepRows();
        }
        if (L + r.maxTokens() > model.maxSequence()) {
            return "the prompt is " + L + " tokens and max_tokens is " + r.maxTokens() + "; together "
                    + (L + r.maxTokens()) + " exceed the " + model.maxSequence() + " positions this run holds (context length "
                    + model.config().nPositions() + ")";
        }
        for (int id : r.prompt()) {
            if (id < 0 || id >= V) {
                return "token id " + id + " is outside the vocabulary (0.." + (V - 1) + ")";
            }
        }
        return null;
    }

    /**
     * Runs every request and hands each completion to {@code done} as soon as it finishes (so not in request order).
     * Requests are taken from the iterator only when a slot is free. A request that does not fit ({@link #whyNot})
     * throws IllegalArgumentException: check them first.
     */
    public void run(Iterator<BatchRequest> requests, Consumer<BatchCompletion> done) {
        long t0 = System.nanoTime();
        List<Sequence> active = new ArrayList<>(); // active.get(s) lives in cache slot s
        while (true) {
            while (active.size() < maxActive && requests.hasNext()) {
                Interruption.check();
                BatchRequest r = requests.next();
                String why = whyNot(r);
                if (why != null) {
                    throw new IllegalArgumentException(why);
                }
                Sequence s = new Sequence(r, (System.nanoTime() - t0) / 1e6);
                admit(active, s);
                if (s.finished != null) {
                    retire(active, 0, done);
                }
            }
            if (active.isEmpty()) {
                return;
            }
            Interruption.check();
            decodeStep(active);
            for (int slot = active.size() - 1; slot >= 0; slot--) {
                if (active.get(slot).finished != null) {
                    retire(active, slot, done);
                }
            }
        }
    }

    /** Prefills {@code s}'s prompt alone in slot 0 (moving slot 0's sequence to the end) and samples its first token. */
    private void admit(List<Sequence> active, Sequence s) {
        if (!active.isEmpty()) {
            Sequence first = active.get(0);
            model.copyCacheSlot(0, active.size(), first.length);
            active.add(first);
        } else {
            active.add(s);
        }
        active.set(0, s);
        int[] prompt = s.request.prompt();
        int L = prompt.length;
        long start = System.nanoTime();
        float[] logits = model.forward(prompt.clone(), new int[] {0}, new int[] {L}, L, new int[] {L - 1}, Tap.NONE);
        prefills++;
        prefillNanos += System.nanoTime() - start;
        s.length = L;
        s.accept(s.sampler.sample(logits, 0, V));
        s.prefillMillis = (System.nanoTime() - s.admittedNanos) / 1e6;
    }

    /** One token for every active sequence, each at its own next position. */
    private void decodeStep(List<Sequence> active) {
        int B = active.size();
        int[] tokens = new int[B];
        int[] start = new int[B];
        int[] length = new int[B];
        int[] rows = new int[B];
        for (int b = 0; b < B; b++) {
            Sequence s = active.get(b);
            tokens[b] = s.next;
            start[b] = s.length;
            length[b] = s.length + 1;
            rows[b] = b;
        }
        long began = System.nanoTime();
        float[] logits = model.forward(tokens, start, length, 1, rows, Tap.NONE);
        decodeSteps++;
        decodeRows += B;
        decodeNanos += System.nanoTime() - began;
        for (int b = 0; b < B; b++) {
            Sequence s = active.get(b);
            s.length++;
            s.accept(s.sampler.sample(logits, b * V, V));
        }
    }

    /**
     * The forward steps run so far: prompts prefilled and their time (the prompt's step with its logits read back),
     * decode steps, the sequences they carried and their time.
     */
    public record StepTimes(long prefills, double prefillMillis, long decodeSteps, long decodeRows, double decodeMillis) {
        /** Mean milliseconds per prefilled prompt (0 when none). */
        public double millisPerPrefill() {
            return prefills == 0 ? 0 : prefillMillis / prefills;
        }

        /** Mean milliseconds per decode step (0 when none). */
        public double millisPerDecodeStep() {
            return decodeSteps == 0 ? 0 : decodeMillis / decodeSteps;
        }

        /** Mean sequences per decode step (0 when none). */
        public double rowsPerDecodeStep() {
            return decodeSteps == 0 ? 0 : (double) decodeRows / decodeSteps;
        }
    }

    /** What the steps of this engine's runs took so far. */
    public StepTimes stepTimes() {
        return new StepTimes(prefills, prefillNanos / 1e6, decodeSteps, decodeRows, decodeNanos / 1e6);
    }

    /** Hands the finished sequence in {@code slot} over and moves the last active sequence into its slot. */
    private void retire(List<Sequence> active, int slot, Consumer<BatchCompletion> done) {
        Sequence s = active.get(slot);
        int last = active.size() - 1;
        if (slot != last) {
            Sequence moved = active.get(last);
            model.copyCacheSlot(last, slot, moved.length);
            active.set(slot, moved);
        }
        active.remove(last);
        done.accept(s.completion());
    }

    /** One request in flight: its sampler, decoder, tokens and text so far. */
    private final class Sequence {
        final BatchRequest request;
        final Sampler sampler;
        final StreamingDecoder decoder = decoders.get();
        final StringBuilder text = new StringBuilder();
        final List<Integer> generated = new ArrayList<>();
        final int longestStop;
        final double queuedMillis;
        final long admittedNanos = System.nanoTime();
        double prefillMillis;
        /** Positions in the cache (the prompt and every generated token fed back). */
        int length;
        /** The last sampled token: the next step's input. */
        int next;
        /** Why it ended, or null while it runs. */
        String finished;

        Sequence(BatchRequest request, double queuedMillis) {
            this.request = request;
            this.queuedMillis = queuedMillis;
            // as a single-prompt run makes it: sequence 0 of a batch of one
            this.sampler = new Sampler(request.sampling(), 0);
            this.longestStop = request.stop().stream().mapToInt(String::length).max().orElse(0);
        }

        /** Takes a sampled token: records it and decides whether the sequence ends here. */
        void accept(int token) {
            next = token;
            generated.add(token);
            for (int id : stopIds) {
                if (id == token) {
                    finish(BatchCompletion.END_OF_TEXT);
                    return;
                }
            }
            int before = text.length();
            text.append(decoder.feed(token));
            if (cutAtStopText(before)) {
                return;
            }
            if (generated.size() >= request.maxTokens()) {
                finish(BatchCompletion.MAX_TOKENS);
            }
        }

        /** Whether a stop text now appears in the text (searched from where it could first complete); cuts there. */
        private boolean cutAtStopText(int before) {
            if (longestStop == 0) {
                return false;
            }
            int from = Math.max(0, before - longestStop + 1);
            int cut = -1;
            for (String stop : request.stop()) {
                int at = text.indexOf(stop, from);
                if (at >= 0 && (cut < 0 || at < cut)) {
                    cut = at;
                }
            }
            if (cut < 0) {
                return false;
            }
            text.setLength(cut);
            finished = BatchCompletion.STOP_TEXT;
            return true;
        }

        private void finish(String reason) {
            int before = text.length();
            text.append(decoder.finish());
            if (!cutAtStopText(before)) {
                finished = reason;
            }
        }

        BatchCompletion completion() {
            if (finished.equals(BatchCompletion.STOP_TEXT)) {
                decoder.finish();
            }
            return new BatchCompletion(request, generated.stream().mapToInt(Integer::intValue).toArray(), text.toString(),
                    finished, queuedMillis, prefillMillis, (System.nanoTime() - admittedNanos) / 1e6);
        }
    }
}
