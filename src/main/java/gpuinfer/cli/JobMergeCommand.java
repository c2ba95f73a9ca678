package gpuinfer.cli;

import gpuinfer.InputException;
import gpuinfer.batch.ShardMerge;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.stream.Stream;

/** {@code gpu-infer job merge}: the shards' results files checked against the requests file and merged into one. */
@Command(name = "merge", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Check that the results files of shards 0..N-1 hold every request of the requests file exactly",
                "once (naming missing, duplicate and unknown ids), then write them as one file in the requests",
                "file's order. Nothing is written when a check fails.", "",
                "Examples:",
                "  gpu-infer job merge --requests in.jsonl --shards 'out.*.jsonl' --out merged.jsonl",
                "  gpu-infer job merge --requests in.jsonl --shards out.0.jsonl,out.1.jsonl --out merged.jsonl", ""})
final class JobMergeCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @picocli.CommandLine.Mixin
    RequestsFileOption requestsFile;

    @Option(names = "--shards", required = true, split = ",", paramLabel = "FILE|GLOB",
            description = "The shards' results files: names, or a pattern such as 'out.*.jsonl' (quoted, so that "
                    + "gpu-infer expands it: * ? [..] in the file name); comma-separated or repeated.")
    List<String> shards;

    @Option(names = "--out", required = true, paramLabel = "OUT.jsonl", description = "The merged results file.")
    Path out;

    @Override
    public Integer call() throws IOException {
        List<Path> files = new ArrayList<>();
        for (String s : shards) {
            files.addAll(expand(s));
        }
        Path merged = out.toAbsolutePath().normalize();
        // a pattern that also matches the merged file of an earlier merge
        files.removeIf(f -> f.toAbsolutePath().normalize().equals(merged));
        if (requestsFile.requests == null) {
            throw new InputException("job merge needs --requests IN.jsonl: the requests file the shards ran, to check "
                    + "every id is there exactly once.");
        }
        ShardMerge.Summary summary = ShardMerge.merge(requestsFile.requests, files, out);
        spec.commandLine().getOut().printf(Locale.ROOT, "merged %d results (%d failed) from %d files into %s%n",
                summary.results(), summary.failed(), summary.files(), out);
        return ExitCodes.OK;
    }

    /** A file name, or the files of its folder whose names match its glob pattern (sorted); none is an error. */
    static List<Path> expand(String spec) throws IOException {
        Path path = Path.of(spec);
        String name = path.getFileName() == null ? "" : path.getFileName().toString();
        if (!name.matches(".*[*?\\[].*")) {
            if (!Files.isRegularFile(path)) {
                throw new InputException("--shards: " + spec + " is not a file.");
            }
            return List.of(path);
        }
        Path dir = path.getParent() == null ? Path.of(".") : path.getParent();
        PathMatcher matcher = FileSystems.getDefault().getPathMatcher("glob:" + name);
        TreeSet<Path> matched = new TreeSet<>();
        try (Stream<Path> list = Files.list(dir)) {
            list.filter(p -> Files.isRegularFile(p) && matcher.matches(p.getFileName())).forEach(matched::add);
        }
        if (matched.isEmpty()) {
            throw new InputException("--shards: no file in " + dir + " matches '" + name + "'.");
        }
        return new ArrayList<>(matched);
    }
}
