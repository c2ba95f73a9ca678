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
 * SHA-256, which keys the program caches. {@code #include "name.h"} lines are replaced by that header from
 * {@code kernels/} (each header once), so a program is always one self-contained source and its hash covers the
 * headers too.
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
        return of(fileName, inline(text(fileName), new java.util.HashSet<>()));
    }

    private static final java.util.regex.Pattern INCLUDE = java.util.regex.Pattern.compile("(?m)^\\s*#include\\s+\"([^\"]+)\"\\s*$");

    /** The text with each {@code #include "x.h"} replaced by kernels/x.h (once per header; later includes vanish). */
    private static String inline(String text, java.util.Set<String> included) {
        java.util.regex.Matcher m = INCLUDE.matcher(text);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String header = m.group(1);
            String replacement = included.add(header) ? inline(text(header), included) : "";
            m.appendReplacement(out, java.util.regex.Matcher.quoteReplacement("// ---- " + header + " ----\n" + replacement));
        }
        m.appendTail(out);
        return out.toString();
    }

    private static String text(String fileName) {
        String resource = "/kernels/" + fileName;
        try (InputStream in = KernelSource.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("kernel source " + resource + " is not on the class path: the jar is "
                        + "incomplete; rebuild it with 'mvn package'");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
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
