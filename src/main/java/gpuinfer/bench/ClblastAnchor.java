package gpuinfer.bench;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import gpuinfer.cl.ClDevice;
import gpuinfer.cl.OpenClLibrary;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The CLBlast anchor of {@code bench run}: CLBlast's SGEMM (its tuned or default parameters for the device) on the
 * same OpenCL device and the same prefill shapes as gpu-infer's own linear kernel. CLBlast runs in a child JVM
 * ({@link ClblastSgemm}) that calls {@code CLBlastSgemm} from {@code libclblast.so.1} (Debian/Ubuntu:
 * {@code apt-get install libclblast1}); the child is matched to gpu-infer's device by platform and device name.
 *
 * <p>The library is looked up in the dynamic loader's directories; {@code GPU_INFER_CLBLAST_LIBRARY} (or the system
 * property {@code gpuinfer.clblast.library}) names it instead, and a name that is not an existing file means "not
 * installed" (tests use that to see the message).
 */
public final class ClblastAnchor {
    public static final String LIBRARY_PROPERTY = "gpuinfer.clblast.library";
    public static final String LIBRARY_ENV = "GPU_INFER_CLBLAST_LIBRARY";
    /** What to tell a user without the library. */
    public static final String INSTALL_HINT = "apt-get install libclblast1, or name the library with " + LIBRARY_ENV;
    /** The whole child process, every shape: CLBlast builds its kernels on the first call, which PoCL takes long over. */
    static final Duration TIMEOUT = Duration.ofMinutes(15);

    private ClblastAnchor() {
    }

    /** Where the library is, or why it is not there. */
    public record Lookup(Optional<Path> library, String problem) {
    }

    /** One shape's CLBlast figures: wall time per call, and the sampled check of its output. */
    public record Row(int rows, int outputs, int inputs, double[] runsMillis, int checked, double worstError) {
        public double medianMillis() {
            return Stats.median(runsMillis);
        }

        public boolean matches(PrefillGemm gemm) {
            return rows == gemm.rows() && outputs == gemm.outputs() && inputs == gemm.inputs();
        }

        public boolean correct() {
            return worstError <= PrefillGemm.ERROR_LIMIT;
        }
    }

    /**
     * What the child reported.
     *
     * @param library the library it loaded (the real file behind the soname when it is a link)
     * @param problem null when every shape was measured; else why some or all are missing
     */
    public record Result(String library, String device, List<Row> rows, String problem, double seconds) {
        public Optional<Row> row(PrefillGemm gemm) {
            return rows.stream().filter(r -> r.matches(gemm)).findFirst();
        }
    }

    /** The library named by the override, else the first {@code libclblast} found where the dynamic loader looks. */
    public static Lookup locate() {
        String override = System.getProperty(LIBRARY_PROPERTY, System.getenv(LIBRARY_ENV));
        if (override != null && !override.isBlank()) {
            Path named = Path.of(override.trim());
            return Files.isRegularFile(named) ? new Lookup(Optional.of(named), null)
                    : new Lookup(Optional.empty(), override.trim() + " (" + LIBRARY_ENV + ") not found");
        }
        for (Path dir : searchDirectories()) {
            for (String name : List.of("libclblast.so.1", "libclblast.so", "libclblast.dylib", "clblast.dll")) {
                Path file = dir.resolve(name);
                if (Files.isRegularFile(file)) {
                    return new Lookup(Optional.of(file), null);
                }
            }
        }
        return new Lookup(Optional.empty(), "libclblast.so.1 not found");
    }

    /** LD_LIBRARY_PATH, then the usual library directories (those of the OpenCL library first). */
    static List<Path> searchDirectories() {
        Set<Path> dirs = new LinkedHashSet<>();
        String ldPath = System.getenv("LD_LIBRARY_PATH");
        if (ldPath != null) {
            for (String entry : ldPath.split(":")) {
                if (!entry.isBlank()) {
                    dirs.add(Path.of(entry));
                }
            }
        }
        for (String candidate : OpenClLibrary.candidates()) {
            Path parent = Path.of(candidate).getParent();
            if (parent != null && Path.of(candidate).isAbsolute()) {
                dirs.add(parent);
            }
        }
        String arch = System.getProperty("os.arch", "");
        String multiarch = arch.equals("amd64") || arch.equals("x86_64") ? "x86_64-linux-gnu"
                : arch.equals("aarch64") || arch.equals("arm64") ? "aarch64-linux-gnu" : arch + "-linux-gnu";
        for (String dir : List.of("/usr/lib/" + multiarch, "/lib/" + multiarch, "/usr/local/lib", "/usr/lib64", "/usr/lib",
                "/opt/homebrew/lib", "/usr/local/opt/clblast/lib")) {
            dirs.add(Path.of(dir));
        }
        return new ArrayList<>(dirs);
    }

    /**
     * Runs CLBlast's SGEMM on every shape in a child JVM ({@link ClblastSgemm}): {@code warmup} untimed calls per
     * shape (the first builds CLBlast's kernels), then {@code runs} timed ones. Never throws for a failure of the
     * child: the result says what went wrong, with the end of its error output, and keeps the rows it reported.
     */
    public static Result run(Path library, ClDevice device, List<PrefillGemm> gemms, int warmup, int runs) {
        List<String> command = new ArrayList<>();
        String exe = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("win") ? "java.exe" : "java";
        command.add(Path.of(System.getProperty("java.home"), "bin", exe).toString());
        for (String property : List.of(OpenClLibrary.OVERRIDE_PROPERTY, "org.lwjgl.librarypath")) {
            String value = System.getProperty(property);
            if (value != null) {
                command.add("-D" + property + "=" + value);
            }
        }
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(ClblastSgemm.class.getName());
        command.add(library.toAbsolutePath().toString());
        command.add(Integer.toString(device.platform().index()));
        command.add(Integer.toString(device.index()));
        command.add(device.platform().name());
        command.add(device.name());
        command.add(Integer.toString(warmup));
        command.add(Integer.toString(runs));
        gemms.stream().map(PrefillGemm::dims).distinct().forEach(command::add);

        long start = System.nanoTime();
        List<Row> rows = new ArrayList<>();
        String loaded = library.toString();
        String childDevice = device.name();
        String problem = null;
        Process process;
        try {
            process = new ProcessBuilder(command).start();
        } catch (IOException e) {
            return new Result(loaded, childDevice, rows, "could not start " + command.get(0) + ": " + e.getMessage(), 0);
        }
        StreamTail stderr = new StreamTail(process.getErrorStream());
        stderr.start();
        ObjectMapper json = JsonMapper.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();
        java.util.concurrent.atomic.AtomicBoolean timedOut = new java.util.concurrent.atomic.AtomicBoolean();
        Thread watchdog = new Thread(() -> {
            try {
                if (!process.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                    timedOut.set(true);
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
            }
        }, "clblast-anchor-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = out.readLine()) != null; ) {
                JsonNode node = parse(json, line);
                if (node == null) {
                    continue; // a driver's stray output
                }
                if (node.has("error")) {
                    problem = node.get("error").asText();
                } else if (node.has("library")) {
                    loaded = realFile(node.get("library").asText());
                    childDevice = node.path("device").asText(childDevice);
                } else if (node.has("R") && node.has("runs_ms")) {
                    double[] ms = new double[node.get("runs_ms").size()];
                    for (int i = 0; i < ms.length; i++) {
                        ms[i] = node.get("runs_ms").get(i).asDouble();
                    }
                    rows.add(new Row(node.get("R").asInt(), node.get("N").asInt(), node.get("K").asInt(), ms,
                            node.path("checked").asInt(), node.path("worst_error").asDouble(Double.NaN)));
                }
            }
            int status = process.waitFor();
            stderr.join(5000);
            if (status != 0 && problem == null) {
                problem = timedOut.get() ? "the child process was stopped after " + TIMEOUT.toMinutes() + " minutes"
                        : "the child process exited with status " + status;
            }
            if (problem != null && !stderr.tail().isBlank()) {
                problem += "; its last error output: " + stderr.tail();
            }
        } catch (IOException e) {
            problem = "reading the child process failed: " + e.getMessage();
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            problem = "interrupted";
        } finally {
            if (process.isAlive()) {
                process.destroyForcibly();
            }
        }
        long shapes = gemms.stream().map(PrefillGemm::dims).distinct().count();
        if (problem == null && rows.size() < shapes) {
            problem = "the child process reported " + rows.size() + " of " + shapes + " shapes";
        }
        return new Result(loaded, childDevice, rows, problem, (System.nanoTime() - start) / 1e9);
    }

    private static JsonNode parse(ObjectMapper json, String line) {
        String trimmed = line.trim();
        if (!trimmed.startsWith("{")) {
            return null;
        }
        try {
            return json.readTree(trimmed);
        } catch (IOException e) {
            return null;
        }
    }

    /** The file a library link resolves to (libclblast.so.1 → libclblast.so.1.5.3 names the version). */
    private static String realFile(String path) {
        try {
            return Path.of(path).toRealPath().toString();
        } catch (IOException | RuntimeException e) {
            return path;
        }
    }

    /** Drains a stream on its own thread, keeping its last lines (the child's error output). */
    private static final class StreamTail extends Thread {
        private final InputStream in;
        private final java.util.ArrayDeque<String> lines = new java.util.ArrayDeque<>();

        StreamTail(InputStream in) {
            super("clblast-anchor-stderr");
            this.in = in;
            setDaemon(true);
        }

        @Override
        public void run() {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                for (String line; (line = r.readLine()) != null; ) {
                    synchronized (lines) {
                        lines.addLast(line);
                        if (lines.size() > 6) {
                            lines.removeFirst();
                        }
                    }
                }
            } catch (IOException ignored) {
                // the process ended; what was read is kept
            }
        }

        String tail() {
            synchronized (lines) {
                return String.join(" | ", lines).trim();
            }
        }
    }
}
