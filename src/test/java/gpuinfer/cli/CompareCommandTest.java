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
import static org.junit.jupiter.api.Assertions.assertTrue;

@ExtendWith(NoLeaks.class)
class CompareCommandTest {
    @TempDir
    Path dir;

    @Test
    void theIssueExamplesPassAndWriteAReport() throws Exception {
        OpenClTestSupport.device("lwjgl");
        Path report = dir.resolve("r.json");
        CliRunner attention = CliRunner.run("compare", "attention", "--shape", "1,8,8,512,512,64", "--causal", "--report", report.toString());
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
    void aMismatchExitsWithOneAndNamesTheFirstTensor() {
        OpenClTestSupport.device("lwjgl");
        CliRunner r = CliRunner.run("compare", "attention", "--shape", "1,2,2,20,20,16", "--b", "impl=naive", "--atol", "0", "--rtol", "0");
        assertEquals(1, r.status(), r::toString);
        assertTrue(r.out().contains("FAIL: the runs diverge first at 'scores'"), r::toString);
        CliRunner bad = CliRunner.run("compare", "attention", "--shape", "1,2,2,20,20,16", "--b", "colour=red");
        assertEquals(2, bad.status(), bad::toString);
    }
}
