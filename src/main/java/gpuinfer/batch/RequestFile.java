package gpuinfer.batch;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import gpuinfer.InputException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A JSONL file of generation requests, one JSON object a line (blank lines are skipped):
 * <pre>{"id": "a1", "prompt": "Once upon a time", "max_tokens": 40, "temperature": 0.7, "seed": 3, "stop": ["\n\n"]}</pre>
 * {@code id} (a string or a number) and {@code prompt} (a string) are required; {@code max_tokens},
 * {@code temperature}, {@code seed} and {@code stop} (an array of strings) are optional and default to the command
 * line's values. A line that is not such an object (not JSON, an unknown field, a value of the wrong type) is a
 * {@link Entry} with an error, recorded as a failed result so that the other requests go on; duplicate ids are an
 * error for the whole file ({@link #read}), before anything runs.
 */
public final class RequestFile {
    /** The fields a request line may have. */
    public static final Set<String> FIELDS = Set.of("id", "prompt", "max_tokens", "temperature", "seed", "stop");
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private RequestFile() {
    }

    /**
     * One line of the file.
     *
     * @param line        1-based line number
     * @param id          the id as given (a string or number node), or null where the line has none usable
     * @param key         what identifies the request in results, shards and resume: the id's text (a number's JSON
     *                    text), or "line N" for a line without a usable id
     * @param prompt      the prompt text (null when {@code error} is set)
     * @param maxTokens   per-request max_tokens, or null for the default
     * @param temperature per-request temperature, or null for the default
     * @param seed        per-request seed, or null for the default
     * @param stop        stop texts (empty for none)
     * @param error       why the line is not a valid request, or null
     */
    public record Entry(int line, JsonNode id, String key, String prompt, Integer maxTokens, Double temperature, Long seed,
                        List<String> stop, String error) {
        public boolean failed() {
            return error != null;
        }
    }

    /** Reads and checks every line; throws InputException naming duplicate ids (with their lines). */
    public static List<Entry> read(Path file) throws IOException {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new InputException("The requests file " + file + " does not exist.");
        }
        List<Entry> entries = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (!lines.get(i).isBlank()) {
                entries.add(parse(i + 1, lines.get(i)));
            }
        }
        Map<String, List<Integer>> linesById = new LinkedHashMap<>();
        for (Entry e : entries) {
            linesById.computeIfAbsent(e.key(), k -> new ArrayList<>()).add(e.line());
        }
        List<String> duplicates = new ArrayList<>();
        linesById.forEach((key, at) -> {
            if (at.size() > 1) {
                duplicates.add("'" + key + "' (lines " + at.toString().replaceAll("[\\[\\]]", "") + ")");
            }
        });
        if (!duplicates.isEmpty()) {
            throw new InputException(file + ": " + duplicates.size() + " duplicate request id"
                    + (duplicates.size() == 1 ? "" : "s") + ": " + String.join(", ", duplicates.subList(0, Math.min(10,
                    duplicates.size()))) + (duplicates.size() > 10 ? ", ..." : "")
                    + ". Every id must be unique: results are matched, resumed and merged by id.");
        }
        return entries;
    }

    /** One line: a request, or an entry with the error (and the id where one could be read). */
    static Entry parse(int line, String text) {
        JsonNode node;
        try {
            node = MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            return failure(line, null, "line " + line + " is not JSON: " + e.getOriginalMessage());
        }
        if (node == null || !node.isObject()) {
            return failure(line, null, "line " + line + " is not a JSON object");
        }
        JsonNode id = node.get("id");
        if (id == null) {
            return failure(line, null, "line " + line + " has no \"id\"");
        }
        if (!id.isTextual() && !id.isNumber()) {
            return failure(line, null, "line " + line + ": \"id\" must be a string or a number, not " + kind(id));
        }
        List<String> unknown = new ArrayList<>();
        node.fieldNames().forEachRemaining(f -> {
            if (!FIELDS.contains(f)) {
                unknown.add(f);
            }
        });
        if (!unknown.isEmpty()) {
            return failure(line, id, "unknown field" + (unknown.size() == 1 ? " " : "s ") + String.join(", ", unknown)
                    .replaceAll("([^, ]+)", "\"$1\"") + " (a request has " + "id, prompt, max_tokens, temperature, seed, stop)");
        }
        JsonNode prompt = node.get("prompt");
        if (prompt == null || !prompt.isTextual()) {
            return failure(line, id, prompt == null ? "no \"prompt\"" : "\"prompt\" must be a string, not " + kind(prompt));
        }
        Integer maxTokens = null;
        JsonNode m = node.get("max_tokens");
        if (m != null) {
            if (!m.isIntegralNumber() || !m.canConvertToInt() || m.intValue() < 1) {
                return failure(line, id, "\"max_tokens\" must be a whole number of at least 1, not " + m);
            }
            maxTokens = m.intValue();
        }
        Double temperature = null;
        JsonNode t = node.get("temperature");
        if (t != null) {
            if (!t.isNumber() || !(t.doubleValue() >= 0) || Double.isInfinite(t.doubleValue())) {
                return failure(line, id, "\"temperature\" must be 0 (greedy) or a positive number, not " + t);
            }
            temperature = t.doubleValue();
        }
        Long seed = null;
        JsonNode s = node.get("seed");
        if (s != null) {
            if (!s.isIntegralNumber() || !s.canConvertToLong()) {
                return failure(line, id, "\"seed\" must be a whole number, not " + s);
            }
            seed = s.longValue();
        }
        List<String> stop = new ArrayList<>();
        JsonNode st = node.get("stop");
        if (st != null) {
            if (!st.isArray()) {
                return failure(line, id, "\"stop\" must be an array of strings, not " + kind(st));
            }
            for (JsonNode one : st) {
                if (!one.isTextual() || one.textValue().isEmpty()) {
                    return failure(line, id, "\"stop\" must hold non-empty strings, not " + one);
                }
                stop.add(one.textValue());
            }
        }
        return new Entry(line, id, keyOf(id, line), prompt.textValue(), maxTokens, temperature, seed, stop, null);
    }

    /** The key of a request: its id's text, or "line N" where it has no usable id. */
    public static String keyOf(JsonNode id, int line) {
        return id == null || id.isNull() ? "line " + line : id.isTextual() ? id.textValue() : id.asText();
    }

    private static Entry failure(int line, JsonNode id, String error) {
        return new Entry(line, id, keyOf(id, line), null, null, null, null, List.of(), error);
    }

    private static String kind(JsonNode node) {
        return node.getNodeType() == JsonNodeType.NULL ? "null" : node.getNodeType().name().toLowerCase(java.util.Locale.ROOT)
                + " " + node;
    }
}
