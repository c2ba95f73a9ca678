package gpuinfer.selftest;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Enumeration;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * The SHA-256 of every OpenCL source gpu-infer carries ({@code kernels/*.cl} and {@code kernels/*.h} on the class
 * path: the jar, or {@code target/classes} in a development build), names and contents in name order. It keys the
 * self-test's results, so that a changed kernel is tested again.
 */
final class KernelSourcesHash {
    private static volatile String current;

    private KernelSourcesHash() {
    }

    /** The hash of the kernels on the class path, computed once per process. */
    static String current() {
        String hash = current;
        if (hash == null) {
            hash = of(read());
            current = hash;
        }
        return hash;
    }

    /** The hash of sources by file name. */
    static String of(Map<String, byte[]> sources) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            for (Map.Entry<String, byte[]> e : new TreeMap<>(sources).entrySet()) {
                digest.update(e.getKey().getBytes(StandardCharsets.UTF_8));
                digest.update((byte) 0);
                digest.update(Long.toString(e.getValue().length).getBytes(StandardCharsets.US_ASCII));
                digest.update((byte) 0);
                digest.update(e.getValue());
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Every kernels/*.cl and kernels/*.h resource by file name. */
    private static Map<String, byte[]> read() {
        URL folder = KernelSourcesHash.class.getResource("/kernels/");
        if (folder == null) {
            throw new IllegalStateException("the kernel sources (kernels/) are not on the class path: the jar is "
                    + "incomplete; rebuild it with 'mvn package'");
        }
        Map<String, byte[]> sources = new TreeMap<>();
        try {
            if (folder.getProtocol().equals("jar")) {
                JarURLConnection connection = (JarURLConnection) folder.openConnection();
                connection.setUseCaches(false);
                try (JarFile jar = connection.getJarFile()) {
                    for (Enumeration<JarEntry> entries = jar.entries(); entries.hasMoreElements(); ) {
                        JarEntry entry = entries.nextElement();
                        String name = entry.getName();
                        if (name.startsWith("kernels/") && name.indexOf('/', 8) < 0 && isSource(name)) {
                            try (InputStream in = jar.getInputStream(entry)) {
                                sources.put(name.substring(8), in.readAllBytes());
                            }
                        }
                    }
                }
            } else {
                try (Stream<Path> files = Files.list(Path.of(folder.toURI()))) {
                    for (Path file : files.filter(f -> isSource(f.getFileName().toString())).toList()) {
                        sources.put(file.getFileName().toString(), Files.readAllBytes(file));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the kernel sources at " + folder + ": " + e.getMessage(), e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cannot read the kernel sources at " + folder + ": " + e.getMessage(), e);
        }
        if (sources.isEmpty()) {
            throw new IllegalStateException("no kernel sources (kernels/*.cl) at " + folder + ": the jar is incomplete; "
                    + "rebuild it with 'mvn package'");
        }
        return sources;
    }

    private static boolean isSource(String name) {
        return name.endsWith(".cl") || name.endsWith(".h");
    }
}
