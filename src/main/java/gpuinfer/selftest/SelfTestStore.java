package gpuinfer.selftest;

import gpuinfer.cl.DeviceInfo;
import gpuinfer.util.AtomicFiles;
import gpuinfer.util.CacheDirectory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The self-test's results for one device and driver, in {@code <cache dir>/selftest/<device>-<driver>.tsv}, valid
 * for one set of kernel sources: results stored for other sources (an older or newer gpu-infer, a changed kernel) are
 * ignored and replaced. Written atomically; a damaged file reads as empty, so the variants are tested again.
 *
 * <p>The file is tab-separated text, one line per variant under a few header lines, rather than JSON: every run
 * reads it, and loading a JSON library costs a cold JVM 0.2 to 0.9 s (measured with Jackson on the 2-core test
 * machine), far more than the rest of this class.
 */
public final class SelfTestStore {
    private static final String FORMAT = "gpu-infer device self-test v1";
    private static final List<String> COLUMNS = List.of("variant", "point", "status", "maxAbsError", "nmse",
            "tolerance", "millis", "shapes", "detail");

    /**
     * What the stored results hold for: the device's name, its driver version and the hash of the kernel sources.
     */
    public record Key(String device, String driver, String kernelSources) {
    }

    /** Results stored by the stores of {@link #forDevice} in this process, by key: see {@link #forDevice}. */
    private static final Map<Key, Map<String, VariantResult>> REMEMBERED = new ConcurrentHashMap<>();

    private final Path file;
    private final Key key;
    private final boolean remembered;

    /** A store in {@code file} for {@code key} alone. */
    public SelfTestStore(Path file, Key key) {
        this(file, key, false);
    }

    private SelfTestStore(Path file, Key key, boolean remembered) {
        this.file = file;
        this.key = key;
        this.remembered = remembered;
    }

    /**
     * The store of a device in the cache directory, for the kernel sources of this gpu-infer. It also remembers what
     * it stored for the rest of the process, so that a process that changes its cache directory (tests do) does not
     * test a device again.
     */
    public static SelfTestStore forDevice(DeviceInfo device) {
        Key key = new Key(device.name(), device.driverVersion(), KernelSourcesHash.current());
        String stem = (device.name() + "-" + device.driverVersion()).replaceAll("[^A-Za-z0-9_.-]+", "_");
        return new SelfTestStore(CacheDirectory.root().resolve("selftest").resolve(stem + ".tsv"), key, true);
    }

    public Path file() {
        return file;
    }

    public Key key() {
        return key;
    }

    /** The stored results by variant name: empty when there is no file, it is damaged, or it holds another key. */
    public Map<String, VariantResult> load() {
        Map<String, VariantResult> results = new LinkedHashMap<>(remembered ? REMEMBERED.getOrDefault(key, Map.of()) : Map.of());
        results.putAll(read());
        return results;
    }

    private Map<String, VariantResult> read() {
        Map<String, VariantResult> results = new LinkedHashMap<>();
        if (!Files.isRegularFile(file)) {
            return results;
        }
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            if (lines.size() < 5 || !lines.get(0).equals(FORMAT) || !lines.get(1).equals("device\t" + clean(key.device()))
                    || !lines.get(2).equals("driver\t" + clean(key.driver()))
                    || !lines.get(3).equals("kernel-sources\t" + key.kernelSources())
                    || !lines.get(4).equals("columns\t" + String.join("\t", COLUMNS))) {
                return results;
            }
            for (String line : lines.subList(5, lines.size())) {
                String[] f = line.split("\t", -1);
                if (f.length != COLUMNS.size()) {
                    return new LinkedHashMap<>();
                }
                results.put(f[0], new VariantResult(f[0], f[1], VariantResult.Status.parse(f[2]), f[7],
                        Double.parseDouble(f[3]), Double.parseDouble(f[4]), f[5], Double.parseDouble(f[6]), f[8]));
            }
            return results;
        } catch (IOException | RuntimeException damaged) {
            // unreadable or not what this version writes: test again and write it anew
            return new LinkedHashMap<>();
        }
    }

    /** Replaces the stored results with {@code results} (under this store's key). */
    public void save(Collection<VariantResult> results) throws IOException {
        StringBuilder text = new StringBuilder();
        text.append(FORMAT).append('\n');
        text.append("device\t").append(clean(key.device())).append('\n');
        text.append("driver\t").append(clean(key.driver())).append('\n');
        text.append("kernel-sources\t").append(key.kernelSources()).append('\n');
        text.append("columns\t").append(String.join("\t", COLUMNS)).append('\n');
        for (VariantResult r : results) {
            text.append(String.join("\t", clean(r.variant()), clean(r.point()), r.status().name(),
                    Double.toString(r.maxAbsError()), Double.toString(r.nmse()), clean(r.tolerance()),
                    Double.toString(Math.round(r.millis() * 10) / 10.0), clean(r.shapes()), clean(r.detail()))).append('\n');
        }
        if (remembered) {
            Map<String, VariantResult> copy = new LinkedHashMap<>();
            results.forEach(r -> copy.put(r.variant(), r));
            REMEMBERED.put(key, java.util.Collections.unmodifiableMap(copy));
        }
        byte[] bytes = text.toString().getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(file, out -> out.write(bytes));
    }

    /** A value on one line of one column: tabs and line breaks become spaces. */
    private static String clean(String value) {
        return value.replaceAll("[\t\r\n]+", " ");
    }
}
