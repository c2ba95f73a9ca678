package gpuinfer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.tensor.Npy;
import gpuinfer.tensor.RandomTensors;
import gpuinfer.tensor.Tensor;
import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

@ExtendWith(NoLeaks.class)
class AttentionCommandTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void theIssueExamplePassesItsCheckOnBothBindings(String binding) {
        OpenClTestSupport.device(binding);
        CliRunner r = CliRunner.run("attention", "--shape", "2,8,2,77,300,64", "--causal", "--impl", "naive", "--check",
                "--binding", binding);
        assertEquals(0, r.status(), r::toString);
        assertTrue(r.out().contains("through " + binding), r::toString);
        assertTrue(r.out().contains("check      against the CPU reference") && r.out().contains("PASS"), r::toString);
    }

    @Test
    void jsonReportsShapeTimingsMemoryAndTheCheck() throws Exception {
        OpenClTestSupport.device("lwjgl");
        CliRunner r = CliRunner.run("attention", "--shape", "1,4,2,9,40,16", "--causal", "--check", "--json", "--repeat", "2");
        assertEquals(0, r.status(), r::toString);
        JsonNode json = new ObjectMapper().readTree(r.out());
        assertEquals("flash", json.get("impl").asText(), "flash is the default where OpenCL runs");
        assertEquals("flash_tiled", json.get("variant").asText());
        assertEquals(40, json.get("shape").get("Sk").asInt());
        assertEquals(2, json.get("timing").get("runs").asInt());
        assertEquals(1, json.get("timing").get("kernels").size());
        assertTrue(json.get("timing").get("kernels").get(0).get("options").asText().contains("-DHEAD_DIM=16"));
        assertTrue(json.get("check").get("lsePassed").asBoolean());
        assertTrue(json.get("deviceBytes").asLong() > 0);
        assertTrue(json.get("check").get("passed").asBoolean());
        assertTrue(json.get("check").get("maxAbsError").asDouble() < 2e-5);
    }

    @Test
    void readsNpyInputsAndWritesTheOutput() throws Exception {
        OpenClTestSupport.device("lwjgl");
        Tensor q = RandomTensors.gaussian(3, 0, 1, 2, 5, 8);
        Tensor k = RandomTensors.gaussian(3, 1, 1, 1, 6, 8);
        Npy.write(dir.resolve("q.npy"), q);
        Npy.write(dir.resolve("k.npy"), k);
        Npy.write(dir.resolve("v.npy"), k);
        Path out = dir.resolve("sub/o.npy");
        CliRunner r = CliRunner.run("attention", "--q", dir.resolve("q.npy").toString(), "--k", dir.resolve("k.npy").toString(),
                "--v", dir.resolve("v.npy").toString(), "--out", out.toString(), "--check");
        assertEquals(0, r.status(), r::toString);
        assertTrue(r.out().contains("B=1 H=2 Hkv=1 Sq=5 Sk=6 D=8"), r::toString);
        assertArrayEquals(new int[] {1, 2, 5, 8}, Npy.read(out).shape());
        CliRunner cpu = CliRunner.run("attention", "--q", dir.resolve("q.npy").toString(), "--k", dir.resolve("k.npy").toString(),
                "--v", dir.resolve("v.npy").toString(), "--impl", "cpu", "--out", dir.resolve("cpu.npy").toString());
        assertEquals(0, cpu.status(), cpu::toString);
        float[] a = Npy.read(out).data();
        float[] b = Npy.read(dir.resolve("cpu.npy")).data();
        for (int i = 0; i < a.length; i++) {
            assertEquals(b[i], a[i], 2e-5);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void theFlashDecodeExampleWithKeyPaddingPassesOnBothBindings(String binding) {
        OpenClTestSupport.device(binding);
        CliRunner r = CliRunner.run("attention", "--shape", "3,8,2,1,5000,128", "--causal", "--kv-lens", "5000,17,1",
                "--impl", "flash", "--check", "--binding", binding);
        assertEquals(0, r.status(), r::toString);
        assertTrue(r.out().contains("flash (flash_decode_split)") && r.out().contains("kv-lens [5000, 17, 1]"), r::toString);
        assertTrue(r.out().contains("lse: max abs"), r::toString);
    }

    @Test
    void kernelDefinesReachTheKernelAndAreRecorded() throws Exception {
        OpenClTestSupport.device("lwjgl");
        CliRunner r = CliRunner.run("attention", "--shape", "1,2,2,50,50,32", "--causal", "--check", "--json",
                "--kernel-define", "QB=2", "--kernel-define", "WG=4");
        assertEquals(0, r.status(), r::toString);
        String options = new ObjectMapper().readTree(r.out()).get("timing").get("kernels").get(0).get("options").asText();
        assertTrue(options.contains("-DQB=2") && options.contains("-DWG=4"), options);
        assertUsage(CliRunner.run("attention", "--shape", "1,2,2,50,50,32", "--kernel-define", "TILE=3"),
                "Unknown flash kernel define 'TILE'");
        assertUsage(CliRunner.run("attention", "--shape", "1,2,2,50,50,32", "--kernel-define", "QB=9"), "at most 8");
        assertUsage(CliRunner.run("attention", "--shape", "1,2,2,50,50,32", "--impl", "naive", "--kernel-define", "QB=2"),
                "applies to --impl flash only");
    }

    @Test
    void writesTheLogSumExp() throws Exception {
        OpenClTestSupport.device("lwjgl");
        Path lse = dir.resolve("lse.npy");
        CliRunner r = CliRunner.run("attention", "--shape", "2,3,1,4,6,8", "--causal", "--lse-out", lse.toString());
        assertEquals(0, r.status(), r::toString);
        assertArrayEquals(new int[] {2, 3, 4}, Npy.read(lse).shape());
        assertUsage(CliRunner.run("attention", "--shape", "2,3,1,4,6,8", "--kv-lens", "6"), "has 1 entries but the batch has B=2");
        assertUsage(CliRunner.run("attention", "--shape", "2,3,1,4,6,8", "--kv-lens", "6,7"), "outside 0..6");
    }

    @Test
    void aMismatchExitsWithOne() {
        OpenClTestSupport.device("lwjgl");
        // A zero tolerance cannot be met by float32 against a float64 reference.
        CliRunner r = CliRunner.run("attention", "--shape", "1,1,1,8,8,16", "--check", "--atol", "0", "--rtol", "0");
        assertEquals(1, r.status(), r::toString);
        assertTrue(r.out().contains("FAIL"), r::toString);
    }

    @Test
    void badUsageAndBadInputExitWithTwoAndSayWhy() throws Exception {
        assertUsage(CliRunner.run("attention", "--shape", "1,2,3"), "six comma-separated integers");
        assertUsage(CliRunner.run("attention", "--shape", "1,8,3,4,4,16"), "Hkv=3 does not divide H=8");
        assertUsage(CliRunner.run("attention", "--shape", "1,1,1,0,4,16"), "at least 1");
        assertUsage(CliRunner.run("attention", "--shape", "1,1,1,4,4,16", "--impl", "fast"), "Unknown --impl 'fast'");
        assertUsage(CliRunner.run("attention", "--shape", "1,1,1,4,4,16", "--binding", "cuda"), "Unknown binding 'cuda'");
        assertUsage(CliRunner.run("attention"), "Missing required");
        Path q = dir.resolve("q.npy");
        Files.writeString(q, "not numpy");
        assertUsage(CliRunner.run("attention", "--q", q.toString(), "--k", q.toString(), "--v", q.toString()),
                q + ": not a NumPy .npy file");
        Npy.write(dir.resolve("q3.npy"), Tensor.zeros(2, 5, 8));
        Npy.write(dir.resolve("k4.npy"), Tensor.zeros(1, 1, 6, 8));
        Npy.write(dir.resolve("k16.npy"), Tensor.zeros(1, 1, 6, 16));
        assertUsage(CliRunner.run("attention", "--q", dir.resolve("q3.npy").toString(), "--k", dir.resolve("k4.npy").toString(),
                "--v", dir.resolve("k4.npy").toString()), "must be 4-dimensional");
        Npy.write(dir.resolve("q4.npy"), Tensor.zeros(1, 2, 5, 8));
        assertUsage(CliRunner.run("attention", "--q", dir.resolve("q4.npy").toString(), "--k", dir.resolve("k4.npy").toString(),
                "--v", dir.resolve("k16.npy").toString()), "they must be equal");
        assertUsage(CliRunner.run("attention", "--q", dir.resolve("q4.npy").toString(), "--k", dir.resolve("k16.npy").toString(),
                "--v", dir.resolve("k16.npy").toString()), "must agree on B");
    }

    @Test
    void anUnknownDeviceExitsWithTwoAndListsTheDevices() {
        OpenClTestSupport.device("lwjgl");
        CliRunner r = CliRunner.run("attention", "--shape", "1,1,1,4,4,16", "--device", "no-such-gpu");
        assertEquals(2, r.status(), r::toString);
        assertTrue(r.err().contains("Unknown device 'no-such-gpu'") && r.err().contains("0:0"), r::toString);
    }

    @Test
    void theNaivePathRefusesAShapeItCannotHoldAndPointsToFlash() {
        OpenClTestSupport.device("lwjgl");
        CliRunner r = CliRunner.run("attention", "--shape", "1,12,12,65536,65536,64", "--causal", "--impl", "naive");
        assertEquals(3, r.status(), r::toString);
        assertTrue(r.err().contains("--impl flash") && r.err().contains("bytes"), r::toString);
        assertFalse(r.err().contains("Exception"), "no stack trace: " + r.err());
    }

    @Test
    void theCpuReferenceRunsWithoutOpenCl() {
        CliRunner r = CliRunner.run("attention", "--shape", "1,2,1,3,5,8", "--causal", "--impl", "cpu", "--check");
        assertEquals(0, r.status(), r::toString);
        assertTrue(r.out().contains("Java CPU reference"), r::toString);
        assertTrue(r.out().contains("skipped"), r::toString);
    }

    @Test
    void ringPrintsPerRankFiguresAndPassesItsCheck() throws Exception {
        OpenClTestSupport.device("lwjgl");
        CliRunner text = CliRunner.run("attention", "--shape", "2,4,2,50,50,16", "--causal", "--ring", "3", "--check",
                "--kv-lens", "50,1");
        assertEquals(0, text.status(), text::toString);
        assertTrue(text.out().contains("ring       3 ranks, zigzag layout") && text.out().contains("PASS"), text::toString);
        assertTrue(text.out().contains("rank    work (pairs)  blocks  skipped"), text::toString);
        Path lse = dir.resolve("lse.npy");
        CliRunner json = CliRunner.run("attention", "--shape", "1,2,2,64,64,16", "--causal", "--ring", "4",
                "--ring-layout", "contiguous", "--ring-ranks", "contexts", "--check", "--json", "--lse-out", lse.toString());
        assertEquals(0, json.status(), json::toString);
        JsonNode ring = new ObjectMapper().readTree(json.out()).get("ring");
        assertEquals("contiguous", ring.get("layout").asText());
        assertEquals(4, ring.get("contexts").asInt());
        assertEquals(4, ring.get("perRank").size());
        assertEquals(3, ring.get("perRank").get(0).get("skipped").asInt());
        assertTrue(ring.get("workImbalance").asDouble() > 3, ring::toString);
        long work = 0;
        for (JsonNode r : ring.get("perRank")) {
            work += r.get("work").asLong();
            assertTrue(r.get("deviceBytes").asLong() > 0);
        }
        assertEquals(2L * 64 * 65 / 2, work, "every visible pair once");
        assertArrayEquals(new int[] {1, 2, 64}, Npy.read(lse).shape());
        // ranks on sub-devices of the test device (PoCL splits its compute units), one context each
        CliRunner sub = CliRunner.run("attention", "--shape", "1,4,2,70,70,32", "--causal", "--ring", "2",
                "--ring-ranks", "subdevices", "--check", "--json");
        assertEquals(0, sub.status(), sub::toString);
        JsonNode subRing = new ObjectMapper().readTree(sub.out()).get("ring");
        assertEquals(2, subRing.get("contexts").asInt(), subRing::toString);
        assertTrue(sub.out().contains("\"passed\":true") || sub.out().contains("\"passed\" : true"), sub::toString);
        assertUsage(CliRunner.run("attention", "--shape", "1,1,1,64,64,16", "--ring", "64", "--ring-ranks", "subdevices"),
                "CL_DEVICE_PARTITION_MAX_SUB_DEVICES");
        assertUsage(CliRunner.run("attention", "--shape", "1,1,1,4,4,16", "--ring", "2", "--ring-ranks", "gpus"),
                "Unknown --ring-ranks 'gpus'");
        assertUsage(CliRunner.run("attention", "--shape", "1,1,1,4,4,16", "--ring", "0"), "--ring must be at least 1");
        // ranks on listed devices (the test device twice: a context each)
        String id = OpenClTestSupport.device("lwjgl").id();
        CliRunner listed = CliRunner.run("attention", "--shape", "1,2,2,40,40,16", "--causal", "--ring", "2",
                "--ring-devices", id + "," + id, "--check", "--json");
        assertEquals(0, listed.status(), listed::toString);
        assertEquals(2, new ObjectMapper().readTree(listed.out()).get("ring").get("contexts").asInt(), listed::toString);
        assertUsage(CliRunner.run("attention", "--shape", "1,1,1,4,4,16", "--ring", "3", "--ring-devices", id + "," + id),
                "lists 2 devices but the ring has 3 ranks");
        assertUsage(CliRunner.run("attention", "--shape", "1,1,1,4,4,16", "--ring-devices", id), "need --ring N");
        assertUsage(CliRunner.run("attention", "--shape", "1,1,1,4,4,16", "--ring", "2", "--impl", "naive"),
                "cannot be combined with --impl naive");
        assertUsage(CliRunner.run("attention", "--shape", "1,1,1,4,8,16", "--causal", "--ring", "2"), "needs Sq = Sk");
        assertUsage(CliRunner.run("attention", "--shape", "1,1,1,3,3,16", "--ring", "2", "--ring-layout", "zigzag"),
                "each chunk needs at least one position");
        assertUsage(CliRunner.run("attention", "--shape", "1,1,1,4,4,16", "--ring", "2", "--ring-layout", "diagonal"),
                "must be zigzag or contiguous");
        assertUsage(CliRunner.run("attention", "--shape", "1,1,1,4,4,16", "--ring", "2", "--ring-memory", "tiny"),
                "must be overlap");
        assertUsage(CliRunner.run("attention", "--shape", "1,1,1,4,4,16", "--ring-memory", "low"),
                "--ring-memory need --ring N");
    }

    @Test
    void lowMemoryRingHoldsOneKeyValueSlotPerRankAndIsExact() throws Exception {
        CliRunner low = CliRunner.run("attention", "--shape", "1,4,2,96,96,16", "--causal", "--ring", "2",
                "--ring-memory", "low", "--check");
        assertEquals(0, low.status(), low::toString);
        assertTrue(low.out().contains("(low memory)") && low.out().contains("between steps, after compute")
                && low.out().contains("PASS"), low::toString);
        JsonNode overlap = ringJson("overlap");
        JsonNode lowJson = ringJson("low");
        assertEquals("host-staged (one slot)", lowJson.get("transfer").asText(), lowJson::toString);
        assertFalse(lowJson.get("overlap").asBoolean());
        long single = lowJson.get("singleDeviceBytes").asLong();
        // q + out + one K/V slot: (1/2 + 1/2 + 1) / 4 of the single-device q, k, v, out; overlap: a second slot
        double lowShare = lowJson.get("maxRankBytes").asDouble() / single;
        double overlapShare = overlap.get("maxRankBytes").asDouble() / single;
        assertTrue(Math.abs(lowShare - 2.0 / 4) < 0.01, "low: " + lowShare);
        assertTrue(Math.abs(overlapShare - 3.0 / 4) < 0.01, "overlap: " + overlapShare);
    }

    private static JsonNode ringJson(String memory) throws Exception {
        CliRunner r = CliRunner.run("attention", "--shape", "1,4,4,512,512,16", "--causal", "--ring", "2",
                "--ring-memory", memory, "--json");
        assertEquals(0, r.status(), r::toString);
        return new ObjectMapper().readTree(r.out()).get("ring");
    }

    private static void assertUsage(CliRunner r, String fragment) {
        assertEquals(2, r.status(), r::toString);
        assertTrue(r.err().contains(fragment), "'" + fragment + "' missing:\n" + r);
        assertFalse(r.err().contains("\tat "), "no stack trace:\n" + r);
    }
}
