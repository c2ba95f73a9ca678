package gpuinfer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

@ExtendWith(NoLeaks.class)
class ProfileCommandTest {
    @TempDir
    Path dir;

    @Test
    void aGenerationProfileWritesATraceWithOneEventPerLaunchAndConsistentFigures() throws Exception {
        OpenClTestSupport.device("lwjgl");
        Path trace = dir.resolve("t.json");
        Path csv = dir.resolve("k.csv");
        Path roofline = dir.resolve("r.svg");
        CliRunner r = CliRunner.run("profile", "run", "--prompt", "hello", "--max-tokens", "5", "--trace", trace.toString(),
                "--csv", csv.toString(), "--roofline", roofline.toString());
        assertEquals(0, r.status(), r::toString);

        // the trace: one complete kernel event per launch, on the device track
        JsonNode events = new ObjectMapper().readTree(trace.toFile()).get("traceEvents");
        long kernelEvents = 0;
        for (JsonNode e : events) {
            if (e.path("cat").asText().equals("kernel")) {
                kernelEvents++;
                assertEquals("X", e.get("ph").asText());
                assertTrue(e.get("dur").asDouble() >= 0 && e.get("ts").asDouble() >= 0);
            }
        }
        Matcher launches = Pattern.compile("trace: .* \\((\\d+) kernel launches").matcher(r.out());
        assertTrue(launches.find(), r::toString);
        assertEquals(Long.parseLong(launches.group(1)), kernelEvents);
        // prefill + 4 decode steps of a 4-layer model: at least 9 launches per layer per step
        assertTrue(kernelEvents >= 5 * 4 * 9, "launches: " + kernelEvents);

        // the figures: summed kernel time <= wall time; shares add up to 100 %
        Matcher wall = Pattern.compile("wall ([0-9.]+) ms, kernels ([0-9.]+) ms").matcher(r.out());
        assertTrue(wall.find(), r::toString);
        assertTrue(Double.parseDouble(wall.group(2)) <= Double.parseDouble(wall.group(1)), r::toString);
        List<String> rows = Files.readAllLines(csv);
        double shares = rows.stream().skip(1).mapToDouble(line -> Double.parseDouble(line.split(",(?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)")[9])).sum();
        // each share is printed to 6 decimals, so each row may be off by half a unit in the last place
        assertEquals(1.0, shares, 0.5e-6 * (rows.size() - 1) + 1e-12, "shares of " + (rows.size() - 1) + " rows");
        String svg = Files.readString(roofline);
        assertTrue(svg.startsWith("<svg") && svg.contains("GFLOP/s (FMA)") && svg.contains("linear_"), svg);
    }

    @Test
    void anAttentionSweepProfilesEveryCombination() {
        OpenClTestSupport.device("lwjgl");
        CliRunner r = CliRunner.run("profile", "attention", "--shape", "1,2,2,64,64,32", "--causal", "--repeat", "2",
                "--sweep", "S=64,96", "--sweep", "D=32,64");
        assertEquals(0, r.status(), r::toString);
        for (String label : List.of("S=64 D=32", "S=64 D=64", "S=96 D=32", "S=96 D=64")) {
            assertTrue(r.out().contains(label), label + " missing:\n" + r);
        }
        assertEquals(2, CliRunner.run("profile", "attention", "--shape", "1,2,2,64,64,32", "--sweep", "X=1").status());
    }
}
