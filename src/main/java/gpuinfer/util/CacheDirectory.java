package gpuinfer.util;

import java.nio.file.Path;
import java.util.Locale;

/**
 * Where gpu-infer keeps what it can rebuild (compiled programs, later tuning results): {@code -Dgpuinfer.cacheDir},
 * else {@code GPU_INFER_CACHE_DIR}, else {@code $XDG_CACHE_HOME/gpu-infer}, else the platform's user cache folder
 * ({@code ~/.cache/gpu-infer}, {@code ~/Library/Caches/gpu-infer}, {@code %LOCALAPPDATA%\gpu-infer}).
 */
public final class CacheDirectory {
    private CacheDirectory() {
    }

    public static Path root() {
        String property = System.getProperty("gpuinfer.cacheDir");
        if (property != null && !property.isBlank()) {
            return Path.of(property);
        }
        String env = System.getenv("GPU_INFER_CACHE_DIR");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && !xdg.isBlank()) {
            return Path.of(xdg, "gpu-infer");
        }
        String home = System.getProperty("user.home");
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        if (os.contains("win")) {
            String local = System.getenv("LOCALAPPDATA");
            return local != null ? Path.of(local, "gpu-infer") : Path.of(home, "AppData", "Local", "gpu-infer");
        }
        if (os.contains("mac")) {
            return Path.of(home, "Library", "Caches", "gpu-infer");
        }
        return Path.of(home, ".cache", "gpu-infer");
    }
}
