package gpuinfer.cli;

import gpuinfer.InputException;
import gpuinfer.check.Tolerance;
import gpuinfer.compare.CompareReport;
import gpuinfer.compare.Execution;
import gpuinfer.compare.ModelComparison;
import gpuinfer.model.ModelWeights;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/** {@code gpu-infer compare}: a model run twice (CPU reference and a device, by default), tensor by tensor. */
@Command(name = "compare", mixinStandardHelpOptions = true, sortOptions = false,
        subcommands = {CompareAttentionCommand.class},
        description = {"Compare two executions of a model tensor by tensor: execution a generates --max-tokens greedy",
                "tokens after the prompt, then both run the whole sequence teacher-forced, and every layer's tensors",
                "(LayerNorm outputs, qkv, attention output, residual stream, MLP hidden and output) and the logits",
                "of every position are compared: max abs/rel error, mean abs, RMS, cosine, count over tolerance, first",
                "mismatch; for logits also argmax agreement and top-5 overlap. Exit status 1 names the first tensor",
                "where the runs diverge. An execution may run the weights in another format (weights=q8_0): then each",
                "tensor's NMSE is judged against that format's limit, and argmax agreement and top-5 overlap show",
                "what the quantisation does to the next-token choice. 'compare attention' does the same for one",
                "attention computation.",
                "", "Examples:",
                "  gpu-infer compare --prompt \"hello\"",
                "  gpu-infer compare --prompt \"hello\" --a device=0:0,binding=lwjgl --b device=0:0,binding=jocl",
                "  gpu-infer compare --prompt \"hello\" --a device=auto --b weights=q8_0",
                "  gpu-infer compare attention --shape 1,8,8,512,512,64 --causal --b impl=naive --json-out r.json", ""})
final class CompareCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @picocli.CommandLine.Mixin
    ModelOptions modelOptions;

    /** Applied to execution b only: compare then shows where the altered run diverges from the plain one. */
    @picocli.CommandLine.Mixin
    InterventionOptions interventionOptions;

    @Option(names = "--prompt", defaultValue = "The meaning of life is", paramLabel = "TEXT", description = "Prompt (default: \"${DEFAULT-VALUE}\").")
    String prompt;

    @Option(names = "--max-tokens", defaultValue = "8", paramLabel = "N",
            description = "Tokens execution a generates greedily before both are compared (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @picocli.CommandLine.Mixin
    ExecutionOptions.ForModel executions;

    @picocli.CommandLine.Mixin
    ToleranceOptions toleranceOptions;

    @picocli.CommandLine.Mixin
    JsonOutputOptions json;

    @Override
    public Integer call() {
        if (maxTokens < 0) {
            throw new InputException("--max-tokens must be 0 or more.");
        }
        gpuinfer.model.LoadedModel loaded = modelOptions.open(spec.commandLine().getErr());
        ModelWeights weights = loaded.weights();
        gpuinfer.model.Interventions interventions = interventionOptions.interventions();
        interventions.check(weights.config);
        int[] ids = loaded.tokenizer().encode(prompt);
        if (ids.length == 0) {
            throw new InputException("--prompt is empty; give at least one token of text.");
        }
        if (ids.length + maxTokens > weights.config.nPositions()) {
            throw new InputException("The prompt (" + ids.length + " tokens) and --max-tokens " + maxTokens
                    + " exceed the model's n_positions " + weights.config.nPositions() + ".");
        }
        Tolerance tolerance = toleranceOptions.over(Tolerance.FP32_MODEL);
        CompareReport report;
        try (ModelComparison.Side sideA = ModelComparison.of(Execution.parse(executions.a(), "opencl"));
             ModelComparison.Side sideB = ModelComparison.of(Execution.parse(executions.b(), "opencl"))) {
            report = ModelComparison.compare(weights, ids, maxTokens, sideA, sideB, tolerance, interventions);
        }
        return finish(spec.commandLine().getOut(), report, json);
    }

    /** Prints the report (as text, or as JSON under --json), writes --json-out, and gives the exit status. */
    static int finish(PrintWriter out, CompareReport report, JsonOutputOptions json) {
        if (!json.replacesText()) {
            report.print(out);
        }
        json.emit(out, report.toJson());
        return report.passed() ? ExitCodes.OK : ExitCodes.MISMATCH;
    }
}
