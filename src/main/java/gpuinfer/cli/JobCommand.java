package gpuinfer.cli;

import picocli.CommandLine.Command;

/**
 * {@code gpu-infer job}: job files (a command line written down as JSON) and the results of batch jobs. Each
 * subcommand is its own class listed in {@code subcommands}.
 */
@Command(name = "job", mixinStandardHelpOptions = true,
        subcommands = {JobRunCommand.class, JobCheckCommand.class, JobSchemaCommand.class, JobMergeCommand.class},
        description = {"Job files: a command line written down as JSON, checked against a schema made from the",
                "commands' own options, and run again. 'kind' names the command (generate = run, attention, compare,",
                "profile-attention, bench-run, ...); every other field is one of its options without the dashes.",
                "Any command writes its job with --save-job JOB.json. 'job merge' joins the results of a batch run in",
                "shards (gpu-infer run --requests ... --shard I/N).",
                "", "Examples:",
                "  gpu-infer run --prompt \"Hello\" --max-tokens 20 --save-job hello.json",
                "  gpu-infer job check hello.json",
                "  gpu-infer job run hello.json",
                "  gpu-infer job schema --out job.schema.json",
                "  gpu-infer job merge --requests in.jsonl --shards 'out.*.jsonl' --out merged.jsonl", ""})
final class JobCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
