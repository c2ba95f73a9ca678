package gpuinfer.cli;

import picocli.CommandLine.Command;

/** {@code gpu-infer bench}: benchmarks that print their figures beside an anchor's. */
@Command(name = "bench", mixinStandardHelpOptions = true, subcommands = {BenchAttentionCommand.class, BenchRunCommand.class, BenchBatchCommand.class},
        description = {"Benchmarks. Each prints medians of several runs, ratios to a baseline in the same run, and,",
                "given the JSON of an anchor measured in the same session (tools/bench_attention.sh does both),",
                "the anchor's figures side by side.", ""})
final class BenchCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
