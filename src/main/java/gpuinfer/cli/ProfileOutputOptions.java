package gpuinfer.cli;

import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The files a profile can write, and the peaks it compares against. */
final class ProfileOutputOptions {
    @Option(names = "--trace", paramLabel = "T.json", description = "Write a Chrome trace-event file (Perfetto, chrome://tracing).")
    Path trace;

    @Option(names = "--csv", paramLabel = "K.csv", description = "Write the per-kernel table as CSV.")
    Path csv;

    @Option(names = "--roofline", paramLabel = "R.svg", description = "Write a roofline picture (SVG).")
    Path roofline;

    @Option(names = "--measure-peaks", description = "Measure the device's peaks again instead of using the cached figures.")
    boolean measurePeaks;
}
