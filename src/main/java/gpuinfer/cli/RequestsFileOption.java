package gpuinfer.cli;

import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * {@code --requests IN.jsonl}: a JSONL file of generation requests, one {@code {"id", "prompt", optional
 * "max_tokens", "temperature", "seed", "stop"}} a line. The one declaration of the option (a picocli mixin):
 * {@code run} generates for it ({@link BatchOptions}), {@code job merge} checks shards' results against it.
 */
final class RequestsFileOption {
    @Option(names = "--requests", paramLabel = "IN.jsonl",
            description = "The JSONL file of requests, one {\"id\", \"prompt\", optional \"max_tokens\", "
                    + "\"temperature\", \"seed\", \"stop\"} a line: run generates for every request (into --results; "
                    + "rerunning resumes); job merge checks the shards' results against it.")
    Path requests;
}
