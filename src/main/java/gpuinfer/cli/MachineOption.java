package gpuinfer.cli;

import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * {@code --machine MACHINE.json}: this machine's measured limits, for the benchmarks' limit columns. The one
 * declaration (a picocli mixin) for {@code bench attention} and {@code bench run}.
 */
final class MachineOption {
    @Option(names = "--machine", paramLabel = "MACHINE.json",
            description = "JSON of tools/bench_anchor_machine.py measured in this session (SGEMM rate and copy "
                    + "bandwidth), for the limits columns.")
    Path machine;
}
