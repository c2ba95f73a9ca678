package gpuinfer.cli;

import gpuinfer.InputException;
import gpuinfer.chat.ChatTemplate;
import gpuinfer.chat.Message;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.OpenClUnavailableException;
import gpuinfer.generate.Generator;
import gpuinfer.generate.SamplingOptions;
import gpuinfer.model.ContextParallel;
import gpuinfer.model.ModelConfig;
import gpuinfer.model.DecoderModel;
import gpuinfer.model.ModelWeights;
import gpuinfer.model.LoadedModel;
import gpuinfer.model.ModelLocator;
import gpuinfer.ops.Backend;
import gpuinfer.ops.ClBackend;
import gpuinfer.ops.CpuBackend;
import gpuinfer.tensor.Npy;
import gpuinfer.tensor.Tensor;
import gpuinfer.text.Tokenizer;
import gpuinfer.util.Progress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/** {@code gpu-infer run}: text generation with a GPT-2 or Llama-family model. */
@Command(name = "run", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Generate text with a GPT-2, Llama (2, 3, TinyLlama, SmolLM, Mistral) or Qwen2 model: a Hugging",
                "Face folder (config.json, safetensors, tokenizer files) or a GGUF file. Without --model, the small",
                "bundled GPT-2 model (models/" + ModelLocator.BUNDLED + "). --chat wraps each prompt in the model's chat template.",
                "Weights run in their stored format (F32, F16, BF16, Q8_0, Q4_0; K-quants are converted to Q8_0);",
                "--weights converts them at load.",
                "Tokens stream to stdout as they are produced; timings go to stderr (or into --json).",
                "", "Examples:",
                "  gpu-infer run --prompt \"The meaning of life is\" --max-tokens 40",
                "  gpu-infer run --model ~/gpt2 --prompt \"Hello\" --temperature 0 --json",
                "  gpu-infer run --model gpt2.Q8_0.gguf --prompt \"Hello\"",
                "  gpu-infer run --model ~/gpt2 --weights q4_0 --prompt \"Hello\"",
                "  gpu-infer run --model tinyllama.Q8_0.gguf --chat --prompt \"What is a GPU?\"",
                "  gpu-infer run --prompt \"One\" --prompt \"Two words\" --max-tokens 20 --seed 7",
                "  gpu-infer run --requests in.jsonl --results out.jsonl --batch 8 --shard 0/4", ""})
final class RunCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--prompt", paramLabel = "TEXT", description = "A prompt; repeat for a batch (default: \"${DEFAULT-VALUE}\").",
            defaultValue = "The meaning of life is")
    List<String> prompts = new ArrayList<>();

    @Option(names = "--prompt-file", paramLabel = "FILE", description = "Read one prompt from a UTF-8 file ('-' for stdin).")
    Path promptFile;

    @Option(names = "--prompt-ids", paramLabel = "ID,ID,...", split = ",",
            description = "One prompt given as token ids instead of text (e.g. to feed another engine's exact ids).")
    List<Integer> promptTokenIds;

    @Option(names = "--chat", description = "Each prompt is a user message: render it with the model's chat template "
            + "(with --system, if given) and stop at the template's end-of-turn token.")
    boolean chat;

    @picocli.CommandLine.Mixin
    SystemMessageOption systemMessage;

    @Option(names = "--max-tokens", defaultValue = "40", paramLabel = "N",
            description = "Tokens to generate per prompt, unless end-of-text comes first (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Mixin
    SamplingMixin samplingOptions;

    @Mixin
    InterventionOptions interventionOptions;

    @Mixin
    ModelImplOption implOption;

    @Option(names = "--truncate", description = "Drop the start of a prompt that, with --max-tokens, exceeds the "
            + "model's context length, instead of failing.")
    boolean truncate;

    @Option(names = "--logits-out", paramLabel = "F.npy",
            description = "Write the logits of every prompt position as a [tokens, vocab] float32 .npy (one prompt).")
    Path logitsOut;

    @Mixin
    JsonOutputOptions json;

    @Mixin
    CheckFiniteOption finite;

    @Mixin
    OpenClOptions opencl;

    @Mixin
    ContextParallelOptions contextParallel;

    @Mixin
    BatchOptions batchOptions;

    @Override
    public Integer call() throws IOException {
        if (batchOptions.requested()) {
            return new BatchRun(this, batchOptions).call();
        }
        batchOptions.checkAlone(spec.commandLine().getParseResult());
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        SamplingOptions sampling = samplingOptions.options();
        if (maxTokens < 1) {
            throw new InputException("--max-tokens must be at least 1, not " + maxTokens);
        }
        String impl = implOption.checked();
        List<String> texts = new ArrayList<>(prompts);
        if (promptFile != null) {
            texts = List.of(promptFile.toString().equals("-") ? new String(System.in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)
                    : Files.readString(promptFile));
        }
        if (promptTokenIds != null) {
            if (promptFile != null || spec.commandLine().getParseResult().hasMatchedOption("--prompt")) {
                throw new InputException("--prompt-ids is the prompt: give it without --prompt or --prompt-file.");
            }
            texts = List.of(""); // replaced by the ids' text once the tokenizer is loaded
        }
        if (systemMessage.system != null && !chat) {
            throw new InputException("--system is a chat's system message: give it with --chat.");
        }
        if (chat && promptTokenIds != null) {
            throw new InputException("--chat renders text prompts with the chat template; --prompt-ids are fed as they are.");
        }
        contextParallel.check(texts.size(), !interventionOptions.interventions().isEmpty());
        if (logitsOut != null && texts.size() != 1) {
            throw new InputException("--logits-out writes the logits of one prompt; give exactly one --prompt.");
        }
        // OpenCL's start-up (library, platform, device, context, the kernels from the program cache: a few hundred ms
        // on a cold start) runs on another thread while this one opens the model and encodes the prompts
        CompletableFuture<OpenClStart> startingOpenCl = impl.equals("cpu") ? null
                : CompletableFuture.supplyAsync(() -> OpenClStart.of(opencl.openContext(opencl.selectDevice()), opencl));
        OpenClStart started = null;
        try {
            LoadedModel loaded = modelOptions.open(err);
            ModelConfig config = loaded.config();
            interventionOptions.interventions().check(config); // before the upload: a wrong head fails fast
            Tokenizer tokenizer = loaded.tokenizer();
            ModelWeights weights = loaded.weights();
            List<int[]> promptIds = new ArrayList<>();
            List<Integer> truncated = new ArrayList<>();
            if (promptTokenIds != null) {
                int[] ids = promptTokenIds.stream().mapToInt(Integer::intValue).toArray();
                for (int id : ids) {
                    if (id < 0 || id >= config.vocabSize()) {
                        throw new InputException("--prompt-ids: token id " + id + " is outside the model's vocabulary (0.."
                                + (config.vocabSize() - 1) + ").");
                    }
                }
                promptIds.add(fitIds(ids, config, truncated));
                texts = List.of(tokenizer.decode(ids));
            } else if (chat) {
                ChatTemplate template = ChatSetup.template(loaded);
                for (String text : texts) {
                    List<Message> messages = new ArrayList<>();
                    if (systemMessage.system != null) {
                        messages.add(Message.system(systemMessage.system));
                    }
                    messages.add(Message.user(text));
                    // the template writes BOS itself where the model wants one: no BOS is added
                    promptIds.add(fitIds(tokenizer.encode(template.render(messages, true)), config, truncated));
                }
            } else {
                for (String text : texts) {
                    promptIds.add(fit(tokenizer, config, text, truncated));
                }
            }
            Map<String, Object> report = new LinkedHashMap<>();
            report.put("model", loaded.path().toString());
            report.put("modelSource", loaded.source());
            report.put("weights", weights.formats());
            String chosen = "cpu";
            if (startingOpenCl != null) {
                try {
                    started = startingOpenCl.join();
                    chosen = "opencl";
                } catch (CompletionException e) {
                    if (!(e.getCause() instanceof OpenClUnavailableException unavailable) || impl.equals("opencl")) {
                        throw e.getCause() instanceof RuntimeException r ? r : e;
                    }
                    ModelImplOption.warnFallback(err, unavailable, "running the model");
                    report.put("warning", "no OpenCL: ran on the Java CPU reference");
                }
            }
            report.put("impl", chosen);
            try (ContextParallelOptions ranks = contextParallel) {
                return generate(out, err, texts, loaded, promptIds, truncated, report, sampling, started);
            }
        } finally {
            if (started != null) {
                started.close();
            } else if (startingOpenCl != null) {
                // the model or the prompts failed first: release a context that was still being made
                try {
                    startingOpenCl.join().close();
                } catch (CompletionException ignored) {
                    // OpenCL failed too; the first error is the one reported
                }
            }
        }
    }

    /**
     * An OpenCL context and the model's kernels on it, made on another thread and handed over once ready; closing
     * releases both (the backend may already have been closed by the model that owned it).
     */
    private record OpenClStart(ClContext context, ClBackend backend) implements AutoCloseable {
        @Override
        public void close() {
            try {
                backend.close();
            } finally {
                context.close();
            }
        }

        static OpenClStart of(ClContext context, OpenClOptions options) {
            try {
                return new OpenClStart(context, new ClBackend(context, options.settings(context)));
            } catch (RuntimeException e) {
                context.close();
                throw e;
            }
        }
    }

    /** Uploads the model (to OpenCL, or the CPU reference when {@code start} is null), generates and reports. */
    private int generate(PrintWriter out, PrintWriter err, List<String> texts, LoadedModel loaded, List<int[]> promptIds,
                         List<Integer> truncated, Map<String, Object> report, SamplingOptions sampling,
                         OpenClStart start) throws IOException {
        ClContext context = start == null ? null : start.context();
        ModelConfig config = loaded.config();
        Tokenizer tokenizer = loaded.tokenizer();
        ModelWeights weights = loaded.weights();
        int longest = promptIds.stream().mapToInt(p -> p.length).max().orElseThrow();
        double loadMs = loaded.openMillis();
        int maxSequence = longest + maxTokens;
        int logitRows = logitsOut != null ? longest : texts.size();
        Generator.Result result;
        long deviceBytes;
        double uploadMs;
        long[] firstTokenAt = {0};
        Backend backend = start == null ? new CpuBackend() : start.backend();
        java.util.function.BiFunction<Backend, String, gpuinfer.model.Tap> tapOn = (on, step) -> !finite.checkFinite
                ? gpuinfer.model.Tap.NONE
                : (name, buf, rows, cols) -> {
                    float[] values = new float[rows * cols];
                    on.read(buf, 0, values, 0, values.length);
                    gpuinfer.check.Finite.require(name, new int[] {rows, cols}, values, step);
                };
        long uploadStart = System.nanoTime();
        DecoderModel made;
        List<DecoderModel> rankModels = List.of();
        ContextParallel.Plan plan = contextParallel.enabled()
                ? ContextParallel.Plan.of(longest, contextParallel.ranks, contextParallel.layout()) : null;
        try (Progress progress = new Progress(err, "uploading " + loaded.name() + " (" + weights.formats() + ")"
                + (contextParallel.enabled() ? " to " + contextParallel.ranks + " ranks" : ""),
                weights.deviceBytes() * contextParallel.ranks, 1.0)) {
            if (contextParallel.enabled()) {
                rankModels = contextParallel.models(plan, weights, maxTokens, logitsOut != null,
                        context == null ? null : context.device(), start == null ? null : backend, opencl, progress::step);
                made = rankModels.get(0);
            } else {
                made = new DecoderModel(backend, weights, texts.size(), maxSequence, longest, logitRows, progress::step);
            }
        }
        ContextParallel cp = plan == null ? null : new ContextParallel(rankModels, plan);
        List<DecoderModel> ranks = rankModels;
        Generator.Prefill prefill = cp == null ? null
                : (prompt, all) -> cp.prefill(prompt, all, r -> tapOn.apply(ranks.get(r).backend(), "prefill (rank " + r + ")"));
        try (DecoderModel owned = cp == null ? made : null) {
            DecoderModel gpt = made;
            java.util.function.Function<String, gpuinfer.model.Tap> taps = step -> tapOn.apply(gpt.backend(), step);
            gpt.setInterventions(interventionOptions.interventions());
            if (!gpt.interventions().isEmpty()) {
                report.put("interventions", gpt.interventions().describe());
            }
            uploadMs = (System.nanoTime() - uploadStart) / 1e6;
            deviceBytes = cp == null ? backend.deviceBytes()
                    : ranks.stream().mapToLong(m -> m.backend().deviceBytes()).max().orElse(0);
            if (context != null) {
                report.put("device", context.device().id() + " " + context.device().name());
                report.put("binding", context.binding());
            }
            // one prompt, not JSON: tokens stream to stdout; otherwise (JSON, or a batch printed at the end) progress
            // shows on stderr instead
            boolean stream = !json.replacesText() && texts.size() == 1;
            int[] stops = chat ? ChatSetup.stopIds(loaded)
                    : tokenizer.eosId().isPresent() ? new int[] {tokenizer.eosId().getAsInt()}
                    : config.eosTokenId() >= 0 ? new int[] {config.eosTokenId()} : new int[0];
            try (Progress progress = stream ? null
                    : new Progress(err, "generating " + maxTokens + " tokens x " + texts.size(), (long) maxTokens * texts.size())) {
                if (stream && !chat) {
                    out.print(texts.get(0));
                    out.flush();
                }
                result = Generator.generate(gpt, tokenizer, promptIds, new int[promptIds.size()], stops, maxTokens,
                        sampling, logitsOut != null, (seq, token, text) -> {
                            firstTokenAt[0] = firstTokenAt[0] == 0 ? System.currentTimeMillis() : firstTokenAt[0];
                            if (progress == null) {
                                out.print(text);
                                out.flush();
                            } else {
                                progress.step(1);
                            }
                        }, taps, chat ? tokenizer::streamingDecoder : tokenizer::continuationDecoder, prefill);
                if (stream) {
                    out.println();
                }
            }
        }
        if (logitsOut != null) {
            Npy.write(logitsOut, new Tensor(result.promptLogits(), promptIds.get(0).length, config.vocabSize()));
            report.put("logitsOut", logitsOut.toString());
        }
        Generator.Timings t = result.timings();
        Map<String, Object> timings = new LinkedHashMap<>();
        timings.put("loadMs", round(loadMs));
        timings.put("uploadMs", round(uploadMs));
        timings.put("prefillMs", round(t.prefillMillis()));
        timings.put("timeToFirstTokenMs", round(t.firstTokenMillis()));
        // from the start of the process: what a user waits for, JVM and OpenCL start-up included
        double sinceStart = firstTokenAt[0] == 0 ? Double.NaN
                : firstTokenAt[0] - java.lang.management.ManagementFactory.getRuntimeMXBean().getStartTime();
        timings.put("firstTokenSinceProcessStartMs", Double.isNaN(sinceStart) ? null : round(sinceStart));
        timings.put("prefillTokensPerSecond", round(t.prefillTokensPerSecond()));
        timings.put("decodeSteps", t.decodeSteps());
        timings.put("decodeMs", round(t.decodeMillis()));
        timings.put("decodeTokensPerSecond", Double.isNaN(t.decodeTokensPerSecond()) ? null : round(t.decodeTokensPerSecond()));
        report.put("timings", timings);
        report.put("deviceBytes", deviceBytes);
        if (cp != null) {
            report.put("contextParallel", contextParallel.report(cp, ranks));
        }
        report.put("sampling", samplingOptions.report());
        List<Object> completions = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            Generator.Completion c = result.completions().get(i);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("prompt", texts.get(i));
            m.put("promptIds", c.promptIds());
            m.put("truncatedPromptTokens", truncated.get(i));
            m.put("generatedIds", c.generatedIds());
            m.put("text", c.text());
            m.put("stopReason", c.stopReason());
            completions.add(m);
        }
        report.put("completions", completions);

        if (!json.replacesText()) {
            if (texts.size() > 1) {
                for (int i = 0; i < texts.size(); i++) {
                    out.println("--- prompt " + (i + 1) + ": " + texts.get(i));
                    out.println((chat ? "" : texts.get(i)) + result.completions().get(i).text());
                }
            }
            err.printf(Locale.ROOT, "%s (%s) on %s: load %.0f ms, prompt %d tokens in %.0f ms (%.0f tokens/s), first token after %.0f ms "
                            + "(%.2f s after the process started), %d more in %.0f ms (%.1f tokens/s per sequence)%n",
                    loaded.name(), weights.formats(), report.getOrDefault("device", "the Java CPU reference"), loadMs + uploadMs,
                    t.promptTokens(), t.prefillMillis(), t.prefillTokensPerSecond(), t.firstTokenMillis(), sinceStart / 1e3,
                    t.decodeSteps(), t.decodeMillis(), t.decodeTokensPerSecond());
            if (cp != null) {
                err.printf(Locale.ROOT, "context-parallel prefill: %d ranks (%s), %s layout, work imbalance (max/min) %.2f; "
                                + "blocks passed: %.2f MiB in %.0f ms%n",
                        ranks.size(), contextParallel.ranksOn(),
                        cp.plan().layout().label(), cp.workImbalance(), cp.transferredBytes() / 1048576.0, cp.transferMillis());
                for (ContextParallel.RankWork w : cp.work()) {
                    err.printf(Locale.ROOT, "  rank %d: positions %s, %d (query, key) pairs, %d chunk pairs computed, %d skipped "
                                    + "(above the diagonal), %.1f MiB on its device%n",
                            w.rank(), String.join(" and ", w.chunks().stream().map(c -> c.start() + ".." + (c.start() + c.length() - 1)).toList()),
                            w.work(), w.blocks(), w.skipped(), ranks.get(w.rank()).backend().deviceBytes() / 1048576.0);
                }
            }
            err.flush();
        }
        json.emit(out, report);
        return ExitCodes.OK;
    }

    /** The prompt's ids, truncated from the start when --truncate allows, or an error that gives the numbers. */
    private int[] fit(Tokenizer tokenizer, ModelConfig config, String text, List<Integer> truncated) {
        // BOS in front where the model's tokenizer adds one (Llama), as Hugging Face's encode does
        int[] ids = tokenizer.encodeWithBos(text);
        if (ids.length == 0) {
            int start = tokenizer.bosId().orElse(tokenizer.eosId().orElse(config.eosTokenId()));
            if (start < 0) {
                throw new InputException("The prompt is empty and the model has no begin- or end-of-text token to start from.");
            }
            ids = new int[] {start}; // GPT-2 starts unconditional text from <|endoftext|>
        }
        return fitIds(ids, config, truncated, tokenizer.addBos() ? tokenizer.bosId().orElse(-1) : -1);
    }

    /** The ids, truncated from the start when --truncate allows, or an error that gives the numbers. */
    private int[] fitIds(int[] ids, ModelConfig config, List<Integer> truncated) {
        return fitIds(ids, config, truncated, -1);
    }

    /** As above; {@code bos} (or -1) stays in front when the start of the prompt is dropped. */
    private int[] fitIds(int[] ids, ModelConfig config, List<Integer> truncated, int bos) {
        int room = config.nPositions() - maxTokens;
        if (ids.length > room) {
            if (!truncate || room < 1) {
                throw new InputException("The prompt is " + ids.length + " tokens and --max-tokens is " + maxTokens
                        + "; together " + (ids.length + maxTokens) + " exceed the model's context length " + config.nPositions()
                        + ". Shorten the prompt, lower --max-tokens" + (room >= 1 ? ", or pass --truncate to keep the last "
                        + room + " prompt tokens." : " below " + config.nPositions() + "."));
            }
            truncated.add(ids.length - room);
            int[] kept = Arrays.copyOfRange(ids, ids.length - room, ids.length);
            if (bos >= 0 && ids[0] == bos && room > 1) {
                kept[0] = bos; // a model that starts every text with BOS keeps it: the text after it is dropped
            }
            return kept;
        }
        truncated.add(0);
        return ids;
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
