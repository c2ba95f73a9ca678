package gpuinfer.cli;

import gpuinfer.generate.SamplingOptions;
import picocli.CommandLine.Option;

import java.util.Map;

/** The sampler's options, shared by {@code run} and {@code chat}. */
public final class SamplingMixin {
    @Option(names = "--temperature", defaultValue = "0.8", paramLabel = "T",
            description = "0 for greedy decoding; else logits are divided by T (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-k", defaultValue = "40", paramLabel = "K", description = "Sample among the K likeliest tokens; 0 for all (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", defaultValue = "0.95", paramLabel = "P", description = "Nucleus sampling threshold in (0, 1] (default: ${DEFAULT-VALUE}).")
    double topP;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the sampler: the same seed gives the same text (default: ${DEFAULT-VALUE}).")
    long seed;

    SamplingOptions options() {
        return new SamplingOptions(temperature, topK, topP, seed);
    }

    Map<String, Object> report() {
        return Map.of("temperature", temperature, "topK", topK, "topP", topP, "seed", seed);
    }
}
