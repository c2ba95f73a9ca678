package gpuinfer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.selftest.DeviceSelfTest;
import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import gpuinfer.variants.Variants.Point;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code gpu-infer selftest}: a table (or JSON) with one row per kernel variant, each with its shapes, max abs error,
 * NMSE, verdict and time; the choice each decision point makes; the results stored for later runs.
 */
@ExtendWith(NoLeaks.class)
class SelftestCommandTest {
    @Test
    void printsEveryVariantAsATableAndStoresTheResults() throws Exception {
        OpenClTestSupport.device("lwjgl");
        CliRunner r = CliRunner.run("selftest", "--kernels", "gpu");
        assertEquals(ExitCodes.OK, r.status(), r::toString);
        assertTrue(r.out().startsWith("self-test of " + DeviceSelfTest.count() + " kernel variants on "), r::toString);
        assertTrue(r.out().contains("GPU-shaped kernels preferred (--kernels gpu)"), r::toString);
        String header = r.out().lines().filter(l -> l.startsWith("variant")).findFirst().orElseThrow();
        for (String column : new String[] {"result", "max abs err", "NMSE", "time", "shapes"}) {
            assertTrue(header.contains(column), header);
        }
        List<String> names = new ArrayList<>();
        DeviceSelfTest.points().forEach(p -> names.addAll(p.gpuOrder()));
        names.addAll(DeviceSelfTest.singleKernelOps());
        for (String name : names) {
            String row = r.out().lines().filter(l -> l.startsWith(name + " ")).findFirst()
                    .orElseThrow(() -> new AssertionError("no row for " + name + ":\n" + r));
            assertTrue(row.matches(java.util.regex.Pattern.quote(name) + " +(passed|not run) .* ms  .+"), row);
        }
        // rows in the order --kernels gpu prefers: each point's GPU-shaped variant first
        List<String> rows = r.out().lines().map(l -> l.split(" ")[0]).filter(names::contains).toList();
        assertEquals(names, rows);
        assertTrue(r.out().contains(DeviceSelfTest.count() + " variants in "), r::toString);
        assertTrue(r.out().contains(" 0 failed"), r::toString);
        assertTrue(r.out().contains("the ops will use (--kernels gpu):"), r::toString);
        for (Point point : DeviceSelfTest.points()) {
            assertTrue(r.out().lines().anyMatch(l -> l.matches("  " + point.name() + " +\\S+")), point.name() + ":\n" + r);
        }
        String stored = r.out().lines().filter(l -> l.startsWith("results stored in ")).findFirst().orElseThrow()
                .substring("results stored in ".length()).replaceAll(" \\(used by .*\\)$", "");
        assertTrue(Files.readString(Path.of(stored)).lines().anyMatch(l -> l.startsWith("flash_tiled\t")), stored);
    }

    @Test
    void printsTheSameAsJson() throws Exception {
        OpenClTestSupport.device("jocl");
        CliRunner r = CliRunner.run("selftest", "--json", "--binding", "jocl", "--kernels", "cpu");
        assertEquals(ExitCodes.OK, r.status(), r::toString);
        JsonNode root = new ObjectMapper().readTree(r.out());
        assertEquals("cpu", root.get("kernels").asText());
        assertTrue(root.get("device").has("driverVersion"));
        assertTrue(root.get("kernelSources").asText().matches("[0-9a-f]{64}"));
        JsonNode variants = root.get("variants");
        assertEquals(DeviceSelfTest.count(), variants.size());
        for (JsonNode v : variants) {
            for (String field : new String[] {"variant", "point", "status", "passed", "shapes", "maxAbsError", "nmse",
                    "tolerance", "millis", "detail"}) {
                assertTrue(v.has(field), field + " missing: " + v);
            }
            assertTrue(v.get("status").asText().matches("passed|not run|not_run"), v.toString());
            if (v.get("passed").asBoolean()) {
                assertTrue(v.get("maxAbsError").asDouble() < 1e-4 && v.get("nmse").asDouble() < 1e-10, v.toString());
            }
        }
        assertEquals("linear_rows/f32", variants.get(0).get("variant").asText(), "the CPU order: linear_rows first");
        assertEquals(0, root.get("failed").asInt());
        assertEquals(DeviceSelfTest.points().size(), root.get("uses").size());
        assertEquals("flash_tiled", root.get("uses").get("flash prefill").asText());
    }

    @Test
    void anUnknownDeviceIsAUsageError() {
        CliRunner r = CliRunner.run("selftest", "--device", "no-such-device");
        assertEquals(ExitCodes.USAGE, r.status(), r::toString);
        assertTrue(r.err().contains("no-such-device"), r::toString);
    }
}
