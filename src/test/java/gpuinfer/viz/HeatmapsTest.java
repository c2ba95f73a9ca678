package gpuinfer.viz;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HeatmapsTest {
    private static final int HOT = ColorMaps.sequential(1);
    private static final int COLD = ColorMaps.sequential(0);

    @AfterEach
    void jdkFontsAgain() {
        System.clearProperty(TextPainter.FONT_PROPERTY);
    }

    private static int distinctColours(BufferedImage image) {
        Set<Integer> colours = new HashSet<>();
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                colours.add(image.getRGB(x, y) & 0xFFFFFF);
            }
        }
        return colours.size();
    }

    @Test
    void viridisRunsFromDarkPurpleToYellowAndDivergingIsWhiteAtZero() {
        assertEquals(0xFF440154, ColorMaps.sequential(0));
        assertEquals(0xFFFDE725, ColorMaps.sequential(1));
        assertEquals(0xFFF7F7F7, ColorMaps.diverging(0));
        assertEquals(ColorMaps.sequential(1), ColorMaps.sequential(7), "clamped");
        // perceptually ordered: luminance rises along viridis
        double previous = -1;
        for (int i = 0; i <= 20; i++) {
            int c = ColorMaps.sequential(i / 20.0);
            double luminance = 0.2126 * (c >> 16 & 255) + 0.7152 * (c >> 8 & 255) + 0.0722 * (c & 255);
            assertTrue(luminance > previous, "luminance rises at " + i);
            previous = luminance;
        }
    }

    @Test
    void oneHotRowPutsItsHotCellWhereExpectedWhenScaledUpAndWhenReduced() {
        for (int columns : new int[]{8, 300}) {
            int hotColumn = columns * 5 / 8;
            BufferedImage image = new BufferedImage(96, 3 * 4, BufferedImage.TYPE_INT_RGB);
            Heatmaps.paintCells(image, 0, 0, 96, 12, 3, columns, (r, c) -> r == 1 && c == hotColumn ? 1 : 0,
                    Heatmaps.Scale.sequentialTo(1));
            List<int[]> hot = new ArrayList<>();
            for (int y = 0; y < 12; y++) {
                for (int x = 0; x < 96; x++) {
                    int rgb = image.getRGB(x, y);
                    if (rgb == HOT) {
                        hot.add(new int[]{x, y});
                    } else {
                        assertEquals(COLD, rgb, "every other pixel is cold at " + x + "," + y);
                    }
                }
            }
            assertFalse(hot.isEmpty(), columns + " columns: the hot cell survives");
            for (int[] p : hot) {
                assertTrue(p[1] >= 4 && p[1] < 8, "hot pixel in the second row band: " + p[1]);
                assertEquals(hotColumn, p[0] * columns / 96, 0, "hot pixel over column " + hotColumn + ": x=" + p[0]);
            }
        }
    }

    @Test
    void headsGridDecodesAndShowsEveryHead(@TempDir Path dir) throws Exception {
        AttentionMaps maps = SyntheticMaps.allRows();
        List<Path> files = Heatmaps.writeAll(maps, dir, List.of(new int[]{0, 0}, new int[]{1, 2}));
        assertEquals(List.of(dir.resolve("heads.png"), dir.resolve("layer-0-head-0.png"), dir.resolve("layer-1-head-2.png")), files);
        BufferedImage grid = ImageIO.read(dir.resolve("heads.png").toFile());
        // 12 tokens: 8-pixel cells, 96-pixel thumbnails, 3 heads and 2 layers with 4-pixel gaps
        assertTrue(grid.getWidth() >= 3 * 100 && grid.getHeight() >= 2 * 100, grid.getWidth() + "x" + grid.getHeight());
        assertTrue(distinctColours(grid) >= 8, "a picture, not a blank: " + distinctColours(grid));
        int hotPixels = 0;
        for (int y = 0; y < grid.getHeight(); y++) {
            for (int x = 0; x < grid.getWidth(); x++) {
                hotPixels += grid.getRGB(x, y) == HOT ? 1 : 0;
            }
        }
        // one-hot rows: 4 one-hot heads × 12 rows × 8×8 cells, plus row 0 of the two uniform heads, plus the legend top
        assertTrue(hotPixels >= 4 * 12 * 64 + 2 * 64, "hot cells: " + hotPixels);
        for (Path f : files) {
            assertTrue(Files.size(f) > 100);
        }
    }

    /**
     * For a one-hot head over the 12 synthetic tokens (24-pixel cells): the key column of the hot cell in each row,
     * read at the cell centres from the plot's corner (the first row's hot cell is at key 0 in the heads used here).
     */
    private static int[] hotKeys(BufferedImage image) {
        int cell = 24;
        int minX = Integer.MAX_VALUE;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                if (image.getRGB(x, y) == HOT) {
                    minX = Math.min(minX, x);
                }
            }
        }
        int minY = Integer.MAX_VALUE;
        for (int y = 0; y < image.getHeight() && minY == Integer.MAX_VALUE; y++) {
            for (int x = minX; x < minX + 12 * cell; x++) {
                if (image.getRGB(x, y) == HOT) {
                    minY = y;
                    break;
                }
            }
        }
        int[] keys = new int[12];
        for (int row = 0; row < 12; row++) {
            keys[row] = -1;
            for (int key = 0; key < 12; key++) {
                int rgb = image.getRGB(minX + key * cell + cell / 2, minY + row * cell + cell / 2);
                if (rgb == HOT) {
                    assertEquals(-1, keys[row], "one hot cell in row " + row);
                    keys[row] = key;
                } else {
                    assertEquals(COLD, rgb, "row " + row + " key " + key);
                }
            }
        }
        return keys;
    }

    @Test
    void singleHeadPutsEachRowsHotCellUnderItsKey() {
        AttentionMaps maps = SyntheticMaps.allRows();
        BufferedImage self = Heatmaps.singleHead(maps, 1, 0);
        BufferedImage previous = Heatmaps.singleHead(maps, 0, 0);
        assertTrue(distinctColours(self) >= 6);
        assertArrayEquals(new int[]{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, hotKeys(self));
        assertArrayEquals(new int[]{0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, hotKeys(previous));
    }

    @Test
    void partialRowsAndLongSequencesStillRenderWithEveryNthLabel() {
        assertEquals(1, Heatmaps.labelStep(12, 24, 13));
        assertEquals(2, Heatmaps.labelStep(128, 6, 8));
        assertEquals(3, Heatmaps.labelStep(100, 5, 13));
        AttentionMaps partial = SyntheticMaps.maps(new int[]{3, 11});
        BufferedImage grid = Heatmaps.headsGrid(partial);
        BufferedImage head = Heatmaps.singleHead(partial, 0, 2);
        assertTrue(distinctColours(grid) >= 6 && distinctColours(head) >= 6);
        double[][] big = new double[300][1000];
        big[150][999] = 1;
        BufferedImage reduced = Heatmaps.matrix(big, false, "big", "x", "y", null, null);
        assertTrue(reduced.getWidth() <= Heatmaps.MATRIX_SIDE + 400, "reduced: " + reduced.getWidth());
        // the one hot cell, reduced to a pixel (the legend's hot end is under its border), half-way down the plot
        List<int[]> hot = new ArrayList<>();
        for (int y = 0; y < reduced.getHeight(); y++) {
            for (int x = 0; x < reduced.getWidth(); x++) {
                if (reduced.getRGB(x, y) == HOT) {
                    hot.add(new int[]{x, y});
                }
            }
        }
        assertEquals(1, hot.size(), "the single hot cell survives the reduction as one pixel");
        assertTrue(hot.get(0)[1] > reduced.getHeight() * 0.45 && hot.get(0)[1] < reduced.getHeight() * 0.7,
                "row 150 of 300: y=" + hot.get(0)[1] + " of " + reduced.getHeight());
    }

    @Test
    void divergingMatrixAndLogChartRender() {
        double[][] similarity = new double[16][16];
        for (int i = 0; i < 16; i++) {
            for (int j = 0; j < 16; j++) {
                similarity[i][j] = Math.cos((i - j) * 0.4);
            }
        }
        BufferedImage m = Heatmaps.matrix(similarity, true, "cosine similarity", "position", "position", null, null);
        Set<Integer> seen = new HashSet<>();
        for (int y = 0; y < m.getHeight(); y++) {
            for (int x = 0; x < m.getWidth(); x++) {
                seen.add(m.getRGB(x, y));
            }
        }
        assertTrue(seen.contains(ColorMaps.diverging(1)) && seen.contains(ColorMaps.diverging(-1 * Math.cos(0.4 * 8) / -Math.cos(0.4 * 8))),
                "both ends of the diverging map appear");
        double[] frequencies = new double[32];
        for (int i = 0; i < 32; i++) {
            frequencies[i] = Math.pow(10000, -2.0 * i / 64);
        }
        BufferedImage chart = Heatmaps.chart("rotary frequencies", "dimension pair", "radians per position",
                List.of("theta 10000"), new double[][]{frequencies}, true, false);
        assertTrue(distinctColours(chart) >= 4);
        assertThrows(IllegalArgumentException.class, () -> Heatmaps.chart("t", "x", "y", List.of("s"),
                new double[][]{{0, -1}}, true, true), "nothing positive on a log scale");
    }

    @Test
    void builtinFontDrawsAsciiAndQuestionMarksForTheRest() throws Exception {
        System.setProperty(TextPainter.FONT_PROPERTY, "builtin");
        TextPainter text = TextPainter.choose(8);
        assertTrue(text.builtin());
        BufferedImage i = text.render("I", java.awt.Color.BLACK);
        assertEquals(TinyFont.CELL_WIDTH, i.getWidth());
        // 'I' = columns 00 41 7F 41 00: column 2 is full height (rows 0..6), columns 1 and 3 only top and bottom
        for (int row = 0; row < 7; row++) {
            assertTrue(i.getRGB(2, row) >>> 24 != 0, "column 2 row " + row);
            assertEquals(row == 0 || row == 6, i.getRGB(1, row) >>> 24 != 0, "column 1 row " + row);
        }
        assertEquals(0, i.getRGB(0, 3) >>> 24);
        assertArrayEquals(pixels(text.render("?", java.awt.Color.BLACK)), pixels(text.render("é", java.awt.Color.BLACK)));
        assertFalse(java.util.Arrays.equals(pixels(text.render("A", java.awt.Color.BLACK)),
                pixels(text.render("B", java.awt.Color.BLACK))));
        // every picture renders with the built-in font alone
        AttentionMaps maps = SyntheticMaps.allRows();
        BufferedImage grid = Heatmaps.headsGrid(maps);
        BufferedImage head = Heatmaps.singleHead(maps, 0, 0);
        assertTrue(distinctColours(grid) >= 6 && distinctColours(head) >= 6);
        // labels are drawn: the area left of the plot holds ink
        int ink = 0;
        for (int y = 0; y < head.getHeight(); y++) {
            for (int x = 0; x < 40; x++) {
                ink += (head.getRGB(x, y) & 0xFFFFFF) != 0xFFFFFF ? 1 : 0;
            }
        }
        assertTrue(ink > 50, "row labels drawn with the built-in font: " + ink);
    }

    private static int[] pixels(BufferedImage image) {
        return image.getRGB(0, 0, image.getWidth(), image.getHeight(), null, 0, image.getWidth());
    }

    @Test
    void jdkFontsAreUsedWhereTheMachineHasThem() {
        TextPainter text = TextPainter.choose(12);
        if (java.awt.GraphicsEnvironment.getLocalGraphicsEnvironment().getAvailableFontFamilyNames().length > 0) {
            assertFalse(text.builtin());
        }
        assertEquals("a\\nb\\u0001", TextPainter.visible("a\nb\u0001"));
        assertEquals("abcdefghijk..", TextPainter.abbreviate("abcdefghijklmnop", 13));
    }
}
