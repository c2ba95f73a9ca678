package gpuinfer.cl;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;

/**
 * A separate process for {@link ProgramBuildTest}: builds one program, then stores its binary in the cache many
 * times while checking that every load sees the whole binary, never a partial file or nothing. Both writers store
 * the same bytes, read from a file the test wrote: two processes that each build the program may get binaries that
 * differ (PoCL's are not byte-for-byte reproducible), and either would be a correct cache entry.
 */
public final class ProgramCacheWriter {
    static final String OPTIONS = "-DFACTOR=7.0f";

    private ProgramCacheWriter() {
    }

    static Process start(Path cacheDir, String binding, Path binaryFile) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), ProgramCacheWriter.class.getName(),
                cacheDir.toString(), binding, binaryFile.toString()).redirectErrorStream(true).start();
    }

    /** The program's binary as this machine's driver builds it, for the writers to share. */
    static byte[] buildBinary(ClRuntime runtime, ClDevice device) {
        try (ClContext context = runtime.createContext(device, ProgramCache.disabled())) {
            return context.cl.programBinary(context.program(ProgramBuildTest.SCALE, OPTIONS).handle);
        }
    }

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        ClRuntime runtime = ClRuntime.get(args[1]);
        ClDevice device = runtime.select("auto");
        ProgramCache cache = ProgramCache.at(dir);
        String key = ProgramCache.key(device, ProgramBuildTest.SCALE, OPTIONS);
        byte[] binary = Files.readAllBytes(Path.of(args[2]));
        for (int i = 0; i < 200; i++) {
            cache.store(key, ProgramBuildTest.SCALE, binary);
            Optional<byte[]> loaded = cache.load(key, ProgramBuildTest.SCALE);
            if (loaded.isEmpty() || !Arrays.equals(loaded.get(), binary)) {
                System.out.println("iteration " + i + ": the cache returned " + loaded.map(b -> b.length + " bytes")
                        .orElse("nothing") + " after a store of " + binary.length + " bytes");
                System.exit(1);
            }
        }
        System.out.println("ok " + binary.length + " bytes" + File.separator);
        System.exit(0);
    }
}
