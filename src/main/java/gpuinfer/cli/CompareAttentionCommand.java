package gpuinfer.cli;

import gpuinfer.attention.AttentionProblem;
import gpuinfer.check.Tolerance;
import gpuinfer.compare.AttentionComparison;
import gpuinfer.compare.CompareReport;
import gpuinfer.compare.Execution;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;

import java.util.concurrent.Callable;

/** {@code gpu-infer compare attention}: one attention computation by two executions, tensor by tensor. */
@Command(name = "attention", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Compare two executions of attention on the same inputs: the score matrix and the probabilities",
                "(where both materialise them and B*H*Sq*Sk <= 16M), each row's log-sum-exp, and the output.",
                "Executions: cpu, or impl=flash|naive,device=SPEC,binding=NAME.",
                "", "Example: gpu-infer compare attention --shape 1,8,8,512,512,64 --causal --a cpu --b impl=naive", ""})
final class CompareAttentionCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "1", heading = "%nInputs (one of):%n")
    AttentionCommand.InputChoice input;

    @Mixin
    AttentionMaskOptions mask;

    @picocli.CommandLine.Mixin
    ExecutionOptions.ForAttention executions;

    @picocli.CommandLine.Mixin
    ToleranceOptions toleranceOptions;

    @picocli.CommandLine.Mixin
    JsonOutputOptions json;

    @Override
    public Integer call() {
        AttentionCommand.Inputs inputs = input.random != null
                ? AttentionCommand.Inputs.random(input.random.shape, input.random.seed)
                : AttentionCommand.Inputs.files(input.files.q, input.files.k, input.files.v);
        AttentionProblem problem = mask.problem(inputs.shape());
        Tolerance tolerance = toleranceOptions.over(Tolerance.FP32_ATTENTION);
        CompareReport report = AttentionComparison.compare(problem, inputs.q(), inputs.k(), inputs.v(),
                side(Execution.parse(executions.a(), "flash")), side(Execution.parse(executions.b(), "flash")), tolerance);
        return CompareCommand.finish(spec.commandLine().getOut(), report, json);
    }

    private static AttentionComparison.Side side(Execution execution) {
        if (execution.weights() != null) {
            throw new gpuinfer.InputException("weights=" + execution.weights().label + " converts a model's weights; "
                    + "attention has none. Use it with 'gpu-infer compare' (a model), not 'compare attention'.");
        }
        return execution.isCpu() ? AttentionComparison.cpu() : AttentionComparison.opencl(execution);
    }
}
