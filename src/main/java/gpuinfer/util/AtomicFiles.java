package gpuinfer.util;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Writes a file so that no reader ever sees it half-written: the bytes go to a temporary file in the same folder,
 * which is then renamed over the target. An interrupted or failed write leaves the old file (or none), never a
 * truncated one.
 */
public final class AtomicFiles {
    /** Temporary files being written now; a shutdown hook removes any left when the process is interrupted. */
    private static final java.util.Set<Path> IN_PROGRESS = java.util.concurrent.ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Path temp : IN_PROGRESS) {
                try {
                    Files.deleteIfExists(temp);
                } catch (IOException ignored) {
                    // nothing more can be done while the process ends
                }
            }
        }, "gpu-infer partial-file cleanup"));
    }

    private AtomicFiles() {
    }

    /** Writes the whole body to {@code target}. */
    public interface Body {
        void writeTo(OutputStream out) throws IOException;
    }

    /**
     * A temporary file is created readable by its owner only; the file it becomes gets the usual rw-r--r-- (as a
     * plain file creation under the common umask 022 would), so that a model or tensor written here can be shared.
     */
    private static void readableByAll(Path file) {
        try {
            Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        } catch (UnsupportedOperationException | IOException ignored) {
            // not a POSIX file system: its defaults apply
        }
    }

    public static void write(Path target, Body body) throws IOException {
        Path absolute = target.toAbsolutePath();
        Path dir = absolute.getParent();
        Files.createDirectories(dir);
        Path temp = Files.createTempFile(dir, "." + absolute.getFileName() + ".", ".partial");
        IN_PROGRESS.add(temp);
        readableByAll(temp);
        try {
            try (OutputStream out = Files.newOutputStream(temp)) {
                body.writeTo(out);
            }
            try {
                Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, absolute, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(temp);
            IN_PROGRESS.remove(temp);
        }
    }
}
