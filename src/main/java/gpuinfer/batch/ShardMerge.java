package gpuinfer.batch;

import com.fasterxml.jackson.databind.JsonNode;
import gpuinfer.InputException;
import gpuinfer.util.AtomicFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Merges the results files of a job's shards into one: checks that together they hold every request of the requests
 * file exactly once (no id missing, none twice, none that the requests file lacks), then writes the results in the
 * requests file's order, atomically (a temporary file renamed over the target), or writes nothing and names the
 * problem ids.
 */
public final class ShardMerge {
    /** What a merge wrote: results, of which failed (finish_reason "error"), from so many files. */
    public record Summary(int results, int failed, int files) {
    }

    private ShardMerge() {
    }

    public static Summary merge(Path requests, List<Path> shards, Path out) throws IOException {
        if (shards.isEmpty()) {
            throw new InputException("No shard results to merge: --shards matched no file.");
        }
        List<RequestFile.Entry> entries = RequestFile.read(requests);
        Map<String, JsonNode> results = new LinkedHashMap<>();
        Map<String, List<Path>> seenIn = new LinkedHashMap<>();
        List<String> duplicates = new ArrayList<>();
        for (Path shard : shards) {
            List<String> within = new ArrayList<>();
            Map<String, JsonNode> lines = ResultFile.readComplete(shard, within);
            for (String key : within) {
                duplicates.add("'" + key + "' (twice in " + shard.getFileName() + ")");
            }
            for (Map.Entry<String, JsonNode> e : lines.entrySet()) {
                List<Path> files = seenIn.computeIfAbsent(e.getKey(), k -> new ArrayList<>());
                files.add(shard);
                if (files.size() == 2) {
                    duplicates.add("'" + e.getKey() + "' (in " + files.get(0).getFileName() + " and "
                            + files.get(1).getFileName() + ")");
                }
                results.putIfAbsent(e.getKey(), e.getValue());
            }
        }
        List<String> missing = new ArrayList<>();
        java.util.Set<String> wanted = new java.util.HashSet<>();
        for (RequestFile.Entry e : entries) {
            wanted.add(e.key());
            if (!results.containsKey(e.key())) {
                missing.add("'" + e.key() + "'");
            }
        }
        List<String> unknown = new ArrayList<>();
        for (String key : results.keySet()) {
            if (!wanted.contains(key)) {
                unknown.add("'" + key + "'");
            }
        }
        if (!missing.isEmpty() || !duplicates.isEmpty() || !unknown.isEmpty()) {
            StringBuilder m = new StringBuilder("The shards do not hold every request of " + requests
                    + " exactly once; nothing was written.");
            problem(m, missing, "missing (run their shard again: it resumes)");
            problem(m, duplicates, "duplicate");
            problem(m, unknown, "not in the requests file (a results file of another job?)");
            throw new InputException(m.toString());
        }
        int failed = 0;
        StringBuilder text = new StringBuilder();
        for (RequestFile.Entry e : entries) {
            JsonNode r = results.get(e.key());
            failed += "error".equals(r.path("finish_reason").asText()) ? 1 : 0;
            text.append(ResultFile.MAPPER.writeValueAsString(r)).append('\n');
        }
        byte[] bytes = text.toString().getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(out, stream -> stream.write(bytes));
        return new Summary(entries.size(), failed, shards.size());
    }

    private static void problem(StringBuilder m, List<String> ids, String what) {
        if (!ids.isEmpty()) {
            m.append("\n  ").append(ids.size()).append(' ').append(what).append(": ")
                    .append(String.join(", ", ids.subList(0, Math.min(10, ids.size()))))
                    .append(ids.size() > 10 ? ", ..." : "");
        }
    }
}
