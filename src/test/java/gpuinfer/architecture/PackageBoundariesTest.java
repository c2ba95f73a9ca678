package gpuinfer.architecture;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The layering of the main packages, checked on the sources: the ops and attention never reach up to the tuner, the
 * self-test or the CLI (tuned values and disabled variants arrive in a KernelSettings object), and nothing below the
 * ops knows which binding runs it.
 */
class PackageBoundariesTest {
    private static final Path MAIN = Path.of("src/main/java/gpuinfer");
    private static final Pattern REFERENCE = Pattern.compile("gpuinfer\\.(tune|selftest|cli|compare|bench|profile|cl\\.lwjgl|cl\\.jocl)\\b");

    /** package → the packages above it that it must not name. */
    private static final Map<String, List<String>> FORBIDDEN = Map.of(
            "ops", List.of("tune", "selftest", "cli", "compare", "bench", "profile", "cl.lwjgl", "cl.jocl"),
            "attention", List.of("tune", "selftest", "cli", "compare", "bench", "profile", "cl.lwjgl", "cl.jocl"),
            "variants", List.of("tune", "selftest", "cli", "compare", "bench", "profile", "cl.lwjgl", "cl.jocl"),
            "model", List.of("tune", "selftest", "cli", "compare", "bench", "profile", "cl.lwjgl", "cl.jocl"),
            "tune", List.of("selftest", "cli", "compare", "profile"));

    @Test
    void lowerPackagesDoNotNameTheLayersAboveThem() throws IOException {
        List<String> violations = new ArrayList<>();
        for (Map.Entry<String, List<String>> entry : FORBIDDEN.entrySet()) {
            try (Stream<Path> files = Files.walk(MAIN.resolve(entry.getKey()))) {
                for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                    Matcher m = REFERENCE.matcher(Files.readString(file));
                    while (m.find()) {
                        if (entry.getValue().contains(m.group(1))) {
                            violations.add(file + " names gpuinfer." + m.group(1));
                        }
                    }
                }
            }
        }
        assertEquals(List.of(), violations);
    }
}
