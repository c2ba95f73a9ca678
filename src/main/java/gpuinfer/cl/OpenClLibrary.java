package gpuinfer.cl;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Finds the OpenCL library (the ICD loader) for both bindings, whether it is installed as {@code libOpenCL.so} (the
 * development symlink) or only as {@code libOpenCL.so.1}, or under the usual macOS and Windows names. No symlink or
 * environment variable is needed; {@code GPU_INFER_OPENCL_LIBRARY} (or {@code -Dgpuinfer.opencl.library}) can still
 * name an unusual location, and is tried first.
 */
public final class OpenClLibrary {
    public static final String OVERRIDE_PROPERTY = "gpuinfer.opencl.library";
    public static final String OVERRIDE_ENV = "GPU_INFER_OPENCL_LIBRARY";

    private OpenClLibrary() {
    }

    /**
     * What to hand the dynamic loader, best first: the override, then every matching file found in the library
     * directories (as absolute paths), then the bare names (the loader's own search may still know a place).
     */
    public static List<String> candidates() {
        Set<String> result = new LinkedHashSet<>();
        String override = System.getProperty(OVERRIDE_PROPERTY, System.getenv(OVERRIDE_ENV));
        if (override != null && !override.isBlank()) {
            result.add(override.trim());
        }
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        List<String> names = fileNames(os);
        for (Path dir : searchDirectories(os)) {
            for (String name : names) {
                Path file = dir.resolve(name);
                if (!name.startsWith("/") && Files.isRegularFile(file)) {
                    result.add(file.toAbsolutePath().toString());
                }
            }
        }
        result.addAll(names);
        return new ArrayList<>(result);
    }

    static List<String> fileNames(String os) {
        if (os.contains("win")) {
            return List.of("OpenCL.dll");
        }
        if (os.contains("mac") || os.contains("darwin")) {
            return List.of("/System/Library/Frameworks/OpenCL.framework/OpenCL",
                    "/System/Library/Frameworks/OpenCL.framework/Versions/Current/OpenCL", "libOpenCL.dylib");
        }
        return List.of("libOpenCL.so", "libOpenCL.so.1");
    }

    /** The directories a Linux dynamic loader would search, plus the usual GPU SDK locations. */
    static List<Path> searchDirectories(String os) {
        Set<Path> dirs = new LinkedHashSet<>();
        if (os.contains("win") || os.contains("mac") || os.contains("darwin")) {
            return List.of();
        }
        String ldPath = System.getenv("LD_LIBRARY_PATH");
        if (ldPath != null) {
            for (String entry : ldPath.split(":")) {
                if (!entry.isBlank()) {
                    dirs.add(Path.of(entry));
                }
            }
        }
        readLdSoConf(Path.of("/etc/ld.so.conf"), dirs, 0);
        String arch = System.getProperty("os.arch", "");
        String multiarch = switch (arch) {
            case "amd64", "x86_64" -> "x86_64-linux-gnu";
            case "aarch64", "arm64" -> "aarch64-linux-gnu";
            default -> arch + "-linux-gnu";
        };
        for (String dir : List.of("/usr/lib/" + multiarch, "/lib/" + multiarch, "/usr/lib64", "/lib64", "/usr/lib",
                "/lib", "/usr/local/lib", "/opt/rocm/lib", "/usr/local/cuda/lib64", "/usr/lib/wsl/lib")) {
            dirs.add(Path.of(dir));
        }
        return new ArrayList<>(dirs);
    }

    /** Reads the directories of /etc/ld.so.conf, following its {@code include} globs. */
    private static void readLdSoConf(Path file, Set<Path> dirs, int depth) {
        if (depth > 4 || !Files.isReadable(file)) {
            return;
        }
        try {
            for (String raw : Files.readAllLines(file)) {
                String line = raw.replaceAll("#.*", "").trim();
                if (line.isEmpty()) {
                    continue;
                }
                if (line.startsWith("include ")) {
                    String pattern = line.substring("include ".length()).trim();
                    Path glob = Path.of(pattern);
                    Path parent = glob.getParent() != null ? glob.getParent() : file.getParent();
                    if (!Files.isDirectory(parent)) {
                        continue;
                    }
                    try (DirectoryStream<Path> included = Files.newDirectoryStream(parent, glob.getFileName().toString())) {
                        for (Path child : included) {
                            readLdSoConf(child, dirs, depth + 1);
                        }
                    }
                } else if (line.startsWith("/")) {
                    dirs.add(Path.of(line));
                }
            }
        } catch (IOException | RuntimeException e) {
            // An unreadable loader configuration only narrows the search; the bare names are still tried.
        }
    }
}
