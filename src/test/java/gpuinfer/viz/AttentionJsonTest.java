package gpuinfer.viz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AttentionJsonTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void attentionJsonHoldsTokensRowsWeightsAndSummary(@TempDir Path dir) throws Exception {
        AttentionMaps maps = SyntheticMaps.maps(new int[]{2, 5, 11});
        Path file = dir.resolve("attention.json");
        AttentionJson.write(file, maps, SyntheticMaps.summary(), SyntheticMaps.nextTokens());
        JsonNode root = JSON.readTree(file.toFile());
        assertEquals(AttentionJson.FORMAT, root.get("format").asText());
        assertEquals(SyntheticMaps.TOKENS.get(3), root.get("tokens").get(3).asText());
        assertEquals(103, root.get("tokenIds").get(3).asInt());
        assertEquals("[2,5,11]", root.get("rows").toString());
        JsonNode weights = root.get("weights");
        assertEquals(2, weights.size());
        assertEquals(3, weights.get(0).size());
        assertEquals(3, weights.get(0).get(0).size());
        assertEquals(12, weights.get(0).get(0).get(0).size());
        assertEquals(1.0, weights.get(0).get(0).get(1).get(4).asDouble(), "row 5 of the previous-token head is at 4");
        assertEquals(1.0 / 12, weights.get(0).get(2).get(2).get(7).asDouble(), 1e-5, "uniform row 11");
        assertEquals(6, root.get("summary").size());
        assertTrue(root.get("summary").get(0).get("inductionScore").isNull(), "NaN is written as null");
        assertEquals(0.4, root.get("summary").get(3).get("inductionScore").asDouble());
        assertEquals("</script>", root.get("nextTokens").get("before").get(1).get("token").asText());
        try (var listing = Files.list(dir)) {
            assertEquals(1, listing.count(), "no temporary file left");
        }
    }

    @Test
    void bertvizExportHasLayerBatchHeadQueryKeyLayout(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("bertviz.json");
        AttentionJson.writeBertviz(file, SyntheticMaps.allRows());
        JsonNode root = JSON.readTree(file.toFile());
        assertEquals(2, root.size());
        assertEquals(12, root.get("tokens").size());
        JsonNode attention = root.get("attention");
        assertEquals(2, attention.size(), "layers");
        assertEquals(1, attention.get(0).size(), "batch");
        assertEquals(3, attention.get(0).get(0).size(), "heads");
        assertEquals(12, attention.get(1).get(0).get(2).size(), "queries");
        assertEquals(12, attention.get(1).get(0).get(2).get(5).size(), "keys");
        assertEquals(1.0, attention.get(1).get(0).get(0).get(5).get(5).asDouble(), "layer 1 head 0 is a self head");
        for (JsonNode row : attention.get(0).get(0).get(2)) {
            double sum = 0;
            for (JsonNode w : row) {
                sum += w.asDouble();
            }
            assertEquals(1.0, sum, 1e-4, "rows sum to 1");
        }
    }

    @Test
    void bertvizRefusesPartialRowsAndNamesRowsAll(@TempDir Path dir) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AttentionJson.writeBertviz(dir.resolve("b.json"), SyntheticMaps.maps(new int[]{0, 11})));
        assertTrue(e.getMessage().contains("--rows all"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("b.json")));
    }

    @Test
    void pageInlinesEverythingAndNoTokenCanEndTheScript(@TempDir Path dir) throws Exception {
        Path page = dir.resolve("index.html");
        VizPage.write(page, SyntheticMaps.allRows(), SyntheticMaps.summary(), null);
        String html = Files.readString(page);
        assertFalse(html.contains("{{"), "every marker replaced");
        assertFalse(html.matches("(?s).*(src|href)=\"(https?:)?//.*"), "nothing loaded from the network");
        // exactly the page's own two script elements end; tokens' "</script>" and "<!--" are escaped
        assertEquals(2, html.split("</script>", -1).length - 1);
        assertFalse(html.contains("<!--"));
        assertTrue(html.contains("<title>attention - models/synthetic&lt;&amp;&gt;.gguf</title>"));
        Matcher m = Pattern.compile("<script type=\"application/json\" id=\"attention-data\">(.*?)</script>",
                Pattern.DOTALL).matcher(html);
        assertTrue(m.find());
        JsonNode data = JSON.readTree(m.group(1));
        for (int i = 0; i < SyntheticMaps.TOKENS.size(); i++) {
            assertEquals(SyntheticMaps.TOKENS.get(i), data.get("tokens").get(i).asText(), "token " + i + " round-trips");
        }
        assertEquals("\"\\u003c/script\\u003e \\u2028\"", VizPage.scriptSafeJson("\"</script> \u2028\""));
    }
}
