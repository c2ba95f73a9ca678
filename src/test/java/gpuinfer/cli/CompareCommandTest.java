package gpuinfer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

@ExtendWith(NoLeaks.class)
class CompareCommandTest {
    @TempDir
    Path dir;

    @Test
    void theIssueExamplesPassAndWriteAReport() throws Exception {
        OpenClTestSupport.device("lwjgl");
        Path report = dir.resolve("r.json");
        CliRunner attention = CliRunner.run("compare", "attention", "--shape", "1,8,8,512,512,64", "--causal", "--json-out", report.toString());
        assertEquals(0, attention.status(), attention::toString);
        assertTrue(attention.out().contains("PASS: all 2 tensors within tolerance"), attention::toString);
        JsonNode json = new ObjectMapper().readTree(report.toFile());
        assertTrue(json.get("passed").asBoolean());
        assertEquals("lse", json.get("tensors").get(0).get("name").asText());
        assertTrue(json.get("tensors").get(1).has("cosine"));

        CliRunner model = CliRunner.run("compare", "--prompt", "hello");
        assertEquals(0, model.status(), model::toString);
        assertTrue(model.out().contains("argmax agrees on") && model.out().contains("PASS"), model::toString);
    }

    @Test
    void aMismatchExitsWithOneAndNamesTheFirstTensor() throws Exception {
        OpenClTestSupport.device("lwjgl");
        CliRunner r = CliRunner.run("compare", "attention", "--shape", "1,2,2,20,20,16", "--b", "impl=naive", "--atol", "0", "--rtol", "0");
        assertEquals(1, r.status(), r::toString);
        assertTrue(r.out().contains("FAIL: the runs diverge first at 'scores'"), r::toString);
        // --json: the report alone on standard output, the same as --json-out writes
        Path report = dir.resolve("fail.json");
        CliRunner json = CliRunner.run("compare", "attention", "--shape", "1,2,2,20,20,16", "--b", "impl=naive",
                "--atol", "0", "--rtol", "0", "--json", "--json-out", report.toString());
        assertEquals(1, json.status(), json::toString);
        JsonNode printed = new ObjectMapper().readTree(json.out());
        assertFalse(printed.get("passed").asBoolean(), json::toString);
        assertEquals(printed, new ObjectMapper().readTree(report.toFile()));
        CliRunner bad = CliRunner.run("compare", "attention", "--shape", "1,2,2,20,20,16", "--b", "colour=red");
        assertEquals(2, bad.status(), bad::toString);
    }

    @Test
    void weightFormatsAreComparedByTheirNmse() throws Exception {
        OpenClTestSupport.device("lwjgl");
        Path report = dir.resolve("q8.json");
        CliRunner r = CliRunner.run("compare", "--prompt", "hello", "--a", "device=auto", "--b", "weights=q8_0",
                "--json-out", report.toString());
        assertEquals(0, r.status(), r::toString);
        assertTrue(r.out().contains("weights converted to Q8_0") && r.out().contains("nmse <= 1.0e-03")
                && r.out().contains("PASS: all 39 tensors within their NMSE limits"), r::toString);
        JsonNode json = new ObjectMapper().readTree(report.toFile());
        for (JsonNode t : json.get("tensors")) {
            double nmse = t.get("nmse").asDouble();
            // Q8_0's rounding is visible (an error of 0 would mean the conversion did not happen) and small
            assertTrue(nmse > 1e-8 && nmse <= 1e-3, t.toString());
        }
        CliRunner attention = CliRunner.run("compare", "attention", "--shape", "1,2,2,8,8,16", "--b", "weights=q8_0");
        assertEquals(2, attention.status(), attention::toString);
        assertTrue(attention.err().contains("attention has none"), attention::toString);
        CliRunner unknown = CliRunner.run("compare", "--prompt", "hello", "--b", "weights=q3_k");
        assertEquals(2, unknown.status(), unknown::toString);
        assertTrue(unknown.err().contains("f32, f16, bf16, q8_0, q4_0"), unknown::toString);
    }
}
