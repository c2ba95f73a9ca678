package gpuinfer.hardening;

import gpuinfer.cli.Main;
import gpuinfer.tensor.Npy;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A real gpu-infer process killed during a run: no output file that looks complete, OpenCL objects released. */
class InterruptionTest {
    @TempDir
    Path dir;

    private Process start(Path out) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(java, "-Dgpuinfer.cacheDir=" + System.getProperty("gpuinfer.cacheDir", dir.toString()),
                "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                "attention", "--shape", "1,12,12,4096,4096,64", "--causal", "--impl", "flash", "--repeat", "200",
                "--out", out.toString()).redirectErrorStream(true).redirectOutput(dir.resolve("log.txt").toFile()).start();
    }

    @Test
    void sigtermStopsTheRunReleasesEverythingAndLeavesNoOutput() throws Exception {
        OpenClTestSupport.device("lwjgl");
        Path out = dir.resolve("o.npy");
        Process p = start(out);
        Thread.sleep(6000); // past start-up, inside the repeated kernel launches
        p.destroy();        // SIGTERM
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the process ended");
        String output = Files.readString(dir.resolve("log.txt"), StandardCharsets.UTF_8);
        assertTrue(output.contains("interrupted; every OpenCL object was released"), output);
        assertFalse(Files.exists(out), "no output file");
        assertTrue(leftovers().isEmpty(), "no partial files: " + leftovers());
        assertTrue(output.contains("interrupted") && !output.contains("Exception"), output);
    }

    @Test
    void sigkillAtAnyMomentNeverLeavesAnOutputThatLooksComplete() throws Exception {
        OpenClTestSupport.device("lwjgl");
        for (int attempt = 0; attempt < 3; attempt++) {
            // one folder per attempt: an earlier attempt's finished file must not count against this one
            Path attemptDir = Files.createDirectories(dir.resolve("attempt" + attempt));
            Path out = attemptDir.resolve("k.npy");
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            // a short job whose 200 MB output write can be hit by the kill
            Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                    "attention", "--shape", "1,16,16,50000,8,64", "--impl", "flash", "--out", out.toString())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("kill.log").toFile()).start();
            Thread.sleep(2000 + 700L * attempt);
            p.destroyForcibly(); // SIGKILL: no hook runs
            p.waitFor(60, TimeUnit.SECONDS);
            if (Files.exists(out)) {
                // the rename happened: the file is whole
                assertArrayEquals(new int[] {1, 16, 50000, 64}, Npy.read(out).shape());
            }
            try (Stream<Path> files = Files.list(attemptDir)) {
                for (Path f : files.toList()) {
                    assertTrue(f.equals(out) || !f.getFileName().toString().endsWith(".npy"),
                            "only the complete file or a .partial one: " + f);
                }
            }
        }
    }

    private List<Path> leftovers() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".partial")).toList();
        }
    }
}
