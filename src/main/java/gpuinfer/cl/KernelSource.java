package gpuinfer.cl;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The text of one OpenCL source file from {@code kernels/} (packaged in the jar as {@code kernels/NAME.cl}), with its
 * SHA-256, which keys the program caches. {@code #include "name.h"} lines are replaced by that header from
 * {@code kernels/} (each header once), so a program is always one self-contained source and its hash covers the
 * headers too.
 *
 * <p>The combined text carries {@code #line N "file"} directives: one at the top naming the file, one at the start of
 * each inlined header and one after it (back to the including file's next line). The compiler then reports every
 * error at the file and line of {@code kernels/} where it is, e.g. {@code weights.h:36:5: error: ...}, not at a line
 * of the combined text. (The C99 string form is accepted by every clang-based OpenCL compiler: PoCL, NVIDIA, AMD,
 * Intel.) An {@code #include} must not sit inside a conditional block that is skipped: the directives around it
 * would be skipped too and the lines after it numbered as in the combined text.
 */
public record KernelSource(String name, String text, String sha256) {
    private static final Map<String, KernelSource> LOADED = new ConcurrentHashMap<>();

    /** A source from the class path, e.g. {@code load("attention_naive.cl")}. */
    public static KernelSource load(String fileName) {
        return LOADED.computeIfAbsent(fileName, f -> withHeaders(f, text(f), KernelSource::text));
    }

    /** A source given as text (tests, generated code), compiled as it is: no includes inlined, no directives added. */
    public static KernelSource of(String name, String text) {
        return new KernelSource(name, text, sha256(text));
    }

    /**
     * A source given as text whose {@code #include "x.h"} lines are inlined from {@code headers} (a file name to its
     * text), with {@code #line} directives, exactly as {@link #load} does with the headers of {@code kernels/}.
     */
    public static KernelSource withHeaders(String name, String text, Function<String, String> headers) {
        String combined = "#line 1 \"" + name + "\"\n" + inline(name, text, headers, new HashSet<>());
        return of(name, combined);
    }

    private static final Pattern INCLUDE = Pattern.compile("(?m)^[ \\t]*#[ \\t]*include[ \\t]+\"([^\"]+)\"[ \\t]*$");

    /**
     * {@code text} (the file {@code file}) with each {@code #include "x.h"} replaced by x.h (once per header; later
     * includes of it vanish), framed by {@code #line} directives. The include line itself becomes a comment, so
     * the including file's lines keep their numbers wherever no header was inlined.
     */
    private static String inline(String file, String text, Function<String, String> headers, Set<String> included) {
        Matcher m = INCLUDE.matcher(text);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String header = m.group(1);
            String replacement = "// ---- " + header + " ----";
            if (included.add(header)) {
                String body = inline(header, headers.apply(header), headers, included);
                int nextLine = lineOf(text, m.end()) + 1;
                replacement += "\n#line 1 \"" + header + "\"\n" + body + (body.endsWith("\n") ? "" : "\n")
                        + "#line " + nextLine + " \"" + file + "\"";
            }
            m.appendReplacement(out, Matcher.quoteReplacement(replacement));
        }
        m.appendTail(out);
        return out.toString();
    }

    /** The 1-based line of {@code text} that holds character {@code index}. */
    private static int lineOf(String text, int index) {
        int line = 1;
        for (int i = 0; i < index; i++) {
            if (text.charAt(i) == '\n') {
                line++;
            }
        }
        return line;
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
