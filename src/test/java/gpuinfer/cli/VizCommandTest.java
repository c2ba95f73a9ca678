package gpuinfer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code gpu-infer viz} end to end on the bundled model: the files it writes, weights equal on the device and the CPU
 * reference, the summary, interventions' before/after table, the bertviz export's shape, {@code viz positions}.
 */
class VizCommandTest {
    private static final String MODEL = "models/gpt2-brown";
    private static final String PROMPT = "The detective looked at the suspects and said that the murderer was";

    @TempDir
    Path dir;

    private static JsonNode json(Path file) throws IOException {
        return new ObjectMapper().readTree(file.toFile());
    }

    private static BufferedImage png(Path file) throws IOException {
        BufferedImage image = ImageIO.read(file.toFile());
        assertTrue(image != null && image.getWidth() > 50 && image.getHeight() > 50, file.toString());
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < image.getHeight(); y += 3) {
            for (int x = 0; x < image.getWidth(); x += 3) {
                colours.add(image.getRGB(x, y));
            }
        }
        assertTrue(colours.size() > 20, file + " looks blank: " + colours.size() + " colours");
        return image;
    }

    @Test
    void writesPicturesPageAndJsonWhoseWeightsMatchTheCpuReference() throws IOException {
        OpenClTestSupport.device("lwjgl");
        Path device = dir.resolve("device");
        Path cpu = dir.resolve("cpu");
        CliRunner r = CliRunner.run("viz", "--model", MODEL, "--prompt", PROMPT, "--out", device.toString(),
                "--heads", "0.1,3.2", "--bertviz");
        assertEquals(0, r.status(), r::toString);
        CliRunner c = CliRunner.run("viz", "--model", MODEL, "--prompt", PROMPT, "--out", cpu.toString(), "--impl", "cpu",
                "--no-induction");
        assertEquals(0, c.status(), c::toString);
        for (String f : new String[] {"heads.png", "layer-0-head-1.png", "layer-3-head-2.png"}) {
            png(device.resolve(f));
        }
        String page = Files.readString(device.resolve("index.html"));
        assertTrue(page.contains("<canvas") || page.contains("canvas"), "the page draws on canvases");
        assertFalse(page.contains("src=\"http"), "the page loads nothing from the network");

        JsonNode got = json(device.resolve("attention.json"));
        JsonNode want = json(cpu.resolve("attention.json"));
        int tokens = got.get("tokens").size();
        assertEquals(4, got.get("weights").size());
        assertEquals(4, got.get("weights").get(0).size());
        double worst = 0;
        for (int l = 0; l < 4; l++) {
            for (int h = 0; h < 4; h++) {
                JsonNode rowsGot = got.get("weights").get(l).get(h);
                JsonNode rowsWant = want.get("weights").get(l).get(h);
                assertEquals(tokens, rowsGot.size(), "a short prompt captures every row");
                for (int i = 0; i < tokens; i++) {
                    double sum = 0;
                    for (int j = 0; j < tokens; j++) {
                        double w = rowsGot.get(i).get(j).asDouble();
                        sum += w;
                        if (j > i) {
                            assertEquals(0.0, w, "causal zero at layer " + l + " head " + h + " row " + i + " key " + j);
                        }
                        worst = Math.max(worst, Math.abs(w - rowsWant.get(i).get(j).asDouble()));
                    }
                    assertEquals(1.0, sum, 1e-4, "row sum (weights are written with 5 decimals)");
                }
            }
        }
        assertTrue(worst <= 2e-5, "device against CPU reference: worst difference " + worst);
        // the summary: one line per head, with the induction test's scores
        assertTrue(r.out().contains("on 50 random tokens repeated"), r::toString);
        long headLines = r.out().lines().filter(line -> line.matches("^\\d+\\.\\d+\\s+[0-9.]+\\s+.*")).count();
        assertEquals(16, headLines, r::toString);
        assertEquals(16, got.get("summary").size());
        // bertviz: [layer][batch 1][head][query][key] over the whole sequence
        JsonNode b = json(device.resolve("bertviz.json"));
        assertEquals(tokens, b.get("tokens").size());
        assertEquals(4, b.get("attention").size());
        assertEquals(1, b.get("attention").get(0).size());
        assertEquals(4, b.get("attention").get(0).get(0).size());
        assertEquals(tokens, b.get("attention").get(0).get(0).get(0).size());
        assertEquals(tokens, b.get("attention").get(0).get(0).get(0).get(0).size());
    }

    @Test
    void interventionsShowTheNextTokensBeforeAndAfterAndTheMaskedKeysAreZero() throws IOException {
        CliRunner r = CliRunner.run("viz", "--model", MODEL, "--prompt", PROMPT, "--out", dir.toString(), "--impl", "cpu",
                "--no-induction", "--ablate", "2.2", "--attend-mask", "3.3:0-0", "--rows", "last:3");
        assertEquals(0, r.status(), r::toString);
        assertTrue(r.out().contains("before and after the interventions"), r::toString);
        assertTrue(r.out().contains("interventions: ablate 2.2, mask keys 0-0 from 3.3"), r::toString);
        JsonNode got = json(dir.resolve("attention.json"));
        assertEquals(3, got.get("rows").size());
        JsonNode masked = got.get("weights").get(3).get(3);
        JsonNode plain = got.get("weights").get(3).get(2);
        for (int i = 0; i < 3; i++) {
            assertEquals(0.0, masked.get(i).get(0).asDouble(), "head 3.3 may not attend to key 0");
            assertNotEquals(0.0, plain.get(i).get(0).asDouble(), "other heads still do");
        }
        // the before/after table: lines of a token and two probabilities, which differ for some token
        long changed = r.out().lines().filter(l -> l.matches("^\\s+'.*'\\s+[0-9.]+\\s+[0-9.]+$"))
                .map(l -> l.trim().split("\\s+")).filter(p -> !p[p.length - 1].equals(p[p.length - 2])).count();
        assertTrue(changed > 0, r::toString);
    }

    @Test
    void badOptionsAreInputErrors() {
        for (String[] bad : new String[][] {{"--rows", "last:0"}, {"--rows", "99"}, {"--rows", "x"}, {"--heads", "9.0"},
                {"--heads", "0"}, {"--rows", "last:2", "--bertviz"}}) {
            String[] args = new String[bad.length + 9];
            String[] base = {"viz", "--model", MODEL, "--prompt", "one two three", "--out", dir.toString(), "--impl", "cpu"};
            System.arraycopy(base, 0, args, 0, base.length);
            System.arraycopy(bad, 0, args, base.length, bad.length);
            CliRunner r = CliRunner.run(args);
            assertEquals(2, r.status(), () -> String.join(" ", bad) + "\n" + r);
            assertTrue(r.err().contains("error:"), r::toString);
        }
        assertFalse(Files.exists(dir.resolve("attention.json")), "a refused run writes nothing");
        CliRunner impl = CliRunner.run("viz", "--model", MODEL, "--out", dir.toString(), "--impl", "gpu");
        assertEquals(2, impl.status(), impl::toString);
        assertTrue(impl.err().contains("Unknown --impl 'gpu'"), impl::toString);
    }

    @Test
    void positionsOfLearnedAndRotaryModels() throws IOException {
        CliRunner learned = CliRunner.run("viz", "positions", "--model", MODEL, "--out", dir.resolve("gpt2").toString());
        assertEquals(0, learned.status(), learned::toString);
        png(dir.resolve("gpt2/positions-table.png"));
        BufferedImage cosine = png(dir.resolve("gpt2/positions-cosine.png"));
        assertTrue(cosine.getWidth() > 256, "one column per position at least");
        CliRunner rotary = CliRunner.run("viz", "positions", "--model", "src/test/resources/golden/llama/llama-tiny",
                "--out", dir.resolve("llama").toString(), "--positions", "64");
        assertEquals(0, rotary.status(), rotary::toString);
        assertTrue(rotary.out().contains("rotary positions") && rotary.out().contains("Llama 3"), rotary::toString);
        for (String f : new String[] {"rope-frequencies.png", "rope-wavelengths.png", "rope-angles.png",
                "rope-relative-score.png", "rope-score-by-distance.png"}) {
            png(dir.resolve("llama").resolve(f));
        }
    }
}
