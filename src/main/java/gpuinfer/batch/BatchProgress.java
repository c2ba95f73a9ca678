package gpuinfer.batch;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * The progress of a batch on stderr: requests done of the total (those finished by an earlier run included), the
 * rate of this run in requests and generated tokens per second, and the time left at that rate. Redrawn in place on
 * a terminal (at most ten times a second); elsewhere (a log, a cluster job's output) one line every
 * {@code logSeconds}, and one at the end.
 */
public final class BatchProgress implements AutoCloseable {
    private final PrintWriter err;
    private final int total;
    private final int before;
    private final boolean interactive;
    private final double logSeconds;
    private long start = System.nanoTime();
    private long lastDraw;
    private int done;
    private long tokens;

    /**
     * @param total  requests in this job (or shard)
     * @param before those an earlier run finished
     */
    public BatchProgress(PrintWriter err, int total, int before, boolean interactive, double logSeconds) {
        this.err = err;
        this.total = total;
        this.before = before;
        this.interactive = interactive;
        this.logSeconds = logSeconds;
        this.lastDraw = interactive ? 0 : start;
    }

    public BatchProgress(PrintWriter err, int total, int before) {
        this(err, total, before, System.console() != null, 10);
    }

    /** Starts the rate's clock again (once the model is ready: loading it is not part of the rate). */
    public synchronized void startClock() {
        start = System.nanoTime();
    }

    /** One more request finished, having generated {@code generated} tokens. */
    public synchronized void finished(int generated) {
        done++;
        tokens += generated;
        long now = System.nanoTime();
        long every = interactive ? 100_000_000L : (long) (logSeconds * 1e9);
        if (now - lastDraw >= every) {
            lastDraw = now;
            draw(now, false);
        }
    }

    /** The line as it is drawn now, e.g. "requests 37/200 (18%), 2.1 requests/s, 84 tokens/s, 1m18s left". */
    synchronized String line(long now) {
        double seconds = Math.max(1e-9, (now - start) / 1e9);
        int all = before + done;
        double rate = done / seconds;
        String left = done == 0 ? "time left unknown" : duration((total - all) / rate) + " left";
        return String.format(Locale.ROOT, "requests %d/%d (%.0f%%), %.2f requests/s, %.1f tokens/s, %s", all, total,
                100.0 * all / Math.max(1, total), rate, tokens / seconds, left);
    }

    private void draw(long now, boolean last) {
        String line = line(now);
        if (interactive) {
            err.print("\r\033[K" + line + (last ? "\n" : ""));
        } else {
            err.println(line);
        }
        err.flush();
    }

    /** "45s", "3m05s", "2h07m". */
    static String duration(double seconds) {
        long s = Math.round(seconds);
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        }
        return String.format(Locale.ROOT, "%dh%02dm", s / 3600, s % 3600 / 60);
    }

    @Override
    public synchronized void close() {
        draw(System.nanoTime(), true);
    }
}
