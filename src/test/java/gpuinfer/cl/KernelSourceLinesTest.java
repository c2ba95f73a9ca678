package gpuinfer.cl;

import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code #line} directives in inlined sources: every line of the combined text is attributed to the file and line
 * of {@code kernels/} it came from, and a build error names that file and line.
 */
@ExtendWith(NoLeaks.class)
class KernelSourceLinesTest {
    private static final Pattern LINE = Pattern.compile("^#line (\\d+) \"([^\"]+)\"$");

    /** A header with a mistake on line 4. */
    static final Map<String, String> HEADERS = Map.of("bad.h", """
            // bad.h: a header with a mistake on line 4
            #define GOOD 1.0f

            float bad(float x) { return x * undefined_in_header; }
            """);

    static final String MAIN_WITH_BAD_HEADER = """
            // main.cl: includes bad.h on line 2
            #include "bad.h"
            __kernel void k(__global float* x) {
                x[0] = bad(x[0]) * GOOD;
            }
            """;

    static final String MAIN_WITH_A_MISTAKE = """
            // main.cl: includes good.h on line 2, and has its own mistake on line 5
            #include "good.h"

            __kernel void k(__global float* x) {
                x[0] = undefined_in_main;
            }
            """;

    @Test
    void everyLineOfEveryKernelIsAttributedToItsFileAndLine() {
        for (String kernel : List.of("attention_naive.cl", "attention_flash.cl", "linear.cl", "transformer.cl", "peaks.cl")) {
            checkAttribution(KernelSource.load(kernel), KernelSourceLinesTest::resource);
        }
        checkAttribution(KernelSource.withHeaders("main.cl", MAIN_WITH_BAD_HEADER, HEADERS::get),
                name -> name.equals("main.cl") ? MAIN_WITH_BAD_HEADER : HEADERS.get(name));
    }

    @Test
    void aHeaderIncludedTwiceIsInlinedOnceAndLinesStillMatch() {
        String main = "#include \"a.h\"\n#include \"a.h\"\n__kernel void k() { }\n";
        Map<String, String> headers = Map.of("a.h", "#define A 1"); // no final newline
        KernelSource source = KernelSource.withHeaders("twice.cl", main, headers::get);
        assertEquals(1, source.text().split("#define A 1", -1).length - 1, source.text());
        checkAttribution(source, name -> name.equals("twice.cl") ? main : headers.get(name));
    }

    /**
     * Reads the combined text as the preprocessor does (a {@code #line N "f"} directive makes the next line line N
     * of f) and checks each line against that line of the original file: the same text, or (where the include was)
     * the include line.
     */
    private static void checkAttribution(KernelSource source, java.util.function.Function<String, String> original) {
        String[] lines = source.text().split("\n", -1);
        String file = null;
        int line = 0;
        int checked = 0;
        for (String text : lines) {
            Matcher m = LINE.matcher(text);
            if (m.matches()) {
                line = Integer.parseInt(m.group(1));
                file = m.group(2);
                continue;
            }
            assertNotNull(file, source.name() + ": the first line must be a #line directive");
            String[] originalLines = original.apply(file).split("\n", -1);
            String want = line - 1 < originalLines.length ? originalLines[line - 1] : "";
            if (text.startsWith("// ---- ")) {
                assertTrue(want.contains("#include"), source.name() + ": " + file + ":" + line + " is '" + want + "'");
            } else if (!(text.isEmpty() && line - 1 == originalLines.length)) {
                assertEquals(want, text, source.name() + ": the line attributed to " + file + ":" + line);
                checked++;
            }
            line++;
        }
        assertTrue(checked > 0, source.name() + ": no line checked");
    }

    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void anErrorInAHeaderIsReportedAtTheHeadersLine(String binding) {
        try (ClContext context = OpenClTestSupport.context(binding)) {
            KernelSource source = KernelSource.withHeaders("main.cl", MAIN_WITH_BAD_HEADER, HEADERS::get);
            KernelBuildException e = assertThrows(KernelBuildException.class, () -> context.program(source, ""));
            assertTrue(e.buildLog().contains("bad.h:4:"), e.buildLog());
            assertTrue(e.getMessage().contains("first error: bad.h:4:"), e.getMessage());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void anErrorInTheMainFileAfterAnIncludeIsReportedAtItsOwnLine(String binding) {
        Map<String, String> headers = Map.of("good.h", "// good.h\n#define GOOD 1.0f\n\nfloat twice(float x) { return 2 * x; }\n");
        try (ClContext context = OpenClTestSupport.context(binding)) {
            KernelSource source = KernelSource.withHeaders("main.cl", MAIN_WITH_A_MISTAKE, headers::get);
            KernelBuildException e = assertThrows(KernelBuildException.class, () -> context.program(source, ""));
            assertTrue(e.buildLog().contains("main.cl:5:"), e.buildLog());
            assertTrue(e.getMessage().contains("first error: main.cl:5:"), e.getMessage());
        }
    }

    /**
     * A mistake that surfaces inside the real kernels/weights.h (here a macro that breaks its vload_half) is
     * reported at weights.h and the line of its first vload_half, with a note at main.cl's line of the macro.
     */
    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void anErrorSurfacingInWeightsHIsReportedThere(String binding) {
        String main = """
                // main.cl: breaks vload_half on line 2, then includes the real weights.h
                #define vload_half(i, p) undefined_in_main_macro
                #include "weights.h"
                __kernel void k(__global const uchar* w, __global float* y) {
                    y[0] = WT_AT(WT_Q8_0, w, 0);
                }
                """;
        String[] weights = resource("weights.h").split("\n", -1);
        int expected = 0;
        for (int i = 0; i < weights.length && expected == 0; i++) {
            if (weights[i].contains("vload_half(0")) {
                expected = i + 1;
            }
        }
        try (ClContext context = OpenClTestSupport.context(binding)) {
            KernelSource source = KernelSource.withHeaders("main.cl", main, KernelSourceLinesTest::resource);
            KernelBuildException e = assertThrows(KernelBuildException.class, () -> context.program(source, ""));
            assertTrue(e.getMessage().contains("first error: weights.h:" + expected + ":"), e.getMessage());
            assertTrue(e.buildLog().contains("main.cl:2:"), "the macro's own line: " + e.buildLog());
        }
    }

    @Test
    void theFirstErrorIsFoundInClangStyleLogs() {
        assertEquals("weights.h:36:12: use of undeclared identifier 'x'", KernelBuildException.firstError(
                "main.cl:5:3: warning: unused\nweights.h:36:12: error: use of undeclared identifier 'x'\n").orElseThrow());
        // PoCL 3.1 puts the severity first, and a macro's spelling location after the place of use
        assertEquals("weights.h:36:12 <Spelling=main.cl:2:26>: use of undeclared identifier 'y'", KernelBuildException.firstError(
                "warning: main.cl:2:9: 'vload_half' macro redefined\n"
                        + "error: weights.h:36:12 <Spelling=main.cl:2:26>: use of undeclared identifier 'y'\n").orElseThrow());
        assertTrue(KernelBuildException.firstError("no diagnostics here").isEmpty());
    }

    static String resource(String name) {
        try (InputStream in = KernelSource.class.getResourceAsStream("/kernels/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
