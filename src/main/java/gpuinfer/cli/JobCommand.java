package gpuinfer.cli;

import picocli.CommandLine.Command;

/**
 * {@code gpu-infer job}: batch jobs as a group of subcommands. Each subcommand is its own class listed in
 * {@code subcommands} below, so a new one (run a job file, check one) is one class and one entry here.
 */
@Command(name = "job", mixinStandardHelpOptions = true, subcommands = {JobMergeCommand.class},
        description = {"Batch jobs: the results of a batch run in shards (gpu-infer run --requests ... --shard I/N),",
                "merged into one file.", "",
                "Examples:",
                "  gpu-infer job merge --requests in.jsonl --shards 'out.*.jsonl' --out merged.jsonl", ""})
final class JobCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
