package gpuinfer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DevicesCommandTest {
    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void listsDevicesWithTheirPropertiesAndMarksAuto(String binding) throws Exception {
        OpenClTestSupport.device(binding);
        CliRunner text = CliRunner.run("devices", "--binding", binding);
        assertEquals(0, text.status(), text::toString);
        for (String field : new String[] {"Platform 0:", "0:0", "<- --device auto", "driver version", "compute units",
                "global memory", "local memory", "work-group", "fp16 / fp64", "float vectors", "timer"}) {
            assertTrue(text.out().contains(field), field + " missing:\n" + text);
        }
        CliRunner json = CliRunner.run("devices", "--json", "--binding", binding);
        assertEquals(0, json.status(), json::toString);
        JsonNode device = new ObjectMapper().readTree(json.out()).get("platforms").get(0).get("devices").get(0);
        for (String field : new String[] {"id", "name", "vendor", "driverVersion", "openclVersion", "computeUnits",
                "maxClockMHz", "globalMemBytes", "localMemBytes", "maxWorkGroupSize", "fp16", "fp64",
                "preferredFloatVectorWidth", "profilingTimerResolutionNs"}) {
            assertTrue(device.has(field), field + " missing: " + device);
        }
        assertTrue(device.get("auto").asBoolean());
    }
}
