package gpuinfer.util;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * A one-line progress report on stderr for long loads and runs: redrawn in place on a terminal, or printed once
 * when finished otherwise (so logs are not flooded).
 */
public final class Progress implements AutoCloseable {
    private final PrintWriter err;
    private final String what;
    private final long total;
    private final boolean interactive;
    private final double quietBelowSeconds;
    private final long start = System.nanoTime();
    private long lastDraw;
    private long done;

    public Progress(PrintWriter err, String what, long total) {
        this(err, what, total, 0);
    }

    /** As above, saying nothing at the end when the work took less than {@code quietBelowSeconds}. */
    public Progress(PrintWriter err, String what, long total, double quietBelowSeconds) {
        this.err = err;
        this.what = what;
        this.total = Math.max(1, total);
        this.interactive = System.console() != null;
        this.quietBelowSeconds = quietBelowSeconds;
    }

    public void step(long amount) {
        done += amount;
        long now = System.nanoTime();
        if (interactive && now - lastDraw > 100_000_000L) {
            lastDraw = now;
            err.printf(Locale.ROOT, "\r%s %3.0f%%", what, 100.0 * done / total);
            err.flush();
        }
    }

    @Override
    public void close() {
        double seconds = (System.nanoTime() - start) / 1e9;
        if (seconds < quietBelowSeconds) {
            if (interactive && lastDraw != 0) {
                err.print("\r\033[K");
                err.flush();
            }
            return;
        }
        err.printf(Locale.ROOT, "%s%s done in %.1f s%n", interactive ? "\r" : "", what, seconds);
        err.flush();
    }
}
