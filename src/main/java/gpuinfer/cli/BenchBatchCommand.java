package gpuinfer.cli;

import gpuinfer.InputException;
import gpuinfer.batch.BatchEngine;
import gpuinfer.batch.BatchRequest;
import gpuinfer.bench.Stats;
import gpuinfer.cl.ClContext;
import gpuinfer.generate.SamplingOptions;
import gpuinfer.model.DecoderModel;
import gpuinfer.model.LoadedModel;
import gpuinfer.model.ModelConfig;
import gpuinfer.ops.ClBackend;
import gpuinfer.ops.Linear;
import gpuinfer.variants.KernelSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code gpu-infer bench batch}: the generated tokens per second of continuous batching ({@link BatchEngine}) for
 * several batch sizes on the same requests, and the speed-up over batch 1, which runs the requests one after another
 * in one process (each prefilled, then decoded alone).
 */
@Command(name = "batch", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Benchmark batched generation: --request-count requests of --prompt-tokens random prompt tokens, each",
                "generating exactly --max-tokens tokens (greedy, end-of-text ignored), run with continuous batching",
                "at each --batches size. Prints the median over --repeat rounds (after --warmup rounds; the sizes",
                "interleaved in every round) of generated tokens/s and requests/s, and the speed-up over batch 1:",
                "the same requests one after another in one process.",
                "", "Examples:",
                "  gpu-infer bench batch",
                "  gpu-infer bench batch --model gpt2-124m-random --request-count 32 --max-tokens 16 --batches 1,4,16", ""})
final class BenchBatchCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--request-count", defaultValue = "32", paramLabel = "N", description = "Requests per round (default: ${DEFAULT-VALUE}).")
    int requests;

    @Option(names = "--prompt-tokens", defaultValue = "16", paramLabel = "N", description = "Prompt length (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--max-tokens", defaultValue = "16", paramLabel = "N", description = "Tokens each request generates (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--batches", defaultValue = "1,4,16", split = ",", paramLabel = "B,B,...",
            description = "Batch sizes; the first is the baseline of the speed-ups (default: ${DEFAULT-VALUE}).")
    List<Integer> batches;

    @Mixin
    RepeatOptions.Measured rounds;

    @Mixin
    JsonOutputOptions json;

    @Mixin
    OpenClOptions opencl;

    @Override
    public Integer call() throws IOException {
        rounds.checked();
        int repeat = rounds.repeat();
        int warmup = rounds.warmup();
        if (requests < 1 || promptTokens < 1 || maxTokens < 1) {
            throw new InputException("--request-count, --prompt-tokens and --max-tokens must be at least 1.");
        }
        for (int b : batches) {
            if (b < 1 || b > Linear.Config.DECODE_MAX_ROWS) {
                throw new InputException("--batches: " + b + " is not a batch size of 1.." + Linear.Config.DECODE_MAX_ROWS + ".");
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        LoadedModel loaded = modelOptions.open(err);
        ModelConfig config = loaded.config();
        if (promptTokens + maxTokens > config.nPositions()) {
            throw new InputException("--prompt-tokens " + promptTokens + " plus --max-tokens " + maxTokens
                    + " exceed the model's n_positions " + config.nPositions() + ".");
        }
        List<BatchRequest> work = new ArrayList<>();
        SplittableRandom random = new SplittableRandom(1);
        for (int i = 0; i < requests; i++) {
            work.add(new BatchRequest(i, random.ints(promptTokens, 0, config.vocabSize()).toArray(), maxTokens,
                    SamplingOptions.greedy(), List.of()));
        }
        double[][] seconds = new double[batches.size()][repeat];
        double[][] prefillMillis = new double[batches.size()][repeat];
        double[][] stepMillis = new double[batches.size()][repeat];
        double[][] stepRows = new double[batches.size()][repeat];
        String deviceName;
        try (ClContext context = opencl.openContext(opencl.selectDevice())) {
            deviceName = context.device().id() + " " + context.device().name();
            KernelSettings settings = opencl.settings(context);
            // one model for every batch size, its slots for the largest (the weights are uploaded, and on a CPU packed,
            // once): a batch of b uses b of them; the kernels follow the rows of each step, not the slots
            int slots = batches.stream().mapToInt(Integer::intValue).max().orElseThrow();
            try (DecoderModel model = new DecoderModel(new ClBackend(context, settings), loaded.weights(), slots,
                    promptTokens + maxTokens, (promptTokens + slots - 1) / slots, slots)) {
                for (int round = 0; round < warmup + repeat; round++) {
                    for (int i = 0; i < batches.size(); i++) {
                        // no stop ids: every request generates exactly maxTokens
                        BatchEngine engine = new BatchEngine(model, new int[0], loaded.tokenizer()::continuationDecoder,
                                batches.get(i));
                        long t0 = System.nanoTime();
                        engine.run(work.iterator(), c -> { });
                        double s = (System.nanoTime() - t0) / 1e9;
                        if (round >= warmup) {
                            BatchEngine.StepTimes steps = engine.stepTimes();
                            seconds[i][round - warmup] = s;
                            prefillMillis[i][round - warmup] = steps.millisPerPrefill();
                            stepMillis[i][round - warmup] = steps.millisPerDecodeStep();
                            stepRows[i][round - warmup] = steps.rowsPerDecodeStep();
                        }
                        err.printf("round %d%s, batch %d: %.2f s%n", round + 1, round < warmup ? " (warm-up)" : "", batches.get(i), s);
                        err.flush();
                    }
                }
            }
        }
        long tokens = (long) requests * maxTokens;
        double base = Stats.median(seconds[0]);
        PrintWriter text = json.replacesText() ? err : out;
        text.printf("model %s (%s): %d layers, C=%d, vocab %d; device %s%n", loaded.path(), loaded.weights().formats(),
                config.nLayer(), config.nEmbd(), config.vocabSize(), deviceName);
        text.printf("%d requests of %d prompt tokens generating %d tokens each; median of %d rounds after %d warm-up%n%n",
                requests, promptTokens, maxTokens, repeat, warmup);
        text.printf("%8s %16s %14s %12s %26s %14s %16s%n", "batch", "generated tok/s", "requests/s", "seconds",
                "speed-up over batch " + batches.get(0), "prefill ms", "decode step ms");
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int i = 0; i < batches.size(); i++) {
            double s = Stats.median(seconds[i]);
            double prefill = Stats.median(prefillMillis[i]);
            double step = Stats.median(stepMillis[i]);
            double rowsPerStep = Stats.median(stepRows[i]);
            text.printf("%8d %16.1f %14.2f %12.2f %25.2fx %14.1f %9.1f (%4.1f)   (rounds %.2f..%.2f s)%n", batches.get(i),
                    tokens / s, requests / s, s, base / s, prefill, step, rowsPerStep, Stats.min(seconds[i]),
                    Stats.max(seconds[i]));
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("batch", batches.get(i));
            row.put("medianSeconds", s);
            row.put("roundSeconds", seconds[i]);
            row.put("generatedTokensPerSecond", tokens / s);
            row.put("requestsPerSecond", requests / s);
            row.put("speedup", base / s);
            row.put("prefillMillisPerPrompt", prefill);
            row.put("decodeStepMillis", step);
            row.put("sequencesPerDecodeStep", rowsPerStep);
            rows.add(row);
        }
        text.printf("%nprefill ms: mean per prompt (each prompt is prefilled alone, in its own step); decode step ms: mean "
                + "per step of all active sequences (their mean number in brackets)%n");
        if (json.wanted()) {
            Map<String, Object> report = new LinkedHashMap<>();
            report.put("model", loaded.path().toString());
            report.put("weights", loaded.weights().formats());
            report.put("device", deviceName);
            report.put("requests", requests);
            report.put("promptTokens", promptTokens);
            report.put("maxTokens", maxTokens);
            report.put("repeat", repeat);
            report.put("warmup", warmup);
            report.put("results", rows);
            json.emit(out, report);
        }
        return ExitCodes.OK;
    }
}
