package gpuinfer.cl;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The text of one OpenCL source file from {@code kernels/} (packaged in the jar as {@code kernels/NAME.cl}), with its
 * SHA-256, which keys the program caches.
 */
public record KernelSource(String name, String text, String sha256) {
    private static final Map<String, KernelSource> LOADED = new ConcurrentHashMap<>();

    /** A source from the class path, e.g. {@code load("attention_naive.cl")}. */
    public static KernelSource load(String fileName) {
        return LOADED.computeIfAbsent(fileName, KernelSource::read);
    }

    /** A source given as text (tests, generated code). */
    public static KernelSource of(String name, String text) {
        return new KernelSource(name, text, sha256(text));
    }

    private static KernelSource read(String fileName) {
        String resource = "/kernels/" + fileName;
        try (InputStream in = KernelSource.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("kernel source " + resource + " is not on the class path: the jar is "
                        + "incomplete; rebuild it with 'mvn package'");
            }
            return of(fileName, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException("cannot read kernel source " + resource + ": " + e.getMessage(), e);
        }
    }

    static String sha256(String text) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(digest.digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
