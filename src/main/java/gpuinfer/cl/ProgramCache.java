package gpuinfer.cl;

import gpuinfer.util.AtomicFiles;
import gpuinfer.util.CacheDirectory;

import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Optional;

/**
 * Compiled program binaries on disk, one file per (platform, device, driver version, source hash, options), under
 * {@code <cache dir>/programs/}. Files are written to a temporary name and renamed, so two processes building at
 * once never see a half-written file; each file carries a magic, its length and a SHA-256 of the binary, so a
 * damaged file is detected and rebuilt rather than handed to the driver.
 */
public final class ProgramCache {
    private static final byte[] MAGIC = "GPUIBIN1".getBytes(StandardCharsets.US_ASCII);
    private static final int HEADER_BYTES = MAGIC.length + 8 + 32;

    private final Path directory;

    private ProgramCache(Path directory) {
        this.directory = directory;
    }

    /** The cache in the user's cache directory (see {@link CacheDirectory}). */
    public static ProgramCache defaultCache() {
        return new ProgramCache(CacheDirectory.root().resolve("programs"));
    }

    public static ProgramCache at(Path directory) {
        return new ProgramCache(directory);
    }

    /** No disk cache ({@code --no-cache}): every program is built from source. */
    public static ProgramCache disabled() {
        return new ProgramCache(null);
    }

    public boolean enabled() {
        return directory != null;
    }

    /** The folder, or null when disabled. */
    public Path directory() {
        return directory;
    }

    /** The cache key: everything that changes the binary. */
    static String key(ClDevice device, KernelSource source, String options) {
        DeviceInfo info = device.info();
        String identity = String.join("\n", "gpu-infer program cache v1", device.platform().name(),
                device.platform().version(), info.name(), info.vendor(), info.driverVersion(), info.openclVersion(),
                source.sha256(), options);
        if (device.isSubDevice()) {
            // A sub-device shares its root device's name and driver, but a driver may specialise a binary for the
            // compute units it runs on; so that a binary never crosses between them, sub-devices get keys of their
            // own (root devices keep theirs, so existing caches stay valid).
            identity += "\nsub-device of " + info.computeUnits() + " compute units of a device of "
                    + device.parent().info().computeUnits();
        }
        return KernelSource.sha256(identity);
    }

    Path file(String key, KernelSource source) {
        String stem = source.name().replaceAll("[^A-Za-z0-9_.-]", "_");
        return directory.resolve(stem + "-" + key.substring(0, 32) + ".bin");
    }

    /** The stored binary, if present and intact. */
    Optional<byte[]> load(String key, KernelSource source) {
        if (directory == null) {
            return Optional.empty();
        }
        Path file = file(key, source);
        try {
            if (!Files.isRegularFile(file)) {
                return Optional.empty();
            }
            byte[] all = Files.readAllBytes(file);
            if (all.length < HEADER_BYTES || !Arrays.equals(Arrays.copyOf(all, MAGIC.length), MAGIC)) {
                return Optional.empty();
            }
            ByteBuffer header = ByteBuffer.wrap(all);
            long length = header.getLong(MAGIC.length);
            if (length != all.length - HEADER_BYTES) {
                return Optional.empty();
            }
            byte[] binary = Arrays.copyOfRange(all, HEADER_BYTES, all.length);
            byte[] storedHash = Arrays.copyOfRange(all, MAGIC.length + 8, HEADER_BYTES);
            return Arrays.equals(storedHash, sha256(binary)) ? Optional.of(binary) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Stores a binary; a failure to write only costs a rebuild next time, so it is reported, not thrown. */
    void store(String key, KernelSource source, byte[] binary) {
        if (directory == null || binary.length == 0) {
            return;
        }
        try {
            AtomicFiles.write(file(key, source), out -> {
                DataOutputStream data = new DataOutputStream(out);
                data.write(MAGIC);
                data.writeLong(binary.length);
                data.write(sha256(binary));
                data.write(binary);
                data.flush();
            });
        } catch (IOException | RuntimeException e) {
            System.err.println("warning: could not store the compiled program in " + directory + ": " + e.getMessage());
        }
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
