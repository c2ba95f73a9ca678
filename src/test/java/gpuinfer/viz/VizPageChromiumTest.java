package gpuinfer.viz;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Opens index.html (written from synthetic maps with hostile tokens) in headless Chromium: the page's own
 * {@code ?selftest=1} mode chooses another head, hovers tokens, opens a head from the model view and reports into
 * {@code <pre id="selftest">}; a second run saves a screenshot to target/viz-screenshot.png. Skipped with a loud
 * message where Chromium is absent; a failure where CI=true (CI installs it).
 */
class VizPageChromiumTest {
    private static Path chromium() {
        for (String candidate : new String[]{System.getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser",
                "/usr/bin/google-chrome"}) {
            if (candidate != null && Files.isExecutable(Path.of(candidate))) {
                return Path.of(candidate);
            }
        }
        String message = "Chromium is not installed (no /usr/bin/chromium), so the attention page was NOT tested in a "
                + "browser. Install it: sudo apt-get install chromium";
        if (OpenClTestSupport.inCi()) {
            fail("CI=true requires Chromium: " + message);
        }
        System.err.println("WARNING: SKIPPED: " + message);
        try {
            Files.writeString(Path.of("/dev/tty"), "\nWARNING: VizPageChromiumTest SKIPPED: " + message + "\n\n");
        } catch (IOException | RuntimeException noTerminal) {
            // no terminal: the reason is in the test's output file
        }
        Assumptions.abort(message);
        throw new AssertionError(message);
    }

    /** Runs Chromium headless; returns {stdout, stderr}. */
    private static String[] run(Path chromium, Path dir, List<String> extra, String url) throws Exception {
        List<String> command = new ArrayList<>(List.of(chromium.toString(), "--headless=new", "--no-sandbox",
                "--disable-gpu", "--no-first-run", "--user-data-dir=" + dir.resolve("profile"), "--enable-logging=stderr",
                "--v=0", "--virtual-time-budget=5000"));
        command.addAll(extra);
        command.add(url);
        Path out = dir.resolve("chromium.out");
        Path err = dir.resolve("chromium.err");
        Process process = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
            fail("Chromium did not finish within 60 s: " + command + "\n" + Files.readString(err));
        }
        String stdout = Files.readString(out, StandardCharsets.UTF_8);
        String stderr = Files.readString(err, StandardCharsets.UTF_8);
        assertEquals(0, process.exitValue(), "chromium exit status; stderr:\n" + stderr);
        return new String[]{stdout, stderr};
    }

    private static String unescapeText(String html) {
        return html.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'")
                .replace("&amp;", "&");
    }

    @Test
    void pageWorksInHeadlessChromium(@TempDir Path dir) throws Exception {
        Path chromium = chromium();
        Path page = dir.resolve("index.html");
        AttentionMaps maps = SyntheticMaps.allRows();
        VizPage.write(page, maps, SyntheticMaps.summary(), SyntheticMaps.nextTokens());
        String[] result = run(chromium, dir, List.of("--dump-dom"), page.toUri() + "?selftest=1");
        Matcher m = Pattern.compile("<pre id=\"selftest\">(.*?)</pre>", Pattern.DOTALL).matcher(result[0]);
        assertTrue(m.find(), "the page's self-test wrote no result (its script failed to run?); stderr:\n" + result[1]);
        JsonNode selftest = new ObjectMapper().readTree(unescapeText(m.group(1)));
        assertEquals(0, selftest.get("errors").size(), "errors in the page: " + selftest.get("errors"));
        for (String line : result[1].split("\n")) {
            assertFalse(line.contains("CONSOLE") && (line.contains("Uncaught") || line.contains("Error")),
                    "console error: " + line);
        }
        assertTrue(result[1].contains("selftest done: 0 errors"), "the console is read: " + result[1]);
        assertTrue(selftest.get("headChangedPixels").asBoolean(), "choosing head 1 changed the head view");
        assertNotEquals(selftest.get("initialHash").asLong(), selftest.get("otherHeadHash").asLong());
        assertEquals(12, selftest.get("initialLines").asInt(), "layer 0 head 0: one line per one-hot row");
        assertEquals(1, selftest.get("hoverLeftLines").asInt(), "hovering the last query of head 1: its one line");
        assertTrue(selftest.get("hoverLeftActive").asBoolean());
        assertEquals(12, selftest.get("hoverRightLines").asInt(), "every row of the first-token head attends to key 0");
        assertTrue(selftest.get("allHeadsLines").asInt() > 24, "all heads overlaid");
        assertEquals(3, selftest.get("legendItems").asInt());
        assertEquals(6, selftest.get("thumbnails").asInt());
        assertEquals(1, selftest.get("afterClick").get("layer").asInt(), "clicking the last thumbnail opened layer 1");
        assertEquals("2", selftest.get("afterClick").get("head").asText());
        assertEquals(12, selftest.get("bars").asInt());
        assertEquals(6, selftest.get("summaryRows").asInt());
        assertEquals(3, selftest.get("flaggedRows").asInt());
        assertEquals(2, selftest.get("nextRows").asInt());
        assertTrue(selftest.get("tokensMatch").asBoolean(), "tokens shown as their text: " + selftest.get("tokenTexts"));
        assertEquals("</script>", selftest.get("tokenTexts").get(3).asText());

        Path screenshot = Path.of("target", "viz-screenshot.png").toAbsolutePath();
        Files.createDirectories(screenshot.getParent());
        Files.deleteIfExists(screenshot);
        run(chromium, dir, List.of("--screenshot=" + screenshot, "--window-size=1400,1000", "--hide-scrollbars"),
                page.toUri().toString());
        BufferedImage image = ImageIO.read(screenshot.toFile());
        assertEquals(1400, image.getWidth());
        assertEquals(1000, image.getHeight());
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < image.getHeight(); y += 3) {
            for (int x = 0; x < image.getWidth(); x += 3) {
                colours.add(image.getRGB(x, y) & 0xFFFFFF);
            }
        }
        assertTrue(colours.size() > 20, "a rendered page, not a blank: " + colours.size() + " colours");
    }
}
