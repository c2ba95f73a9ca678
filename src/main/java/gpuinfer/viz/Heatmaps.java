package gpuinfer.viz;

import gpuinfer.util.AtomicFiles;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Pictures of attention (and of any matrix) drawn with the JDK alone, safe under {@code -Djava.awt.headless=true} and on
 * a machine without fonts ({@link TextPainter}):
 * <ul>
 * <li>{@link #headsGrid}: {@code heads.png}, a layers × heads grid of small heatmaps (each head's captured rows ×
 * keys), one shared viridis scale from 0 to the largest weight, a legend bar with its values, layer and head labels.
 * A head larger than a thumbnail is reduced by taking the largest weight of the cells a pixel covers, so a sharp
 * peak never disappears.</li>
 * <li>{@link #singleHead}: {@code layer-L-head-H.png}, one head with the tokens as axis labels (query rows on the left,
 * keys along the top, rotated), every n-th labelled where the cells are too small for all of them.</li>
 * <li>{@link #matrix}: any [rows × columns] table with a title, axis titles and a legend; sequential (viridis) or
 * diverging (blue-white-red around 0) colours.</li>
 * <li>{@link #chart}: line or bar chart of a few series over an index, optionally on a log scale.</li>
 * </ul>
 */
public final class Heatmaps {
    private static final Color BACKGROUND = Color.WHITE;
    private static final Color INK = new Color(30, 30, 30);
    private static final Color GRID = new Color(200, 200, 200);
    /** tab10's first colours, for series. */
    private static final Color[] SERIES = {new Color(31, 119, 180), new Color(255, 127, 14), new Color(44, 160, 44),
            new Color(214, 39, 40), new Color(148, 103, 189), new Color(140, 86, 75)};
    /** A thumbnail's longest side in heads.png, in pixels. */
    static final int THUMBNAIL = 96;
    /** The longest side of a single heatmap before it is reduced. */
    static final int MATRIX_SIDE = 768;
    /** Labels longer than this are cut. */
    static final int LABEL_CHARS = 14;

    private Heatmaps() {
    }

    /** How values map to colours. */
    public record Scale(double min, double max, boolean diverging) {
        /** viridis from 0 to the largest value (at least a tiny positive number). */
        public static Scale sequentialTo(double max) {
            return new Scale(0, max > 0 ? max : 1e-9, false);
        }

        /** blue-white-red from -m to m, m the largest magnitude. */
        public static Scale divergingTo(double maxMagnitude) {
            double m = maxMagnitude > 0 ? maxMagnitude : 1e-9;
            return new Scale(-m, m, true);
        }

        int color(double value) {
            return diverging ? ColorMaps.diverging(value / max) : ColorMaps.sequential((value - min) / (max - min));
        }
    }

    /** Values by (row, column). */
    interface Cells {
        double at(int row, int column);
    }

    /** Where the hot (largest) value of a pixel block lies: the value of largest magnitude among the cells it covers. */
    private static double pooled(Cells cells, int r0, int r1, int c0, int c1) {
        double best = cells.at(r0, c0);
        for (int r = r0; r < r1; r++) {
            for (int c = c0; c < c1; c++) {
                double v = cells.at(r, c);
                if (Math.abs(v) > Math.abs(best) || Double.isNaN(best)) {
                    best = v;
                }
            }
        }
        return best;
    }

    /** Fills a width × height block at (x, y) with rows × columns cells, reducing by {@link #pooled} where needed. */
    static void paintCells(BufferedImage image, int x, int y, int width, int height, int rows, int columns,
                           Cells cells, Scale scale) {
        for (int py = 0; py < height; py++) {
            int r0 = (int) ((long) py * rows / height);
            int r1 = Math.max(r0 + 1, (int) ((long) (py + 1) * rows / height));
            for (int px = 0; px < width; px++) {
                int c0 = (int) ((long) px * columns / width);
                int c1 = Math.max(c0 + 1, (int) ((long) (px + 1) * columns / width));
                image.setRGB(x + px, y + py, scale.color(pooled(cells, r0, r1, c0, c1)));
            }
        }
    }

    /** Pixels per cell side when a side of n cells fits in limit, or 0 when it must be reduced. */
    private static int cellSize(int n, int limit, int largest) {
        return n > limit ? 0 : Math.max(1, Math.min(largest, limit / n));
    }

    static String format(double v) {
        if (v == 0) {
            return "0";
        }
        double a = Math.abs(v);
        return a >= 0.01 && a < 10000 ? String.format(Locale.ROOT, "%.3g", v) : String.format(Locale.ROOT, "%.2e", v);
    }

    private static BufferedImage blank(int width, int height) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setColor(BACKGROUND);
        g.fillRect(0, 0, width, height);
        g.dispose();
        return image;
    }

    /** Legend: a vertical colour bar (top = max) at (x, y) with its min, middle and max written beside it. */
    private static void legend(BufferedImage image, int x, int y, int barHeight, Scale scale, TextPainter text) {
        int barWidth = 14;
        for (int py = 0; py < barHeight; py++) {
            double v = scale.max() - (scale.max() - scale.min()) * py / Math.max(1, barHeight - 1);
            int rgb = scale.color(v);
            for (int px = 0; px < barWidth; px++) {
                image.setRGB(x + px, y + py, rgb);
            }
        }
        Graphics2D g = image.createGraphics();
        g.setColor(INK);
        g.drawRect(x, y, barWidth - 1, barHeight - 1);
        g.dispose();
        double[] ticks = {scale.max(), (scale.max() + scale.min()) / 2, scale.min()};
        int[] at = {0, barHeight / 2, barHeight - 1};
        for (int i = 0; i < ticks.length; i++) {
            int ty = Math.max(0, Math.min(image.getHeight() - text.height(), y + at[i] - text.height() / 2));
            text.draw(image, format(ticks[i]), x + barWidth + 4, ty, INK, false);
        }
    }

    private static int legendWidth(Scale scale, TextPainter text) {
        return 14 + 4 + Math.max(text.width(format(scale.max())), text.width(format(scale.min()))) + 8;
    }

    /** heads.png: every layer (rows of the grid) × head (columns), one shared scale. */
    public static BufferedImage headsGrid(AttentionMaps maps) {
        int keys = maps.sequenceLength();
        int rows = maps.rows().length;
        float max = 0;
        for (float[][][] layer : maps.weights()) {
            for (float[][] head : layer) {
                for (float[] row : head) {
                    for (float w : row) {
                        max = Math.max(max, w);
                    }
                }
            }
        }
        Scale scale = Scale.sequentialTo(max);
        int longest = Math.max(keys, rows);
        int cell = cellSize(longest, THUMBNAIL, THUMBNAIL);
        int thumbWidth = cell > 0 ? keys * cell : Math.max(1, (int) Math.round((double) keys * THUMBNAIL / longest));
        int thumbHeight = cell > 0 ? rows * cell : Math.max(1, (int) Math.round((double) rows * THUMBNAIL / longest));
        TextPainter text = TextPainter.choose(12);
        int gap = 4;
        int left = text.width("L" + (maps.layers() - 1)) + 8;
        int titleHeight = text.height() + 6;
        int top = titleHeight + text.height() + 4;
        int gridWidth = maps.heads() * (thumbWidth + gap);
        int gridHeight = maps.layers() * (thumbHeight + gap);
        String title = TextPainter.abbreviate("attention " + name(maps) + ": layers x heads, rows " + rowsText(maps)
                + " x keys 0.." + (keys - 1), 200);
        int width = Math.max(left + gridWidth + 8 + legendWidth(scale, text), text.width(title) + 8);
        int height = top + Math.max(gridHeight, 60) + 8;
        BufferedImage image = blank(width, height);
        text.draw(image, title, 4, 3, INK, false);
        for (int h = 0; h < maps.heads(); h++) {
            String label = "H" + h;
            int x = left + h * (thumbWidth + gap) + (thumbWidth - text.width(label)) / 2;
            if (thumbWidth >= text.width(label) || h % Math.max(1, (text.width(label) + gap) / (thumbWidth + gap) + 1) == 0) {
                text.draw(image, label, x, titleHeight, INK, false);
            }
        }
        for (int l = 0; l < maps.layers(); l++) {
            int y = top + l * (thumbHeight + gap);
            if (thumbHeight + gap >= text.height() || l % ((text.height() + gap) / (thumbHeight + gap) + 1) == 0) {
                text.draw(image, "L" + l, 2, y + Math.max(0, (thumbHeight - text.height()) / 2), INK, false);
            }
            for (int h = 0; h < maps.heads(); h++) {
                float[][] head = maps.weights()[l][h];
                paintCells(image, left + h * (thumbWidth + gap), y, thumbWidth, thumbHeight, rows, keys,
                        (r, c) -> head[r][c], scale);
            }
        }
        legend(image, left + gridWidth + 4, top, Math.max(60, Math.min(gridHeight - gap, 300)), scale, text);
        return image;
    }

    /** layer-L-head-H.png: one head, tokens as labels. */
    public static BufferedImage singleHead(AttentionMaps maps, int layer, int head) {
        float[][] weights = maps.weights()[layer][head];
        List<String> rowLabels = new ArrayList<>();
        for (int position : maps.rows()) {
            rowLabels.add(position + " " + TextPainter.visible(maps.tokens().get(position)));
        }
        List<String> keyLabels = new ArrayList<>();
        for (String token : maps.tokens()) {
            keyLabels.add(TextPainter.visible(token));
        }
        double max = 0;
        for (float[] row : weights) {
            for (float w : row) {
                max = Math.max(max, w);
            }
        }
        return matrix(weights.length, maps.sequenceLength(), (r, c) -> weights[r][c], Scale.sequentialTo(max),
                "layer " + layer + " head " + head + " - " + name(maps), "key (attended to)", "query", rowLabels,
                keyLabels);
    }

    /** A generic heatmap of a [rows × columns] table. */
    public static BufferedImage matrix(double[][] values, boolean diverging, String title, String xTitle,
                                       String yTitle, List<String> rowLabels, List<String> columnLabels) {
        double max = 0;
        for (double[] row : values) {
            for (double v : row) {
                max = Math.max(max, diverging ? Math.abs(v) : v);
            }
        }
        double min = 0;
        if (!diverging) {
            min = Double.POSITIVE_INFINITY;
            for (double[] row : values) {
                for (double v : row) {
                    min = Math.min(min, v);
                }
            }
            min = Math.min(0, min);
        }
        Scale scale = diverging ? Scale.divergingTo(max) : new Scale(min, max > min ? max : min + 1e-9, false);
        return matrix(values.length, values.length == 0 ? 0 : values[0].length, (r, c) -> values[r][c], scale, title,
                xTitle, yTitle, rowLabels, columnLabels);
    }

    /** Every n-th label fits when cells are small or there are many: n ≥ count/64 and n·cell ≥ text height. */
    static int labelStep(int count, double cellPixels, int textHeight) {
        int step = Math.max(1, (count + 63) / 64);
        while (step * cellPixels < textHeight) {
            step++;
        }
        return step;
    }

    static BufferedImage matrix(int rows, int columns, Cells cells, Scale scale, String title, String xTitle,
                                String yTitle, List<String> rowLabels, List<String> columnLabels) {
        if (rows == 0 || columns == 0) {
            throw new IllegalArgumentException("an empty matrix (" + rows + " x " + columns + ") has no picture");
        }
        TextPainter text = TextPainter.choose(11);
        int longest = Math.max(rows, columns);
        int cell = cellSize(longest, MATRIX_SIDE, 24);
        int plotWidth = cell > 0 ? columns * cell : Math.max(1, (int) Math.round((double) columns * MATRIX_SIDE / longest));
        int plotHeight = cell > 0 ? rows * cell : Math.max(1, (int) Math.round((double) rows * MATRIX_SIDE / longest));
        List<String> rowNames = labels(rowLabels, rows);
        List<String> columnNames = labels(columnLabels, columns);
        int rowStep = labelStep(rows, (double) plotHeight / rows, text.height());
        int columnStep = labelStep(columns, (double) plotWidth / columns, text.height());
        int rowLabelWidth = 0;
        for (int r = 0; r < rows; r += rowStep) {
            rowLabelWidth = Math.max(rowLabelWidth, text.width(rowNames.get(r)));
        }
        int columnLabelHeight = 0;
        for (int c = 0; c < columns; c += columnStep) {
            columnLabelHeight = Math.max(columnLabelHeight, text.width(columnNames.get(c)));
        }
        int titleHeight = text.height() + 6;
        int left = text.height() + 6 + rowLabelWidth + 6;
        int top = titleHeight + text.height() + 4 + columnLabelHeight + 4;
        int width = Math.max(left + plotWidth + 8 + legendWidth(scale, text), text.width(title) + 8);
        int height = top + Math.max(plotHeight, 60) + 8;
        BufferedImage image = blank(width, height);
        text.draw(image, title, 4, 3, INK, false);
        // x title above the column labels, y title rotated along the left edge
        text.draw(image, xTitle, left + Math.max(0, (plotWidth - text.width(xTitle)) / 2), titleHeight, INK, false);
        text.draw(image, yTitle, 2, top + Math.max(0, (plotHeight - text.width(yTitle)) / 2), INK, true);
        for (int r = 0; r < rows; r += rowStep) {
            String label = rowNames.get(r);
            int centre = top + (int) ((r + 0.5) * plotHeight / rows);
            text.draw(image, label, left - 4 - text.width(label), centre - text.height() / 2, INK, false);
        }
        for (int c = 0; c < columns; c += columnStep) {
            String label = columnNames.get(c);
            int centre = left + (int) ((c + 0.5) * plotWidth / columns);
            text.draw(image, label, centre - text.height() / 2, top - 4 - text.width(label), INK, true);
        }
        paintCells(image, left, top, plotWidth, plotHeight, rows, columns, cells, scale);
        legend(image, left + plotWidth + 6, top, Math.max(60, Math.min(plotHeight, 300)), scale, text);
        return image;
    }

    private static List<String> labels(List<String> given, int count) {
        List<String> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            out.add(TextPainter.abbreviate(given != null && i < given.size() ? given.get(i) : Integer.toString(i),
                    LABEL_CHARS));
        }
        return out;
    }

    /**
     * A line chart (or bars) of series over the index 0..n-1, y linear or log10 (log: values ≤ 0 are left out).
     *
     * @param series [series][index]
     */
    public static BufferedImage chart(String title, String xTitle, String yTitle, List<String> names,
                                      double[][] series, boolean logY, boolean bars) {
        TextPainter text = TextPainter.choose(11);
        int n = 0;
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (double[] s : series) {
            n = Math.max(n, s.length);
            for (double v : s) {
                if (Double.isFinite(v) && (!logY || v > 0)) {
                    double y = logY ? Math.log10(v) : v;
                    lo = Math.min(lo, y);
                    hi = Math.max(hi, y);
                }
            }
        }
        if (n == 0 || lo > hi) {
            throw new IllegalArgumentException("nothing to plot in '" + title + "'" + (logY ? " (log scale needs values > 0)" : ""));
        }
        if (logY) {
            lo = Math.floor(lo);
            hi = Math.max(Math.ceil(hi), lo + 1);
        } else {
            if (bars) {
                lo = Math.min(lo, 0);
                hi = Math.max(hi, 0);
            }
            if (hi == lo) {
                hi = lo + 1;
            }
        }
        int plotWidth = Math.max(320, Math.min(900, n * 12));
        int plotHeight = 300;
        int left = text.height() + 6 + Math.max(text.width(tick(hi, logY)), text.width(tick(lo, logY))) + 8;
        int top = text.height() + 10;
        int legendRows = names.size();
        int height = top + plotHeight + 8 + text.height() * 2 + 8 + legendRows * (text.height() + 2);
        int width = Math.max(left + plotWidth + 16, text.width(title) + 8);
        BufferedImage image = blank(width, height);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        text.draw(image, title, 4, 3, INK, false);
        // y ticks: every power of ten on a log scale, else five even steps
        int tickCount = logY ? (int) (hi - lo) : 4;
        for (int t = 0; t <= tickCount; t++) {
            double v = lo + (hi - lo) * t / tickCount;
            int y = top + plotHeight - (int) Math.round((v - lo) / (hi - lo) * plotHeight);
            g.setColor(GRID);
            g.drawLine(left, y, left + plotWidth, y);
            String label = tick(v, logY);
            text.draw(image, label, left - 4 - text.width(label), y - text.height() / 2, INK, false);
        }
        int xStep = labelStep(n, (double) plotWidth / n, text.width(Integer.toString(n - 1)) + 4);
        for (int i = 0; i < n; i += xStep) {
            String label = Integer.toString(i);
            int x = left + (int) ((i + 0.5) * plotWidth / n);
            text.draw(image, label, x - text.width(label) / 2, top + plotHeight + 4, INK, false);
        }
        text.draw(image, xTitle, left + (plotWidth - text.width(xTitle)) / 2, top + plotHeight + 4 + text.height() + 2, INK, false);
        text.draw(image, yTitle, 2, top + Math.max(0, (plotHeight - text.width(yTitle)) / 2), INK, true);
        g.setColor(INK);
        g.drawRect(left, top, plotWidth, plotHeight);
        for (int s = 0; s < series.length; s++) {
            g.setColor(SERIES[s % SERIES.length]);
            g.setStroke(new BasicStroke(1.5f));
            int previousX = -1;
            int previousY = -1;
            for (int i = 0; i < series[s].length; i++) {
                double v = series[s][i];
                if (!Double.isFinite(v) || (logY && v <= 0)) {
                    previousX = -1;
                    continue;
                }
                double yValue = logY ? Math.log10(v) : v;
                int x = left + (int) ((i + 0.5) * plotWidth / n);
                int y = top + plotHeight - (int) Math.round((yValue - lo) / (hi - lo) * plotHeight);
                if (bars) {
                    int slot = Math.max(1, plotWidth / n / series.length);
                    int bx = left + i * plotWidth / n + s * slot;
                    int base = logY ? top + plotHeight : top + plotHeight - (int) Math.round((0 - lo) / (hi - lo) * plotHeight);
                    g.fillRect(bx, Math.min(y, base), Math.max(1, slot - 1), Math.max(1, Math.abs(base - y)));
                } else {
                    if (previousX >= 0) {
                        g.drawLine(previousX, previousY, x, y);
                    }
                    g.fillOval(x - 2, y - 2, 4, 4);
                    previousX = x;
                    previousY = y;
                }
            }
            int ly = top + plotHeight + 8 + text.height() * 2 + 4 + s * (text.height() + 2);
            g.fillRect(left, ly + text.height() / 2 - 2, 16, 4);
            text.draw(image, names.get(s), left + 22, ly, INK, false);
        }
        g.dispose();
        return image;
    }

    private static String tick(double v, boolean log) {
        return log ? "1e" + (int) Math.round(v) : format(v);
    }

    private static String name(AttentionMaps maps) {
        String model = maps.model() == null ? "" : maps.model();
        int slash = model.lastIndexOf('/');
        return TextPainter.visible(slash >= 0 ? model.substring(slash + 1) : model);
    }

    private static String rowsText(AttentionMaps maps) {
        int[] rows = maps.rows();
        boolean all = rows.length == maps.sequenceLength();
        return all ? "all" : rows.length + " of " + maps.sequenceLength();
    }

    /** Writes a PNG atomically. */
    public static void writePng(Path file, BufferedImage image) throws IOException {
        AtomicFiles.write(file, out -> {
            if (!javax.imageio.ImageIO.write(image, "png", out)) {
                throw new IOException("the JDK has no PNG writer");
            }
        });
    }

    /** The file name of one head's picture. */
    public static String headFileName(int layer, int head) {
        return "layer-" + layer + "-head-" + head + ".png";
    }

    /** Writes heads.png and, for each given (layer, head) pair, layer-L-head-H.png into dir; returns the files. */
    public static List<Path> writeAll(AttentionMaps maps, Path dir, List<int[]> heads) throws IOException {
        List<Path> written = new ArrayList<>();
        Path grid = dir.resolve("heads.png");
        writePng(grid, headsGrid(maps));
        written.add(grid);
        for (int[] lh : heads) {
            Path file = dir.resolve(headFileName(lh[0], lh[1]));
            writePng(file, singleHead(maps, lh[0], lh[1]));
            written.add(file);
        }
        return written;
    }
}
