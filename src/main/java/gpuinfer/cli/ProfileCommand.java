package gpuinfer.cli;

import picocli.CommandLine.Command;

/** {@code gpu-infer profile}: per-kernel device times from OpenCL profiling events. */
@Command(name = "profile", mixinStandardHelpOptions = true, subcommands = {ProfileAttentionCommand.class, ProfileRunCommand.class},
        description = {"Profile kernels with OpenCL profiling events: per kernel calls, total, mean, median and p95 time,",
                "share, FLOPs and bytes per launch, GFLOP/s and GB/s against the device's measured peaks; host",
                "overhead (enqueue-to-start, idle gaps); a Chrome trace (--trace), a CSV (--csv) and a roofline (--roofline).",
                "", "Examples:",
                "  gpu-infer profile run --prompt \"hello\" --trace t.json --roofline r.svg",
                "  gpu-infer profile attention --shape 1,12,12,1024,1024,64 --causal --sweep S=512,1024,2048 --sweep D=64,128", ""})
final class ProfileCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
