package gpuinfer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.ops.Linear;
import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import gpuinfer.testing.SystemProperty;
import gpuinfer.tune.Tuner;
import gpuinfer.tune.TuningStore;
import gpuinfer.variants.Variants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What {@code gpu-infer tune} prints: per kernel a header naming the key, device, timed shape and candidate count;
 * one line per candidate (its -D values, then a time or the reason it was rejected), the defaults first; a summary
 * whose counts and speedup agree with those lines; and where the result went. Tiny searches (a budget of 0 to 2
 * candidates, one timed run each): seconds.
 */
@ExtendWith(NoLeaks.class)
class TuneCommandTest {
    @TempDir
    Path dir;

    private static String device() {
        return System.getenv().getOrDefault("GPU_INFER_TEST_DEVICE", "auto");
    }

    /** One kernel's part of the output. */
    record Search(String key, String timedShape, int candidates, List<Map<String, String>> params, List<Double> millis,
                  List<String> rejected) {
    }

    private static final Pattern HEADER = Pattern.compile(
            "(?m)^tuning (\\S+(?: [a-z]\\S*)*) on \\d+:\\d+ .+, timed on (.+); (\\d+) candidates besides the defaults, each validated first$");
    /** "  VEC=8 MB=4 ...   12.345 ms" or "  VEC=8 ... rejected: reason" */
    private static final Pattern CANDIDATE = Pattern.compile("^  ((?:[A-Z_]+=\\S+ ?)+?)\\s+(?:([0-9.]+) ms|rejected: (.+))$");

    private static List<Search> searches(String out) {
        List<Search> all = new ArrayList<>();
        String[] lines = out.split("\\R");
        for (int i = 0; i < lines.length; i++) {
            Matcher h = HEADER.matcher(lines[i]);
            if (!h.matches()) {
                continue;
            }
            List<Map<String, String>> params = new ArrayList<>();
            List<Double> millis = new ArrayList<>();
            List<String> rejected = new ArrayList<>();
            for (int j = i + 1; j < lines.length && !lines[j].isBlank(); j++) {
                Matcher c = CANDIDATE.matcher(lines[j]);
                assertTrue(c.matches(), "not a candidate line: '" + lines[j] + "'\n" + out);
                Map<String, String> p = new LinkedHashMap<>();
                for (String kv : c.group(1).trim().split(" ")) {
                    p.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
                }
                params.add(p);
                millis.add(c.group(2) == null ? Double.NaN : Double.parseDouble(c.group(2)));
                if (c.group(3) != null) {
                    rejected.add(c.group(3));
                }
            }
            all.add(new Search(h.group(1), h.group(2), Integer.parseInt(h.group(3)), params, millis, rejected));
        }
        return all;
    }

    /**
     * "  KEY defaults kept: B ms vs D ms with the defaults = S.SSx (N tried, R rejected)", the same with PARAMS and
     * " faster", or "  KEY PARAMS: B ms; the defaults were rejected (N tried, R rejected)". Keys may hold spaces
     * ("variant/flash prefill").
     */
    private static final Pattern SUMMARY = Pattern.compile("(?m)^  (\\S+(?: [a-z]\\S*)*)\\s+(defaults kept|(?:[A-Z_]+=\\S+ ?)+): "
            + "([0-9.]+) ms(?: vs ([0-9.]+) ms with the defaults = ([0-9.]+)x( faster)?|; the defaults were rejected) "
            + "\\((\\d+) tried, (\\d+) rejected\\)$");

    /** Checks one search's lines against its summary line; returns the summary's (best ms, defaults ms). */
    private static double[] checkSearch(String out, Search s, List<String> defaultNames) {
        assertFalse(s.params().isEmpty(), () -> s.key() + ": no candidate lines\n" + out);
        // the defaults come first, in full; only a choice of kernel variant may reject them
        assertEquals(defaultNames, List.copyOf(s.params().get(0).keySet()), s.key() + " defaults");
        assertTrue(s.millis().get(0) > 0 || (s.key().startsWith("variant/") && Double.isNaN(s.millis().get(0))),
                () -> s.key() + " defaults' time\n" + out);
        // every candidate besides the defaults is listed once (one equal to the defaults is skipped)
        assertTrue(s.params().size() <= s.candidates() + 1 && s.params().size() >= s.candidates(), () -> s + "\n" + out);
        for (int i = 0; i < s.params().size(); i++) {
            assertEquals(defaultNames, List.copyOf(s.params().get(i).keySet()), "candidate " + i);
            assertTrue(Double.isNaN(s.millis().get(i)) || s.millis().get(i) >= 0, s::toString);
        }
        Matcher m = SUMMARY.matcher(out);
        while (m.find()) {
            if (!m.group(1).equals(s.key())) {
                continue;
            }
            double best = Double.parseDouble(m.group(3));
            assertEquals(s.params().size(), Integer.parseInt(m.group(7)), "tried");
            assertEquals(s.rejected().size(), Integer.parseInt(m.group(8)), "rejected");
            if (m.group(4) == null) {
                // the defaults were rejected (a target that allows it: kernel variants); the fastest accepted one won
                assertTrue(Double.isNaN(s.millis().get(0)), () -> "the defaults' line says rejected\n" + out);
                assertTrue(s.params().contains(parse(m.group(2))), "the chosen parameters were tried: " + m.group());
                int chosen = s.params().indexOf(parse(m.group(2)));
                assertFalse(Double.isNaN(s.millis().get(chosen)), "the chosen parameters were accepted: " + m.group());
                return new double[] {best, Double.NaN};
            }
            double defaults = Double.parseDouble(m.group(4));
            double speedup = Double.parseDouble(m.group(5));
            assertTrue(best > 0 && defaults > 0, m.group());
            // the speedup is the defaults' time over the best's (printed to 3 decimals and 2)
            assertEquals(defaults / best, speedup, 0.005 + 0.0005 * (1 / best + defaults / (best * best)), m.group());
            if (m.group(2).equals("defaults kept")) {
                assertEquals(best, defaults, 0.0, m.group());
                assertTrue(m.group(6) == null, m.group());
            } else {
                // a candidate replaces the defaults only when faster by more than 2 %
                assertTrue(best < defaults * 0.98 + 0.001, m.group());
                assertEquals(" faster", m.group(6));
                assertTrue(s.params().contains(parse(m.group(2))), "the chosen parameters were tried: " + m.group());
            }
            return new double[] {best, defaults};
        }
        throw new AssertionError("no summary line for " + s.key() + ":\n" + out);
    }

    private static Map<String, String> parse(String params) {
        Map<String, String> p = new LinkedHashMap<>();
        for (String kv : params.trim().split(" ")) {
            p.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
        }
        return p;
    }

    @Test
    void aDryRunOfFlashAndLinearPrefillPrintsEveryCandidateAndASummaryThatAgrees() {
        OpenClTestSupport.device("lwjgl");
        List<String> flashDefines = List.of("VEC", "WG", "QB", "NB", "CB", "KT");
        List<String> linearDefines = Linear.Config.NAMES;
        CliRunner flash = CliRunner.run("tune", "--kernel", "flash", "--head-dim", "16", "--seq", "64", "--budget", "2",
                "--repeat", "1", "--dry-run", "--device", device());
        assertEquals(0, flash.status(), flash::toString);
        List<Search> searches = searches(flash.out());
        assertEquals(1, searches.size(), flash::toString);
        Search s = searches.get(0);
        assertEquals("flash/D=16", s.key());
        assertTrue(s.timedShape().contains("64") && s.timedShape().endsWith("causal"), s.timedShape());
        assertEquals(2, s.candidates());
        checkSearch(flash.out(), s, flashDefines);
        assertTrue(flash.out().strip().endsWith("(dry run: nothing stored)"), flash::toString);

        CliRunner linear = CliRunner.run("tune", "--kernel", "linear-prefill", "--budget", "1", "--repeat", "1", "--dry-run",
                "--device", device());
        assertEquals(0, linear.status(), linear::toString);
        Search l = searches(linear.out()).get(0);
        assertEquals("linear/prefill", l.key());
        assertEquals("R=512 N=2304 K=768", l.timedShape());
        checkSearch(linear.out(), l, linearDefines);
        assertTrue(linear.out().strip().endsWith("(dry run: nothing stored)"), linear::toString);

        assertEquals(2, CliRunner.run("tune", "--kernel", "softmax", "--dry-run").status());
        assertEquals(2, CliRunner.run("tune", "--budget", "-1", "--dry-run").status());
    }

    /**
     * Float32 decode on a device that packs float32 weights once runs linear_packed with the prefill values: the
     * decode key and the decode variant point are not tuned (timing them would measure a kernel no model runs there),
     * and the command says so and stores nothing for them.
     */
    @Test
    void decodeIsNotTunedWhereFloatWeightsArePackedOnce() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeFalse(OpenClTestSupport.device("lwjgl").info().isGpu(),
                "GPUs run linear_tiled for prefill and keep their own decode kernel");
        try (SystemProperty cache = SystemProperty.set("gpuinfer.cacheDir", dir.toString())) {
            CliRunner r = CliRunner.run("tune", "--kernel", "linear-decode", "--kernels", "cpu", "--budget", "0",
                    "--repeat", "1", "--device", device());
            assertEquals(0, r.status(), r::toString);
            assertTrue(r.out().contains("not tuning linear/decode on ") && r.out().contains("float32 weights are packed "
                    + "once into panels on this device and every float32 product, decode too, runs linear_packed with "
                    + "linear/prefill's values: tune linear-prefill"), r::toString);
            assertEquals(List.of(), searches(r.out()), r::toString);
            Matcher stored = Pattern.compile("(?m)^stored in (.+)$").matcher(r.out());
            assertTrue(stored.find(), r::toString);
            assertFalse(Files.exists(Path.of(stored.group(1))) && new ObjectMapper().readTree(Path.of(stored.group(1)).toFile())
                    .path("kernels").has("linear/decode"), "nothing stored for linear/decode");
        } finally {
            TuningStore.reload();
        }
    }

    @Test
    void withoutDryRunTheDefaultsAndTheirEvidenceAreStoredPerDevice() throws Exception {
        OpenClTestSupport.device("lwjgl");
        try (SystemProperty cache = SystemProperty.set("gpuinfer.cacheDir", dir.toString())) {
            // budget 0: only the defaults are timed, so they are what is stored
            CliRunner r = CliRunner.run("tune", "--kernel", "linear-prefill", "--budget", "0", "--repeat", "1",
                    "--device", device());
            assertEquals(0, r.status(), r::toString);
            Search s = searches(r.out()).get(0);
            assertEquals("linear/prefill", s.key());
            assertEquals(0, s.candidates());
            assertEquals(1, s.params().size(), s::toString);
            double[] times = checkSearch(r.out(), s, Linear.Config.NAMES);
            Matcher stored = Pattern.compile("(?m)^stored in (.+)$").matcher(r.out());
            assertTrue(stored.find(), r::toString);
            Path file = Path.of(stored.group(1));
            assertTrue(file.startsWith(dir.resolve("tuning")) && Files.isRegularFile(file), file::toString);
            JsonNode entry = new ObjectMapper().readTree(file.toFile()).get("kernels").get("linear/prefill");
            Map<String, String> params = new LinkedHashMap<>();
            entry.get("params").fields().forEachRemaining(e -> params.put(e.getKey(), e.getValue().asText()));
            assertEquals(s.params().get(0), params);
            JsonNode evidence = entry.get("evidence");
            assertEquals("R=512 N=2304 K=768", evidence.get("timedShape").asText());
            assertEquals(1, evidence.get("candidates").asInt());
            assertEquals(0, evidence.get("rejected").asInt());
            assertEquals(times[0], evidence.get("bestMs").asDouble(), 0.0005 + 1e-9);
            assertEquals(times[1], evidence.get("defaultMs").asDouble(), 0.0005 + 1e-9);
        } finally {
            TuningStore.reload();
        }
    }

    @Test
    void variantsTimesEveryVariantOfEachDecisionPointAndStoresTheChoice() throws Exception {
        // a CPU packs float32 weights once and runs their decode through linear_packed: no float32 decode point there
        boolean packsOnce = !OpenClTestSupport.device("lwjgl").info().isGpu();
        try (SystemProperty cache = SystemProperty.set("gpuinfer.cacheDir", dir.toString())) {
            // budget 1: linear prefill tries linear_nt besides its default, not linear_tiled (seconds on a CPU runtime)
            CliRunner r = CliRunner.run("tune", "--kernel", "variants", "--seq", "64", "--head-dim", "16", "--budget", "1",
                    "--repeat", "1", "--device", device());
            assertEquals(0, r.status(), r::toString);
            List<Search> searches = searches(r.out());
            List<String> keys = new ArrayList<>(List.of("variant/flash prefill", "variant/flash decode",
                    "variant/linear prefill/f32", "variant/linear decode/f32"));
            if (packsOnce) {
                keys.remove("variant/linear decode/f32");
                assertTrue(r.out().contains("not tuning variant/linear decode/f32 on "), r::toString);
            }
            assertEquals(keys, searches.stream().map(Search::key).toList(), r::toString);
            assertEquals("B=1 H=12 Hkv=12 Sq=64 Sk=64 D=16 causal", searches.get(0).timedShape());
            assertEquals("B=1 H=12 Hkv=12 Sq=1 Sk=256 D=16 causal", searches.get(1).timedShape());
            assertEquals("R=512 N=2304 K=768", searches.get(2).timedShape());
            if (!packsOnce) {
                assertEquals("R=1 N=8192 K=4096", searches.get(3).timedShape());
            }
            Path file = Path.of(matching("(?m)^stored in (.+)$", r.out()));
            JsonNode kernels = new ObjectMapper().readTree(file.toFile()).get("kernels");
            for (Search s : searches) {
                checkSearch(r.out(), s, List.of("VARIANT"));
                assertEquals(1, s.candidates(), s::toString);
                String point = s.key().substring("variant/".length());
                List<String> variants = s.params().stream().map(p -> p.get("VARIANT")).toList();
                assertEquals(2, variants.size(), s::toString);
                assertTrue(Variants.FLASH_PREFILL.name().equals(point) || Variants.FLASH_DECODE.name().equals(point)
                        || point.startsWith("linear "), point);
                // the stored choice is the summary's: the defaults when kept, else the variant named there
                Matcher summary = Pattern.compile("(?m)^  " + Pattern.quote(s.key()) + "\\s+(defaults kept|VARIANT=(\\S+)):").matcher(r.out());
                assertTrue(summary.find(), r::toString);
                String chosen = summary.group(2) == null ? variants.get(0) : summary.group(2);
                assertEquals(chosen, kernels.get(s.key()).get("params").get("VARIANT").asText(), s.key());
                assertEquals(Map.of("VARIANT", variants.get(0)), new ObjectMapper().convertValue(
                        kernels.get(s.key()).get("evidence").get("defaults"), Map.class));
            }
        } finally {
            TuningStore.reload();
        }
    }

    @Test
    void aSummaryWithRejectedDefaultsNamesTheChoiceAndParses() {
        Tuner.Outcome wrong = new Tuner.Outcome(Tuner.Candidate.of(Map.of("VARIANT", "flash_tiled")), false,
                "wrong result: out differs", Double.NaN);
        Tuner.Outcome other = new Tuner.Outcome(Tuner.Candidate.of(Map.of("VARIANT", "flash_dsplit")), true, "", 2.5);
        Tuner.Result result = new Tuner.Result("variant/flash prefill", "B=1 H=12 Hkv=12 Sq=64 Sk=64 D=16 causal", wrong,
                other, List.of(wrong, other));
        String line = TuneCommand.summaryLine(result);
        assertEquals("  variant/flash prefill VARIANT=flash_dsplit: 2.500 ms; the defaults were rejected (2 tried, 1 rejected)", line);
        Search s = new Search(result.key(), result.timedShape(), 1, List.of(wrong.candidate().params(), other.candidate().params()),
                List.of(Double.NaN, 2.5), List.of(wrong.reason()));
        double[] times = checkSearch(line, s, List.of("VARIANT"));
        assertEquals(2.5, times[0], 0.0);
        assertTrue(Double.isNaN(times[1]));
    }

    private static String matching(String regex, String out) {
        Matcher m = Pattern.compile(regex).matcher(out);
        assertTrue(m.find(), out);
        return m.group(1);
    }
}
