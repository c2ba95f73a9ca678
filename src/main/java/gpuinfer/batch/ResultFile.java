package gpuinfer.batch;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import gpuinfer.InputException;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A JSONL file of results, one JSON object a line, appended one whole line at a time: each line is encoded first and
 * written with a single write call, then flushed, so a process killed between two results leaves only whole lines
 * (and one killed inside a write leaves at most a torn last line, without its newline, which {@link #readForResume}
 * cuts off). A result line holds at least {@code id} (as the request gave it; null for a request line without a
 * usable id) and {@code line} (the request's line number), which together give its key
 * ({@link RequestFile#keyOf}).
 */
public final class ResultFile implements AutoCloseable {
    static final ObjectMapper MAPPER = new ObjectMapper();
    private final FileOutputStream out;

    private ResultFile(FileOutputStream out) {
        this.out = out;
    }

    /** Opens {@code file} for appending (creating it). */
    public static ResultFile append(Path file) throws IOException {
        return new ResultFile(new FileOutputStream(file.toFile(), true));
    }

    /** Writes one result as one line: one write call, then a flush. */
    public synchronized void write(ObjectNode result) throws IOException {
        if (!result.fieldNames().hasNext() || !result.fieldNames().next().equals("id")) {
            throw new IllegalArgumentException("a result line starts with its \"id\" (resume recognises torn lines by it)");
        }
        byte[] line = (MAPPER.writeValueAsString(result) + "\n").getBytes(StandardCharsets.UTF_8);
        out.write(line);
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }

    /**
     * The results already in {@code file} by key, for a resumed run (empty when the file does not exist). A last
     * line without its newline is what a killed run leaves: it is cut off the file (noted on {@code err}) and its
     * request runs again. Any other line that is not a result is an error: the file is not this job's results.
     */
    public static Map<String, JsonNode> readForResume(Path file, PrintWriter err) throws IOException {
        if (!Files.exists(file)) {
            return new LinkedHashMap<>();
        }
        byte[] bytes = Files.readAllBytes(file);
        int end = bytes.length;
        while (end > 0 && bytes[end - 1] != '\n') {
            end--;
        }
        // the whole lines must be results before anything is cut: a file that is not (the requests file given as
        // --results, say) is refused untouched
        Map<String, JsonNode> done = parse(file, new String(bytes, 0, end, StandardCharsets.UTF_8));
        if (end < bytes.length) {
            String torn = new String(bytes, end, bytes.length - end, StandardCharsets.UTF_8);
            if (!(torn.startsWith(LINE_START) || LINE_START.startsWith(torn))) {
                throw new InputException(file + " ends in a line without a newline that is not the start of a result "
                        + "line (" + LINE_START + "...): is this the results file of another job? Give a new --results file.");
            }
            try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
                channel.truncate(end);
            }
            err.println("note: " + file + " ended in a torn line of " + (bytes.length - end) + " bytes (a run stopped "
                    + "while writing it); cut it off: that request runs again");
            err.flush();
        }
        return done;
    }

    /** How every result line begins ({@link #write} writes "id" first): a torn line is a prefix of it or longer. */
    private static final String LINE_START = "{\"id\":";

    /** The whole lines of a finished results file by key; a torn last line is an error here (merge). */
    public static Map<String, JsonNode> readComplete(Path file, List<String> duplicates) throws IOException {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        if (!text.isEmpty() && !text.endsWith("\n")) {
            throw new InputException(file + " ends in a torn line: its run was stopped while writing. Run that shard "
                    + "again (it resumes and cuts the torn line off), then merge.");
        }
        Map<String, JsonNode> all = new LinkedHashMap<>();
        List<JsonNode> lines = lines(file, text);
        for (JsonNode r : lines) {
            String key = keyOf(r);
            if (all.put(key, r) != null) {
                duplicates.add(key);
            }
        }
        return all;
    }

    private static Map<String, JsonNode> parse(Path file, String text) {
        Map<String, JsonNode> all = new LinkedHashMap<>();
        for (JsonNode r : lines(file, text)) {
            all.put(keyOf(r), r);
        }
        return all;
    }

    private static List<JsonNode> lines(Path file, String text) {
        List<JsonNode> out = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            if (lines[i].isBlank()) {
                continue;
            }
            JsonNode node;
            try {
                node = MAPPER.readTree(lines[i]);
            } catch (JsonProcessingException e) {
                node = null;
            }
            if (node == null || !node.isObject() || !node.has("id") || !node.path("line").isInt()) {
                throw new InputException(file + " line " + (i + 1) + " is not a result line (a JSON object with \"id\" "
                        + "and \"line\"): is this the results file of another job? Give a new --results file.");
            }
            out.add(node);
        }
        return out;
    }

    /** A result's key: its id's text, or "line N" for a request line that had no usable id. */
    public static String keyOf(JsonNode result) {
        return RequestFile.keyOf(result.get("id"), result.get("line").intValue());
    }
}
