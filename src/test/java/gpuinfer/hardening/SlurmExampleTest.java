package gpuinfer.hardening;

import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Slurm array example (examples/slurm/generate.sbatch) run for real: tools/slurm_test.sh starts a one-node
 * Slurm (munged, slurmctld, slurmd on localhost, 2 CPUs), submits the example as an array of 2 shards on the
 * bundled model, merges them with job merge and compares the result with a single-process run. Under CI=true it
 * must run (.ci/run installs slurm-wlm and munge; the CI machine is root); elsewhere it runs when this is root with
 * Slurm installed, and is skipped otherwise (run tools/slurm_test.sh as root instead).
 */
class SlurmExampleTest {
    @TempDir
    Path dir;

    @Test
    void theSlurmArrayExampleRunsAndItsMergedShardsEqualOneProcess() throws Exception {
        boolean root = "root".equals(System.getProperty("user.name"));
        boolean slurm = onPath("slurmctld") && onPath("munged") && onPath("sbatch");
        if (!OpenClTestSupport.inCi()) {
            Assumptions.assumeTrue(root && slurm, "needs root and Debian's slurm-wlm and munge: run tools/slurm_test.sh");
        }
        assertTrue(root, "the Slurm example test starts Slurm's daemons: CI runs it as root");
        assertTrue(slurm, "slurm-wlm and munge are not installed: .ci/run installs them");
        // the jobs run this build's classes through a launcher like bin/gpu-infer
        Path launcher = dir.resolve("gpu-infer");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cache = System.getProperty("gpuinfer.cacheDir");
        Files.writeString(launcher, "#!/bin/sh\nexec '" + java + "' " + (cache == null ? "" : "'-Dgpuinfer.cacheDir=" + cache + "' ")
                + "-cp '" + System.getProperty("java.class.path") + "' gpuinfer.cli.Main \"$@\"\n");
        Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path log = dir.resolve("slurm_test.log");
        ProcessBuilder pb = new ProcessBuilder("bash", "tools/slurm_test.sh").redirectErrorStream(true)
                .redirectOutput(log.toFile());
        pb.environment().put("GPU_INFER_CMD", launcher.toString());
        pb.environment().put("SLURM_TEST_DIR", dir.resolve("slurm").toString());
        Process p = pb.start();
        boolean done = p.waitFor(300, TimeUnit.SECONDS);
        if (!done) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        String output = Files.readString(log);
        assertTrue(done, "tools/slurm_test.sh did not finish in 300 s:\n" + output);
        assertEquals(0, p.exitValue(), output);
        assertTrue(output.contains("slurm_test: OK: 60 results from 2 Slurm array tasks, merged, equal to the "
                + "single-process run"), output);
    }

    private static boolean onPath(String command) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(dir, command))) {
                return true;
            }
        }
        return Files.isExecutable(Path.of("/usr/sbin", command));
    }
}
