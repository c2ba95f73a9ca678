package gpuinfer.cli;

import gpuinfer.InputException;
import gpuinfer.batch.Shard;
import gpuinfer.ops.Linear;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** {@code run}'s options for a batch of requests from a JSONL file (a picocli mixin; see {@link BatchRun}). */
final class BatchOptions {
    /** The requests file (--requests), or null for a single run. */
    Path requests() {
        return requestsFile.requests;
    }

    @picocli.CommandLine.Mixin
    RequestsFileOption requestsFile;

    @Option(names = "--results", paramLabel = "OUT.jsonl",
            description = "With --requests: the JSONL file of results, one line per request, appended as each finishes.")
    Path results;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "8",
            description = "With --requests: sequences decoded together, 1.." + Linear.Config.DECODE_MAX_ROWS
                    + " (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--shard", paramLabel = "I/N",
            description = "With --requests: only the ids whose FNV-1a 64 hash modulo N is I (default: every id).")
    String shard;

    /** Whether this is a batch run. */
    boolean requested() {
        return requestsFile.requests != null;
    }

    /** Checks the options that only make sense with --requests were not given without it. */
    void checkAlone(picocli.CommandLine.ParseResult parsed) {
        for (String option : new String[] {"--results", "--batch", "--shard"}) {
            if (parsed.hasMatchedOption(option)) {
                throw new InputException(option + " belongs to a batch: give it with --requests IN.jsonl.");
            }
        }
    }

    Shard shard() {
        return shard == null ? Shard.ALL : Shard.parse(shard);
    }

    int checkedBatch() {
        if (batch < 1 || batch > Linear.Config.DECODE_MAX_ROWS) {
            throw new InputException("--batch must be 1.." + Linear.Config.DECODE_MAX_ROWS + ", not " + batch + ": up to "
                    + Linear.Config.DECODE_MAX_ROWS + " sequences decode with every row's sums in the order they have "
                    + "alone, which keeps each result identical to running its request alone.");
        }
        return batch;
    }
}
