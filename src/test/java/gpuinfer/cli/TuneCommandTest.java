package gpuinfer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.ops.Linear;
import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import gpuinfer.tune.TuningStore;
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
            "(?m)^tuning (\\S+) on \\d+:\\d+ .+, timed on (.+); (\\d+) candidates besides the defaults, each validated first$");
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

    private static final Pattern SUMMARY = Pattern.compile("(?m)^  (\\S+)\\s+(defaults kept|(?:[A-Z_]+=\\S+ ?)+): ([0-9.]+) ms vs "
            + "([0-9.]+) ms with the defaults = ([0-9.]+)x( faster)? \\((\\d+) tried, (\\d+) rejected\\)$");

    /** Checks one search's lines against its summary line; returns the summary's (best ms, defaults ms). */
    private static double[] checkSearch(String out, Search s, List<String> defaultNames) {
        assertFalse(s.params().isEmpty(), () -> s.key() + ": no candidate lines\n" + out);
        // the defaults come first, in full, and are never rejected
        assertEquals(defaultNames, List.copyOf(s.params().get(0).keySet()), s.key() + " defaults");
        assertTrue(s.millis().get(0) > 0, () -> s.key() + " defaults' time\n" + out);
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
            double defaults = Double.parseDouble(m.group(4));
            double speedup = Double.parseDouble(m.group(5));
            assertEquals(s.params().size(), Integer.parseInt(m.group(7)), "tried");
            assertEquals(s.rejected().size(), Integer.parseInt(m.group(8)), "rejected");
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

    @Test
    void withoutDryRunTheDefaultsAndTheirEvidenceAreStoredPerDevice() throws Exception {
        OpenClTestSupport.device("lwjgl");
        String before = System.getProperty("gpuinfer.cacheDir");
        System.setProperty("gpuinfer.cacheDir", dir.toString());
        try {
            // budget 0: only the defaults are timed, so they are what is stored
            CliRunner r = CliRunner.run("tune", "--kernel", "linear-decode", "--budget", "0", "--repeat", "1",
                    "--device", device());
            assertEquals(0, r.status(), r::toString);
            Search s = searches(r.out()).get(0);
            assertEquals("linear/decode", s.key());
            assertEquals(0, s.candidates());
            assertEquals(1, s.params().size(), s::toString);
            double[] times = checkSearch(r.out(), s, Linear.Config.NAMES);
            Matcher stored = Pattern.compile("(?m)^stored in (.+)$").matcher(r.out());
            assertTrue(stored.find(), r::toString);
            Path file = Path.of(stored.group(1));
            assertTrue(file.startsWith(dir.resolve("tuning")) && Files.isRegularFile(file), file::toString);
            JsonNode entry = new ObjectMapper().readTree(file.toFile()).get("kernels").get("linear/decode");
            Map<String, String> params = new LinkedHashMap<>();
            entry.get("params").fields().forEachRemaining(e -> params.put(e.getKey(), e.getValue().asText()));
            assertEquals(s.params().get(0), params);
            JsonNode evidence = entry.get("evidence");
            assertEquals("R=1 N=8192 K=4096", evidence.get("timedShape").asText());
            assertEquals(1, evidence.get("candidates").asInt());
            assertEquals(0, evidence.get("rejected").asInt());
            assertEquals(times[0], evidence.get("bestMs").asDouble(), 0.0005 + 1e-9);
            assertEquals(times[1], evidence.get("defaultMs").asDouble(), 0.0005 + 1e-9);
        } finally {
            if (before == null) {
                System.clearProperty("gpuinfer.cacheDir");
            } else {
                System.setProperty("gpuinfer.cacheDir", before);
            }
            TuningStore.reload();
        }
    }
}
