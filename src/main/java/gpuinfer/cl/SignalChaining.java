package gpuinfer.cl;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The JVM's signal-chaining library ({@code libjsig}) and why gpu-infer needs it on Linux.
 *
 * <p>The JVM handles SIGSEGV itself: a safepoint poll or an implicit null check in compiled Java code is a
 * deliberate fault. OpenCL compilers built on LLVM (PoCL's, for one) install their own SIGSEGV, SIGBUS, SIGILL and
 * SIGFPE handlers while they write temporary files. If a Java thread faults on purpose while those handlers are in
 * place, LLVM's handler takes the signal and the process dies with "Segmentation fault" and no hs_err file: a crash
 * that comes and goes with the timing of program builds. With {@code libjsig} preloaded the JVM keeps its handlers
 * and passes on to LLVM's only the signals that are not its own. {@code bin/gpu-infer} and the test runner preload
 * it; a JVM started some other way gets a warning on first use of OpenCL.
 */
public final class SignalChaining {
    private static final AtomicBoolean WARNED = new AtomicBoolean();

    private SignalChaining() {
    }

    /** Whether this process needs the library: Linux only (other systems' OpenCL drivers were not seen to do this). */
    static boolean applies() {
        return System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux");
    }

    /** Whether libjsig is mapped into this process, judged from the text of {@code /proc/self/maps}. */
    static boolean loadedIn(String procSelfMaps) {
        return procSelfMaps.lines().anyMatch(line -> line.endsWith("/libjsig.so"));
    }

    /** Whether the JVM runs with signal chaining (always true where it does not apply). */
    public static boolean active() {
        if (!applies()) {
            return true;
        }
        try {
            return loadedIn(Files.readString(Path.of("/proc/self/maps")));
        } catch (IOException | RuntimeException e) {
            return true; // cannot tell: say nothing rather than warn wrongly
        }
    }

    /** The library of the running JVM, which {@code LD_PRELOAD} should name. */
    public static Path library() {
        return Path.of(System.getProperty("java.home"), "lib", "libjsig.so");
    }

    /** The warning for a JVM without signal chaining, or empty when it has it. */
    public static Optional<String> warning() {
        if (active()) {
            return Optional.empty();
        }
        return Optional.of("warning: the JVM runs without its signal-chaining library, so an OpenCL compiler built on "
                + "LLVM (PoCL's, for one) can crash it with 'Segmentation fault' while it builds a kernel. Start "
                + "gpu-infer with bin/gpu-infer, or set LD_PRELOAD=" + library() + " before 'java'.");
    }

    /** Prints {@link #warning()} to stderr, once per process. */
    static void warnOnce() {
        warning().ifPresent(message -> {
            if (WARNED.compareAndSet(false, true)) {
                System.err.println(message);
            }
        });
    }
}
