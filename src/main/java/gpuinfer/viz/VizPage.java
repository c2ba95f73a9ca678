package gpuinfer.viz;

import com.fasterxml.jackson.databind.node.ObjectNode;
import gpuinfer.util.AtomicFiles;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * index.html: one self-contained page (its script, style and data inline; no network, opens from file://) built from
 * the resources {@code viz/page.html}, {@code viz/page.css} and {@code viz/page.js}. The data is {@link AttentionJson}'s
 * tree inside {@code <script type="application/json" id="attention-data">}; every {@code <}, {@code >}, {@code &} and
 * U+2028/U+2029 in it is written as a JSON {@code \\uXXXX} escape, so no token text ({@code </script>}, quotes,
 * {@code <!--}) can end the script element; the page puts tokens into the DOM with {@code textContent} only.
 *
 * <p>Opened with {@code ?selftest=1} the page's script performs its own interactions (choose another head, hover a
 * token on each side, open a head from the model view) and writes the results as JSON into {@code <pre id="selftest">}
 * (see page.js), which the headless-Chromium test reads.
 */
public final class VizPage {
    private VizPage() {
    }

    /** The page's HTML. */
    public static String html(AttentionMaps maps, List<HeadSummary> summary, TopTokens nextTokens) {
        ObjectNode data = AttentionJson.tree(maps, summary, nextTokens);
        String title = "attention - " + (maps.model() == null ? "" : maps.model());
        // Each marker is replaced once, in the template alone: no inserted text (a token, the script) is searched.
        String[] markers = {"{{TITLE}}", "/*{{CSS}}*/", "{{DATA}}", "/*{{JS}}*/"};
        String[] values = {escapeHtml(title), resource("page.css"), scriptSafeJson(AttentionJson.toJson(data)),
                resource("page.js")};
        String template = resource("page.html");
        StringBuilder out = new StringBuilder(template.length() + values[2].length() + 32768);
        int from = 0;
        for (int i = 0; i < markers.length; i++) {
            int at = template.indexOf(markers[i], from);
            if (at < 0) {
                throw new IllegalStateException("viz/page.html lacks " + markers[i] + " (after the previous marker)");
            }
            out.append(template, from, at).append(values[i]);
            from = at + markers[i].length();
        }
        return out.append(template, from, template.length()).toString();
    }

    /** Writes index.html atomically. */
    public static void write(Path file, AttentionMaps maps, List<HeadSummary> summary, TopTokens nextTokens)
            throws IOException {
        byte[] bytes = html(maps, summary, nextTokens).getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(file, out -> out.write(bytes));
    }

    /**
     * JSON that can sit inside a script element: {@code <}, {@code >} and {@code &} only occur inside JSON strings
     * (never as syntax), so replacing them by their escapes keeps the same value.
     */
    static String scriptSafeJson(String json) {
        StringBuilder out = new StringBuilder(json.length() + 64);
        for (int i = 0; i < json.length(); i++) {
            char c = json.charAt(i);
            switch (c) {
                case '<' -> out.append("\\u003c");
                case '>' -> out.append("\\u003e");
                case '&' -> out.append("\\u0026");
                case '\u2028' -> out.append("\\u2028");
                case '\u2029' -> out.append("\\u2029");
                default -> out.append(c);
            }
        }
        return out.toString();
    }

    static String escapeHtml(String text) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '&' -> out.append("&amp;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&#39;");
                default -> out.append(c);
            }
        }
        return out.toString();
    }

    private static String resource(String name) {
        try (InputStream in = VizPage.class.getResourceAsStream("/viz/" + name)) {
            if (in == null) {
                throw new IllegalStateException("resource /viz/" + name + " is missing from the build");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot read resource /viz/" + name, e);
        }
    }
}
