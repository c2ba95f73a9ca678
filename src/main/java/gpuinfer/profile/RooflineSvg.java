package gpuinfer.profile;

import gpuinfer.util.AtomicFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * A roofline picture (SVG): attainable GFLOP/s against arithmetic intensity (FLOPs per byte), both logarithmic,
 * with the device's two measured ceilings (copy bandwidth and FMA throughput) and one point per kernel.
 */
public final class RooflineSvg {
    private static final int WIDTH = 900;
    private static final int HEIGHT = 560;
    private static final int LEFT = 80;
    private static final int RIGHT = 260;
    private static final int TOP = 40;
    private static final int BOTTOM = 60;

    private RooflineSvg() {
    }

    public static void write(Path file, String title, List<KernelProfile.Row> rows, DevicePeaks peaks) throws IOException {
        String svg = render(title, rows, peaks);
        AtomicFiles.write(file, out -> out.write(svg.getBytes(StandardCharsets.UTF_8)));
    }

    static String render(String title, List<KernelProfile.Row> rows, DevicePeaks peaks) {
        double xMin = 1.0 / 64;
        double xMax = 1024;
        double yMax = Math.pow(10, Math.ceil(Math.log10(peaks.gflops() * 2)));
        double yMin = yMax / 1e5;
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">%n", WIDTH, HEIGHT));
        s.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", WIDTH, HEIGHT));
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"24\" font-size=\"15\">%s</text>%n", LEFT, escape(title)));
        // grid and axes
        for (double x = xMin; x <= xMax * 1.0001; x *= 4) {
            double px = px(x, xMin, xMax);
            s.append(line(px, TOP, px, HEIGHT - BOTTOM, "#eee"));
            s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n", px, HEIGHT - BOTTOM + 16, number(x)));
        }
        for (double y = yMin; y <= yMax * 1.0001; y *= 10) {
            double py = py(y, yMin, yMax);
            s.append(line(LEFT, py, WIDTH - RIGHT, py, "#eee"));
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n", LEFT - 6, py + 4, number(y)));
        }
        s.append(line(LEFT, HEIGHT - BOTTOM, WIDTH - RIGHT, HEIGHT - BOTTOM, "#000"));
        s.append(line(LEFT, TOP, LEFT, HEIGHT - BOTTOM, "#000"));
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">arithmetic intensity (FLOP per byte)</text>%n",
                (LEFT + WIDTH - RIGHT) / 2, HEIGHT - 18));
        s.append(String.format(Locale.ROOT, "<text transform=\"translate(20,%d) rotate(-90)\" text-anchor=\"middle\">GFLOP/s</text>%n",
                (TOP + HEIGHT - BOTTOM) / 2));
        // ceilings: bandwidth slope up to the ridge, then the compute roof
        double ridge = peaks.gflops() / peaks.copyGbps();
        double x0 = Math.max(xMin, yMin / peaks.copyGbps());
        s.append(line(px(x0, xMin, xMax), py(x0 * peaks.copyGbps(), yMin, yMax), px(Math.min(ridge, xMax), xMin, xMax),
                py(Math.min(ridge, xMax) * peaks.copyGbps(), yMin, yMax), "#c00", 2));
        s.append(line(px(Math.min(ridge, xMax), xMin, xMax), py(peaks.gflops(), yMin, yMax), px(xMax, xMin, xMax),
                py(peaks.gflops(), yMin, yMax), "#c00", 2));
        s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#c00\">%.0f GFLOP/s (FMA)</text>%n",
                px(Math.min(ridge, xMax), xMin, xMax) + 6, py(peaks.gflops(), yMin, yMax) - 6, peaks.gflops()));
        s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#c00\">%.1f GB/s (copy)</text>%n",
                px(x0, xMin, xMax) + 6, py(x0 * peaks.copyGbps(), yMin, yMax) - 8, peaks.copyGbps()));
        // kernels
        String[] colours = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#d62728"};
        int i = 0;
        for (KernelProfile.Row r : rows) {
            if (r.flopsPerLaunch() <= 0 || r.bytesPerLaunch() <= 0 || r.gflops() <= 0) {
                continue;
            }
            String c = colours[i % colours.length];
            double x = Math.max(xMin, Math.min(xMax, r.intensity()));
            double y = Math.max(yMin, Math.min(yMax, r.gflops()));
            s.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"><title>%s %s: %.2f GFLOP/s at %.2f FLOP/byte</title></circle>%n",
                    px(x, xMin, xMax), py(y, yMin, yMax), c, escape(r.kernel()), escape(r.global()), r.gflops(), r.intensity()));
            s.append(String.format(Locale.ROOT, "<circle cx=\"%d\" cy=\"%d\" r=\"5\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s %s</text>%n",
                    WIDTH - RIGHT + 16, TOP + 10 + 18 * i, c, WIDTH - RIGHT + 26, TOP + 14 + 18 * i, escape(r.kernel()),
                    escape(r.label().isEmpty() ? r.global() : r.label())));
            i++;
        }
        s.append("</svg>\n");
        return s.toString();
    }

    private static double px(double x, double min, double max) {
        return LEFT + (WIDTH - LEFT - RIGHT) * (Math.log(x / min) / Math.log(max / min));
    }

    private static double py(double y, double min, double max) {
        return HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * (Math.log(y / min) / Math.log(max / min));
    }

    private static String line(double x1, double y1, double x2, double y2, String colour) {
        return line(x1, y1, x2, y2, colour, 1);
    }

    private static String line(double x1, double y1, double x2, double y2, String colour, int width) {
        return String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"%d\"/>%n",
                x1, y1, x2, y2, colour, width);
    }

    private static String number(double v) {
        return v >= 1 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "1/%.0f", 1 / v);
    }

    private static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}
