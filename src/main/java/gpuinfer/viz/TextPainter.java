package gpuinfer.viz;

import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;

/**
 * Draws labels into pictures: with the JDK's fonts where the machine has any, else with {@link TinyFont} (a bare
 * headless JDK without fonts throws on its first {@code drawString}; pictures must still come out). The system property
 * {@code gpuinfer.viz.font=builtin} forces the built-in font (tests use it to check that path).
 */
public abstract class TextPainter {
    public static final String FONT_PROPERTY = "gpuinfer.viz.font";

    /** Whether the JDK can draw text here; probed once. */
    private static volatile Boolean jdkFontsWork;

    /** The painter for this machine: JDK fonts when they work and are not switched off, else the built-in font. */
    public static TextPainter choose(int pixelSize) {
        if (!"builtin".equalsIgnoreCase(System.getProperty(FONT_PROPERTY, "")) && jdkFontsWork()) {
            return new Jdk(pixelSize);
        }
        return new Builtin(Math.max(1, Math.round(pixelSize / (float) TinyFont.CELL_HEIGHT)));
    }

    private static boolean jdkFontsWork() {
        Boolean works = jdkFontsWork;
        if (works == null) {
            try {
                BufferedImage probe = new BufferedImage(32, 16, BufferedImage.TYPE_INT_ARGB);
                Graphics2D g = probe.createGraphics();
                g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
                g.setColor(Color.BLACK);
                g.drawString("Ag", 1, 12);
                g.dispose();
                works = java.awt.GraphicsEnvironment.getLocalGraphicsEnvironment().getAvailableFontFamilyNames().length > 0;
            } catch (RuntimeException | Error noFonts) {
                // no fonts (or no fontconfig) on this machine: the built-in font draws the labels
                works = false;
            }
            jdkFontsWork = works;
        }
        return works;
    }

    /** Printable text for a token: control characters and other invisible ones as escapes (\n, \t, \\uXXXX). */
    public static String visible(String token) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            switch (c) {
                case '\n' -> out.append("\\n");
                case '\t' -> out.append("\\t");
                case '\r' -> out.append("\\r");
                default -> {
                    if (Character.isISOControl(c) || Character.getType(c) == Character.FORMAT) {
                        out.append(String.format("\\u%04X", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.toString();
    }

    /** {@code text} cut to at most {@code max} characters, ending with ".." when cut. */
    public static String abbreviate(String text, int max) {
        return text.length() <= max ? text : text.substring(0, Math.max(1, max - 2)) + "..";
    }

    public abstract int width(String text);

    public abstract int height();

    /** Whether this painter is the built-in bitmap font. */
    public abstract boolean builtin();

    /** The text drawn alone on a transparent image, {@link #width} × {@link #height}. */
    public abstract BufferedImage render(String text, Color color);

    /** Draws text with its top-left corner at (x, y); rotated 90° counter-clockwise (reading upwards) when asked. */
    public void draw(BufferedImage target, String text, int x, int y, Color color, boolean rotated) {
        if (text.isEmpty()) {
            return;
        }
        BufferedImage label = render(text, color);
        int w = label.getWidth();
        int h = label.getHeight();
        for (int ly = 0; ly < h; ly++) {
            for (int lx = 0; lx < w; lx++) {
                int argb = label.getRGB(lx, ly);
                int alpha = argb >>> 24;
                if (alpha == 0) {
                    continue;
                }
                // rotated: label pixel (lx, ly) goes to (x + ly, y + w - 1 - lx)
                int px = rotated ? x + ly : x + lx;
                int py = rotated ? y + w - 1 - lx : y + ly;
                if (px < 0 || py < 0 || px >= target.getWidth() || py >= target.getHeight()) {
                    continue;
                }
                target.setRGB(px, py, blend(target.getRGB(px, py), argb));
            }
        }
    }

    private static int blend(int under, int over) {
        int a = over >>> 24;
        int r = ((over >> 16 & 255) * a + (under >> 16 & 255) * (255 - a)) / 255;
        int g = ((over >> 8 & 255) * a + (under >> 8 & 255) * (255 - a)) / 255;
        int b = ((over & 255) * a + (under & 255) * (255 - a)) / 255;
        return 0xFF000000 | r << 16 | g << 8 | b;
    }

    /** The JDK's sans-serif font at a pixel size. */
    static final class Jdk extends TextPainter {
        private final Font font;
        private final FontMetrics metrics;

        Jdk(int pixelSize) {
            font = new Font(Font.SANS_SERIF, Font.PLAIN, pixelSize);
            BufferedImage scratch = new BufferedImage(1, 1, BufferedImage.TYPE_INT_ARGB);
            Graphics2D g = scratch.createGraphics();
            metrics = g.getFontMetrics(font);
            g.dispose();
        }

        @Override
        public int width(String text) {
            return Math.max(1, metrics.stringWidth(text));
        }

        @Override
        public int height() {
            return metrics.getAscent() + metrics.getDescent();
        }

        @Override
        public boolean builtin() {
            return false;
        }

        @Override
        public BufferedImage render(String text, Color color) {
            BufferedImage label = new BufferedImage(width(text), height(), BufferedImage.TYPE_INT_ARGB);
            Graphics2D g = label.createGraphics();
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setFont(font);
            g.setColor(color);
            g.drawString(text, 0, metrics.getAscent());
            g.dispose();
            return label;
        }
    }

    /** {@link TinyFont}, each font pixel scale×scale. */
    static final class Builtin extends TextPainter {
        private final int scale;

        Builtin(int scale) {
            this.scale = scale;
        }

        @Override
        public int width(String text) {
            return Math.max(1, TinyFont.width(text, scale));
        }

        @Override
        public int height() {
            return TinyFont.height(scale);
        }

        @Override
        public boolean builtin() {
            return true;
        }

        @Override
        public BufferedImage render(String text, Color color) {
            BufferedImage label = new BufferedImage(width(text), height(), BufferedImage.TYPE_INT_ARGB);
            TinyFont.draw(label, 0, 0, text, color.getRGB(), scale);
            return label;
        }
    }
}
