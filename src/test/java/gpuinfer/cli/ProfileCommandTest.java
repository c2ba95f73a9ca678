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

    /**
     * profile attention --ring: every rank's kernels and transfers on one timeline, a process per rank with a compute
     * and a transfer track, spans on each track that do not overlap, and each rank's peak memory in the text and the
     * trace; in both memory modes and on separate contexts.
     */
    @Test
    void aRingProfileTracesEveryRanksComputeAndTransfersOnOneTimeline() throws Exception {
        OpenClTestSupport.device("lwjgl");
        for (List<String> extra : List.of(List.of("--ring-memory", "overlap"), List.of("--ring-memory", "low"),
                List.of("--ring-ranks", "contexts", "--ring-layout", "contiguous"))) {
            Path trace = dir.resolve("ring.json");
            List<String> args = new java.util.ArrayList<>(List.of("profile", "attention", "--shape", "1,2,2,96,96,16",
                    "--causal", "--ring", "3", "--repeat", "2", "--trace", trace.toString()));
            args.addAll(extra);
            CliRunner r = CliRunner.run(args.toArray(String[]::new));
            assertEquals(0, r.status(), r::toString);
            assertTrue(r.out().contains("flash_attention_tiled"), r::toString);
            assertTrue(r.out().contains("peak memory") && r.out().contains("peak device memory per rank at most"), r::toString);
            Matcher row = Pattern.compile("(?m)^ {3}([0-2])  .* (\\d+\\.\\d+ KiB)$").matcher(r.out());
            int rows = 0;
            while (row.find()) {
                rows++;
            }
            assertEquals(3, rows, "a row per rank with its peak memory:\n" + r);

            JsonNode events = new ObjectMapper().readTree(trace.toFile()).get("traceEvents");
            java.util.Map<String, List<double[]>> tracks = new java.util.TreeMap<>();
            java.util.Set<Integer> named = new java.util.HashSet<>();
            int memoryCounters = 0;
            for (JsonNode e : events) {
                String ph = e.path("ph").asText();
                if (ph.equals("M") && e.path("name").asText().equals("process_labels")) {
                    assertTrue(e.path("args").path("labels").asText().startsWith("peak device memory"), e::toString);
                    named.add(e.path("pid").asInt());
                } else if (ph.equals("C")) {
                    assertTrue(e.path("args").path("bytes").asLong() > 0, e::toString);
                    memoryCounters++;
                } else if (ph.equals("X")) {
                    String track = e.path("pid").asInt() + "/" + e.path("tid").asInt() + "/" + e.path("cat").asText();
                    tracks.computeIfAbsent(track, t -> new java.util.ArrayList<>())
                            .add(new double[] {e.path("ts").asDouble(), e.path("dur").asDouble()});
                    assertTrue(e.path("ts").asDouble() >= 0 && e.path("dur").asDouble() >= 0, e::toString);
                }
            }
            assertEquals(java.util.Set.of(0, 1, 2), named, r::toString);
            assertEquals(3, memoryCounters);
            // every rank has kernels on its compute track (tid 1) and transfers on its transfer track (tid 2)
            assertEquals(java.util.Set.of("0/1/kernel", "0/2/transfer", "1/1/kernel", "1/2/transfer", "2/1/kernel",
                    "2/2/transfer"), tracks.keySet(), tracks.keySet()::toString);
            for (var track : tracks.entrySet()) {
                List<double[]> spans = track.getValue();
                spans.sort(java.util.Comparator.comparingDouble(x -> x[0]));
                for (int i = 1; i < spans.size(); i++) {
                    double end = spans.get(i - 1)[0] + spans.get(i - 1)[1];
                    // a microsecond of slack: times are rounded to nanoseconds, then written in microseconds
                    assertTrue(spans.get(i)[0] >= end - 1e-3, track.getKey() + " overlaps at span " + i + ": " + end
                            + " > " + spans.get(i)[0]);
                }
            }
            // 2 recorded runs, 2 of 3 steps moving each rank's k and v chunks (zigzag: 2 chunks; contiguous: 1);
            // low memory: a read and a write each
            long transfers = tracks.entrySet().stream().filter(t -> t.getKey().endsWith("transfer"))
                    .mapToLong(t -> t.getValue().size()).sum();
            int chunks = extra.contains("contiguous") ? 1 : 2;
            assertEquals(2L * 2 * 3 * 2 * chunks * (extra.contains("low") ? 2 : 1), transfers, r::toString);
        }
        assertEquals(2, CliRunner.run("profile", "attention", "--shape", "1,2,2,64,64,32", "--ring", "2", "--sweep",
                "S=64,96").status());
        assertEquals(2, CliRunner.run("profile", "attention", "--shape", "1,2,2,64,64,32", "--ring-memory", "low").status());
    }
}
