package gpuinfer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import gpuinfer.InputException;
import gpuinfer.batch.BatchCompletion;
import gpuinfer.batch.BatchEngine;
import gpuinfer.batch.BatchProgress;
import gpuinfer.batch.BatchRequest;
import gpuinfer.batch.RequestFile;
import gpuinfer.batch.ResultFile;
import gpuinfer.batch.Shard;
import gpuinfer.cl.ClContext;
import gpuinfer.generate.SamplingOptions;
import gpuinfer.model.DecoderModel;
import gpuinfer.model.LoadedModel;
import gpuinfer.model.ModelConfig;
import gpuinfer.ops.Backend;
import gpuinfer.ops.ClBackend;
import gpuinfer.ops.CpuBackend;
import gpuinfer.text.Tokenizer;
import gpuinfer.util.Progress;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code gpu-infer run --requests IN.jsonl --results OUT.jsonl --batch N [--shard I/N]}: every request of the file
 * (of this shard) that OUT.jsonl does not hold yet, generated with continuous batching ({@link BatchEngine}); each
 * result appended to OUT.jsonl as one whole line as soon as it finishes; a progress line on stderr; the throughput
 * on stdout (or as JSON with --json).
 *
 * <p>A result line: {@code {"id", "line", "text", "token_ids", "finish_reason", "prompt_tokens",
 * "generated_tokens", "timings": {"queued_ms", "prefill_ms", "total_ms"}}}; a request that cannot run (a malformed
 * line, an unknown field, a prompt too long for the context): {@code {"id", "line", "finish_reason": "error",
 * "error"}}.
 */
final class BatchRun {
    private final RunCommand run;
    private final BatchOptions options;
    private final PrintWriter out;
    private final PrintWriter err;

    BatchRun(RunCommand run, BatchOptions options) {
        this.run = run;
        this.options = options;
        this.out = run.spec.commandLine().getOut();
        this.err = run.spec.commandLine().getErr();
    }

    /** The options of a single run that a batch does not take. */
    private static final String[] SINGLE_ONLY = {"--prompt", "--prompt-file", "--prompt-ids", "--chat", "--system",
            "--truncate", "--logits-out", "--check-finite", "--ablate", "--scale-head", "--attend-mask",
            "--context-parallel", "--ring-layout", "--ring-ranks", "--ring-devices"};

    int call() throws IOException {
        picocli.CommandLine.ParseResult parsed = run.spec.commandLine().getParseResult();
        for (String option : SINGLE_ONLY) {
            if (parsed.hasMatchedOption(option)) {
                throw new InputException(option + " is an option of a single run; with --requests each request line "
                        + "gives its prompt (and max_tokens, temperature, seed, stop).");
            }
        }
        if (options.results == null) {
            throw new InputException("--requests needs --results OUT.jsonl: the file the results are appended to.");
        }
        if (java.nio.file.Files.exists(options.results) && java.nio.file.Files.isSameFile(options.results, options.requests())) {
            throw new InputException("--results " + options.results + " is the requests file: give the results a file of "
                    + "their own.");
        }
        int batch = options.checkedBatch();
        Shard shard = options.shard();
        SamplingOptions defaults = run.samplingOptions.options();
        if (run.maxTokens < 1) {
            throw new InputException("--max-tokens must be at least 1, not " + run.maxTokens);
        }
        String impl = run.implOption.checked();

        // everything that can fail on the files fails before the model loads
        List<RequestFile.Entry> entries = RequestFile.read(options.requests());
        Map<String, JsonNode> done = ResultFile.readForResume(options.results, err);
        List<RequestFile.Entry> mine = entries.stream().filter(e -> shard.contains(e.key())).toList();
        List<RequestFile.Entry> pending = mine.stream().filter(e -> !done.containsKey(e.key())).toList();
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("requests", options.requests().toString());
        report.put("results", options.results.toString());
        report.put("shard", shard.toString());
        report.put("total", mine.size());
        report.put("alreadyDone", mine.size() - pending.size());

        LoadedModel loaded = run.modelOptions.open(err);
        ModelConfig config = loaded.config();
        Tokenizer tokenizer = loaded.tokenizer();
        report.put("model", loaded.path().toString());
        report.put("weights", loaded.weights().formats());

        try (ResultFile results = ResultFile.append(options.results);
             BatchProgress progress = new BatchProgress(err, mine.size(), mine.size() - pending.size())) {
            // requests that cannot run are recorded first; the others are tokenized and sized
            List<BatchRequest> runnable = new ArrayList<>();
            int failed = 0;
            for (RequestFile.Entry e : pending) {
                String why = e.error();
                BatchRequest request = null;
                if (why == null) {
                    int maxTokens = e.maxTokens() != null ? e.maxTokens() : run.maxTokens;
                    int[] prompt = promptIds(tokenizer, config, e.prompt());
                    if (prompt.length + maxTokens > config.nPositions()) {
                        why = "the prompt is " + prompt.length + " tokens and max_tokens is " + maxTokens + "; together "
                                + (prompt.length + maxTokens) + " exceed the model's context length " + config.nPositions();
                    } else {
                        request = new BatchRequest(e, prompt, maxTokens, new SamplingOptions(
                                e.temperature() != null ? e.temperature() : defaults.temperature(), defaults.topK(),
                                defaults.topP(), e.seed() != null ? e.seed() : defaults.seed()), e.stop());
                    }
                }
                if (request != null) {
                    runnable.add(request);
                } else {
                    results.write(failure(e, why));
                    progress.finished(0);
                    failed++;
                }
            }
            report.put("failed", failed);
            generate(loaded, runnable, batch, impl, results, progress, report);
        }
        if (!run.json.replacesText()) {
            out.println(summary(report));
        }
        run.json.emit(out, report);
        return ExitCodes.OK;
    }

    /** Uploads the model sized for these requests and runs them, writing each result as it finishes. */
    private void generate(LoadedModel loaded, List<BatchRequest> requests, int batch, String impl, ResultFile results,
                          BatchProgress progress, Map<String, Object> report) throws IOException {
        long[] generated = {0};
        long promptTokens = requests.stream().mapToLong(r -> r.prompt().length).sum();
        double seconds = 0;
        if (!requests.isEmpty()) {
            int slots = Math.min(batch, requests.size());
            int longest = requests.stream().mapToInt(r -> r.prompt().length).max().orElseThrow();
            int sequence = requests.stream().mapToInt(r -> r.prompt().length + r.maxTokens()).max().orElseThrow();
            // a prompt is prefilled alone (one sequence of up to slots * step rows): a step of ceil(longest / slots)
            // tokens per sequence covers it without sizing the activations for every slot's longest prompt
            int step = (longest + slots - 1) / slots;
            ClContext context = run.implOption.openOrFallBack(run.opencl, err, "running the model");
            try {
                Backend backend = context == null ? new CpuBackend() : new ClBackend(context, run.opencl.settings(context));
                report.put("impl", context == null ? "cpu" : "opencl");
                if (context != null) {
                    report.put("device", context.device().id() + " " + context.device().name());
                }
                DecoderModel made;
                try (Progress upload = new Progress(err, "uploading " + loaded.name(), loaded.weights().deviceBytes(), 1.0)) {
                    made = new DecoderModel(backend, loaded.weights(), slots, sequence, step, slots, upload::step);
                }
                int eos = loaded.tokenizer().eosId().orElse(loaded.config().eosTokenId());
                long t0 = System.nanoTime();
                progress.startClock();
                try (DecoderModel model = made) {
                    new BatchEngine(model, eos >= 0 ? new int[] {eos} : new int[0], loaded.tokenizer()::continuationDecoder)
                            .run(requests.iterator(), c -> {
                                try {
                                    results.write(result(c));
                                } catch (IOException e) {
                                    throw new UncheckedIOException(e);
                                }
                                generated[0] += c.generated().length;
                                progress.finished(c.generated().length);
                            });
                } catch (UncheckedIOException e) {
                    throw e.getCause();
                }
                seconds = (System.nanoTime() - t0) / 1e9;
            } finally {
                if (context != null) {
                    context.close();
                }
            }
        }
        report.put("batch", batch);
        report.put("completed", requests.size());
        report.put("promptTokens", promptTokens);
        report.put("generatedTokens", generated[0]);
        report.put("seconds", round(seconds));
        report.put("requestsPerSecond", seconds > 0 ? round(requests.size() / seconds) : null);
        report.put("generatedTokensPerSecond", seconds > 0 ? round(generated[0] / seconds) : null);
    }

    /** The prompt's ids as a single run encodes them: BOS where the model wants one; an empty prompt starts from BOS/EOS. */
    private static int[] promptIds(Tokenizer tokenizer, ModelConfig config, String text) {
        int[] ids = tokenizer.encodeWithBos(text);
        if (ids.length == 0) {
            int start = tokenizer.bosId().orElse(tokenizer.eosId().orElse(config.eosTokenId()));
            if (start < 0) {
                throw new InputException("An empty prompt needs a begin- or end-of-text token to start from; this model has none.");
            }
            ids = new int[] {start};
        }
        return ids;
    }

    private static ObjectNode result(BatchCompletion c) {
        RequestFile.Entry e = (RequestFile.Entry) c.request().key();
        ObjectNode r = header(e);
        r.put("text", c.text());
        var ids = r.putArray("token_ids");
        for (int id : c.generated()) {
            ids.add(id);
        }
        r.put("finish_reason", c.finishReason());
        r.put("prompt_tokens", c.request().prompt().length);
        r.put("generated_tokens", c.generated().length);
        ObjectNode t = r.putObject("timings");
        t.put("queued_ms", round(c.queuedMillis()));
        t.put("prefill_ms", round(c.prefillMillis()));
        t.put("total_ms", round(c.totalMillis()));
        return r;
    }

    private static ObjectNode failure(RequestFile.Entry e, String why) {
        ObjectNode r = header(e);
        r.put("finish_reason", "error");
        r.put("error", why);
        return r;
    }

    private static ObjectNode header(RequestFile.Entry e) {
        ObjectNode r = JsonNodeFactory.instance.objectNode();
        r.set("id", e.id() == null ? JsonNodeFactory.instance.nullNode() : e.id());
        r.put("line", e.line());
        return r;
    }

    private static String summary(Map<String, Object> r) {
        String figures = r.get("seconds") instanceof Double s && s > 0
                ? String.format(Locale.ROOT, " in %.1f s: %.2f requests/s, %.1f generated tokens/s (batch %s, %s)", s,
                r.get("requestsPerSecond"), r.get("generatedTokensPerSecond"), r.get("batch"), r.get("impl"))
                : "";
        return String.format(Locale.ROOT, "%s requests of shard %s: %s done before, %s generated now (%s tokens), %s failed%s; results in %s",
                r.get("total"), r.get("shard"), r.get("alreadyDone"), r.get("completed"), r.get("generatedTokens"),
                r.get("failed"), figures, r.get("results"));
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
