package gpuinfer.viz;

/**
 * Colour maps computed from a few control points by linear interpolation in sRGB: {@link #sequential} is viridis
 * (perceptually ordered dark blue → green → yellow, readable in greyscale and by most colour-blind readers), sampled at
 * nine evenly spaced points of matplotlib's definition; {@link #diverging} runs blue → white → red for signed values
 * (0 is white). The page's script uses the same control points.
 */
public final class ColorMaps {
    /** viridis at t = 0, 1/8, ..., 1 (RGB 0..255). */
    static final int[][] VIRIDIS = {
            {68, 1, 84}, {71, 45, 123}, {59, 82, 139}, {44, 114, 142}, {33, 145, 140},
            {40, 174, 128}, {94, 201, 98}, {173, 220, 48}, {253, 231, 37}};
    /** blue → white → red at t = 0, 1/4, 1/2, 3/4, 1. */
    static final int[][] BLUE_WHITE_RED = {
            {33, 102, 172}, {146, 197, 222}, {247, 247, 247}, {244, 165, 130}, {178, 24, 43}};

    private ColorMaps() {
    }

    /** viridis at t in [0, 1] (clamped; NaN is grey), as opaque ARGB. */
    public static int sequential(double t) {
        return interpolate(VIRIDIS, t);
    }

    /** blue-white-red at t in [-1, 1] (clamped; 0 is white; NaN is grey), as opaque ARGB. */
    public static int diverging(double t) {
        return interpolate(BLUE_WHITE_RED, Double.isNaN(t) ? t : (t + 1) / 2);
    }

    private static int interpolate(int[][] points, double t) {
        if (Double.isNaN(t)) {
            return 0xFF808080;
        }
        double clamped = Math.max(0, Math.min(1, t));
        double x = clamped * (points.length - 1);
        int i = Math.min(points.length - 2, (int) Math.floor(x));
        double f = x - i;
        int[] a = points[i];
        int[] b = points[i + 1];
        int r = (int) Math.round(a[0] + (b[0] - a[0]) * f);
        int g = (int) Math.round(a[1] + (b[1] - a[1]) * f);
        int bl = (int) Math.round(a[2] + (b[2] - a[2]) * f);
        return 0xFF000000 | r << 16 | g << 8 | bl;
    }
}
