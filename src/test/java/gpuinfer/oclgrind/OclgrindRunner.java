package gpuinfer.oclgrind;

import gpuinfer.cl.SignalChaining;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@link Check}s in child JVMs on Oclgrind. The test JVM cannot host Oclgrind itself: its ICD loader has already
 * read the installed vendors (PoCL). A child sees only Oclgrind ({@code OCL_ICD_VENDORS} names a folder that holds
 * only {@code oclgrind.icd}) with its checks on: API errors ({@code OCLGRIND_CHECK_API=1}) and data races
 * ({@code OCLGRIND_DATA_RACES=1}) besides the memory checks that are always on. Each child has its own program cache
 * in a temporary folder (nothing shared with the PoCL tests or another child), runs from the test JVM's class path
 * (no packaging) and preloads libjsig as the launcher does.
 *
 * <p>Oclgrind's uninitialised-value plugin ({@code OCLGRIND_UNINITIALIZED=1}) stays off: Oclgrind 21.10 (Debian 12)
 * cannot simulate LLVM 14's {@code freeze} instruction under it (OCLGRIND FATAL ERROR, "Unsupported instruction:
 * freeze", in the heads kernel) and then computes wrong results.
 */
final class OclgrindRunner {
    /** Where Debian's and Ubuntu's oclgrind package installs the ICD library. */
    static final Path DEBIAN_ICD = Path.of("/usr/lib/oclgrind/liboclgrind-rt-icd.so");
    /** The environment variable that names the library elsewhere (as tools/oclgrind_check.sh has it). */
    static final String ICD_ENV = "OCLGRIND_ICD";
    /** Children at a time: one per core of the 2-core CI machine (each simulates on one thread). */
    static final int PARALLEL = 2;
    /** A child that runs longer than this has hung (the longest takes under a minute alone). */
    static final Duration CHILD_TIMEOUT = Duration.ofMinutes(10);

    /** Diagnostic lines a failure shows per check (Oclgrind repeats a fault for every work-item that makes it). */
    static final int SHOWN_DIAGNOSTICS = 60;

    private final Path vendors;
    private final Path work;

    /** @param work an empty folder for the vendors file, the children's output and their program caches */
    OclgrindRunner(Path icdLibrary, Path work) {
        this.work = work;
        this.vendors = work.resolve("vendors");
        try {
            Files.createDirectories(vendors);
            Files.writeString(vendors.resolve("oclgrind.icd"), icdLibrary + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Where Oclgrind's ICD library should be: {@code $OCLGRIND_ICD} if set, else Debian's path. */
    static Path icdLibrary() {
        String env = System.getenv(ICD_ENV);
        return env != null && !env.isBlank() ? Path.of(env) : DEBIAN_ICD;
    }

    /** The result of one child: its exit status, everything it printed (stdout and stderr interleaved) and its time. */
    record ChildRun(Check check, int exitStatus, boolean timedOut, List<String> output, double seconds) {
        /** Oclgrind's diagnostics in the output (see {@link OclgrindDiagnostics}). */
        List<String> diagnostics() {
            return OclgrindDiagnostics.find(output);
        }

        /** The device line the child printed, or empty when it printed none (it failed before OpenCL started). */
        Optional<String> device() {
            String start = OclgrindChild.PREFIX + OclgrindChild.DEVICE;
            return output.stream().filter(l -> l.startsWith(start)).map(l -> l.substring(start.length())).findFirst();
        }

        /** Why this child fails the stage; empty when it passed. */
        List<String> problems() {
            List<String> problems = new ArrayList<>();
            if (timedOut) {
                problems.add("did not finish within " + CHILD_TIMEOUT.toMinutes() + " minutes (killed)");
            } else if (exitStatus != 0) {
                problems.add("exit status " + exitStatus + " (a result differs from the CPU reference, or it failed)");
            }
            if (device().isEmpty()) {
                problems.add("printed no device line: it never reached OpenCL");
            } else if (!device().get().contains("Oclgrind")) {
                problems.add("ran on " + device().get() + ", not on Oclgrind");
            }
            List<String> diagnostics = diagnostics();
            if (!diagnostics.isEmpty()) {
                List<String> shown = diagnostics.subList(0, Math.min(diagnostics.size(), SHOWN_DIAGNOSTICS));
                problems.add(diagnostics.size() + " line(s) of Oclgrind diagnostics:\n    " + String.join("\n    ", shown)
                        + (shown.size() < diagnostics.size() ? "\n    ... and " + (diagnostics.size() - shown.size())
                        + " more lines" : ""));
            }
            return problems;
        }

        /** The last {@code lines} lines of the output, for a failure whose cause is not a diagnostic. */
        String tail(int lines) {
            return String.join("\n", output.subList(Math.max(0, output.size() - lines), output.size()));
        }
    }

    /** Runs every check, {@link #PARALLEL} at a time, in the order given; the results in that order. */
    List<ChildRun> runAll(List<Check> checks) {
        ExecutorService pool = Executors.newFixedThreadPool(PARALLEL);
        try {
            List<Future<ChildRun>> futures = new ArrayList<>();
            for (int i = 0; i < checks.size(); i++) {
                Check check = checks.get(i);
                int index = i;
                futures.add(pool.submit(() -> run(check, index)));
            }
            List<ChildRun> runs = new ArrayList<>();
            for (Future<ChildRun> future : futures) {
                runs.add(future.get());
            }
            return runs;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while the Oclgrind checks ran", e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("an Oclgrind check could not be run: " + e.getCause(), e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }

    /** Runs one check in a child JVM and waits for it. */
    ChildRun run(Check check, int index) throws IOException, InterruptedException {
        Path log = work.resolve("child-" + index + ".log");
        Path cache = work.resolve("cache-" + index);
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx1g", "-XX:+UseSerialGC",
                "-Dgpuinfer.cacheDir=" + cache,
                "-Dgpuinfer.kernels=" + check.family().label()));
        command.addAll(check.jvmOptions());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), OclgrindChild.class.getName(), check.name()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = builder.environment();
        // Oclgrind's settings come from here alone: an inherited OCLGRIND_LOG would send its reports to a file
        env.keySet().removeIf(name -> name.startsWith("OCLGRIND_") || name.equals("OCL_ICD_FILENAMES"));
        env.put("OCL_ICD_VENDORS", vendors.toString());
        env.put("OCLGRIND_CHECK_API", "1");
        env.put("OCLGRIND_DATA_RACES", "1");
        env.put("OCLGRIND_NUM_THREADS", "1");
        env.put("GPU_INFER_KERNELS", check.family().label());
        // the automatic first-use self-test would repeat in every child (tens of seconds under Oclgrind): the
        // "device self-test" check runs it once, on demand
        env.put("GPU_INFER_SELFTEST", "0");
        if (Files.isRegularFile(SignalChaining.library())) {
            env.put("LD_PRELOAD", SignalChaining.library().toString());
        }
        long start = System.nanoTime();
        Process process = builder.start();
        boolean finished = process.waitFor(CHILD_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        if (!finished) {
            process.destroyForcibly().waitFor();
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        // decoded leniently: generated text may end inside a UTF-8 sequence
        List<String> output = new String(Files.readAllBytes(log), StandardCharsets.UTF_8).lines().toList();
        return new ChildRun(check, finished ? process.exitValue() : -1, !finished, output, seconds);
    }
}
