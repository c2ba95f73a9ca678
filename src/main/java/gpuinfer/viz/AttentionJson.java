package gpuinfer.viz;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import gpuinfer.util.AtomicFiles;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The attention maps as JSON, in two layouts.
 *
 * <p><b>attention.json</b> ({@link #write}):
 * <pre>
 * {
 *   "format": "gpu-infer-attention/1",
 *   "model": "...", "interventions": "..." ("" when none),
 *   "tokens": ["The", " cat", ...],            // S strings, one per position
 *   "tokenIds": [464, 3797, ...],              // S ints
 *   "layers": L, "heads": H,
 *   "rows": [0, 1, ...],                       // R captured query positions, ascending
 *   "weights": [L][H][R][S],                   // weights[l][h][i][k]: attention of query rows[i] to key k
 *   "summary": [ {"layer","head","entropy","previousToken","firstToken","self",
 *                 "inductionScore" (null where no induction test ran),"previousTokenHead","inductionHead"}, ... ],
 *   "nextTokens": {"before": [{"token","probability"}...], "after": [...]}   // only when given
 * }
 * </pre>
 * Weights are rounded to {@link #DECIMALS} decimals (their sums stay within 1e-3 of 1 for up to 20 keys; the exact
 * values are the model's, recomputed in double precision).
 *
 * <p><b>bertviz</b> ({@link #writeBertviz}): {@code {"tokens": [...], "attention": [L][1][H][S][S]}}, the layout of
 * bertviz's {@code head_view(attention, tokens)} / {@code model_view}: a list over layers of [batch=1, heads, query,
 * key] over the full sequence. Load it in Python with
 * {@code d = json.load(f); head_view([torch.tensor(a) for a in d["attention"]], d["tokens"])}. bertviz needs every
 * query row, so the export refuses maps where not all rows were captured (run again with {@code --rows all}), rather
 * than filling the missing rows with made-up values.
 */
public final class AttentionJson {
    public static final String FORMAT = "gpu-infer-attention/1";
    public static final int DECIMALS = 5;
    private static final ObjectMapper JSON = new ObjectMapper();

    private AttentionJson() {
    }

    static double rounded(float w) {
        double scale = Math.pow(10, DECIMALS);
        return Math.round(w * scale) / scale;
    }

    /** The attention.json tree (also the page's data). */
    public static ObjectNode tree(AttentionMaps maps, List<HeadSummary> summary, TopTokens nextTokens) {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("model", maps.model() == null ? "" : maps.model());
        root.put("interventions", maps.interventions() == null ? "" : maps.interventions());
        ArrayNode tokens = root.putArray("tokens");
        maps.tokens().forEach(tokens::add);
        ArrayNode ids = root.putArray("tokenIds");
        for (int id : maps.tokenIds()) {
            ids.add(id);
        }
        root.put("layers", maps.layers());
        root.put("heads", maps.heads());
        ArrayNode rows = root.putArray("rows");
        for (int r : maps.rows()) {
            rows.add(r);
        }
        ArrayNode weights = root.putArray("weights");
        for (float[][][] layer : maps.weights()) {
            ArrayNode layerNode = weights.addArray();
            for (float[][] head : layer) {
                ArrayNode headNode = layerNode.addArray();
                for (float[] row : head) {
                    ArrayNode rowNode = headNode.addArray();
                    for (float w : row) {
                        rowNode.add(rounded(w));
                    }
                }
            }
        }
        ArrayNode summaryNode = root.putArray("summary");
        for (HeadSummary s : summary == null ? List.<HeadSummary>of() : summary) {
            ObjectNode o = summaryNode.addObject();
            o.put("layer", s.layer());
            o.put("head", s.head());
            putNumber(o, "entropy", s.entropy());
            putNumber(o, "previousToken", s.previousToken());
            putNumber(o, "firstToken", s.firstToken());
            putNumber(o, "self", s.self());
            putNumber(o, "inductionScore", s.inductionScore());
            o.put("previousTokenHead", s.previousTokenHead());
            o.put("inductionHead", s.inductionHead());
        }
        if (nextTokens != null) {
            ObjectNode next = root.putObject("nextTokens");
            candidates(next.putArray("before"), nextTokens.before());
            candidates(next.putArray("after"), nextTokens.after());
        }
        return root;
    }

    private static void putNumber(ObjectNode o, String key, double v) {
        if (Double.isFinite(v)) {
            o.put(key, v);
        } else {
            o.putNull(key);
        }
    }

    private static void candidates(ArrayNode array, List<TopTokens.Candidate> list) {
        for (TopTokens.Candidate c : list) {
            array.addObject().put("token", c.token()).put("probability", c.probability());
        }
    }

    /** Writes attention.json atomically. */
    public static void write(Path file, AttentionMaps maps, List<HeadSummary> summary, TopTokens nextTokens)
            throws IOException {
        ObjectNode root = tree(maps, summary, nextTokens);
        AtomicFiles.write(file, out -> JSON.writeValue(out, root));
    }

    /** Whether every query position 0..S-1 was captured, as bertviz needs. */
    public static boolean allRows(AttentionMaps maps) {
        int[] rows = maps.rows();
        if (rows.length != maps.sequenceLength()) {
            return false;
        }
        for (int i = 0; i < rows.length; i++) {
            if (rows[i] != i) {
                return false;
            }
        }
        return true;
    }

    /** The bertviz tree; an IllegalArgumentException naming {@code --rows all} when rows are missing. */
    public static ObjectNode bertvizTree(AttentionMaps maps) {
        if (!allRows(maps)) {
            throw new IllegalArgumentException("bertviz needs the attention of every query position, but only "
                    + maps.rows().length + " of " + maps.sequenceLength() + " rows were captured; run again with --rows all");
        }
        ObjectNode root = JSON.createObjectNode();
        ArrayNode tokens = root.putArray("tokens");
        maps.tokens().forEach(tokens::add);
        ArrayNode attention = root.putArray("attention");
        for (float[][][] layer : maps.weights()) {
            ArrayNode batch = attention.addArray().addArray();
            for (float[][] head : layer) {
                ArrayNode headNode = batch.addArray();
                for (float[] row : head) {
                    ArrayNode rowNode = headNode.addArray();
                    for (float w : row) {
                        rowNode.add(rounded(w));
                    }
                }
            }
        }
        return root;
    }

    /** Writes the bertviz export atomically (see the class comment). */
    public static void writeBertviz(Path file, AttentionMaps maps) throws IOException {
        ObjectNode root = bertvizTree(maps);
        AtomicFiles.write(file, out -> JSON.writeValue(out, root));
    }

    static String toJson(ObjectNode node) {
        try {
            return JSON.writeValueAsString(node);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
