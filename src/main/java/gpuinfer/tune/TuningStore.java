package gpuinfer.tune;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import gpuinfer.cl.DeviceInfo;
import gpuinfer.util.AtomicFiles;
import gpuinfer.util.CacheDirectory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tuned kernel parameters, one JSON file per device and driver version in {@code <cache dir>/tuning/}, written by
 * {@code gpu-infer tune} and applied automatically afterwards (the kernels' option strings show them).
 * {@code GPU_INFER_NO_TUNING=1} ignores stored values.
 */
public final class TuningStore {
    private static final Map<Path, Map<String, Map<String, String>>> LOADED = new ConcurrentHashMap<>();

    private TuningStore() {
    }

    public static Path file(DeviceInfo device) {
        String key = (device.name() + "-" + device.driverVersion()).replaceAll("[^A-Za-z0-9_.-]+", "_");
        return CacheDirectory.root().resolve("tuning").resolve(key + ".json");
    }

    /**
     * Every stored parameter set of a device by tuning key (e.g. "flash/D=64"), read once per process; empty when
     * {@code GPU_INFER_NO_TUNING=1}. The ops receive them in their {@link gpuinfer.variants.KernelSettings} and
     * warn about a value this version no longer accepts.
     */
    public static Map<String, Map<String, String>> load(DeviceInfo device) {
        if ("1".equals(System.getenv("GPU_INFER_NO_TUNING"))) {
            return Map.of();
        }
        return LOADED.computeIfAbsent(file(device), TuningStore::read);
    }

    /** Records a kernel's best parameters with what they were measured on. */
    public static synchronized void save(DeviceInfo device, String kernel, Map<String, String> params, Map<String, Object> evidence)
            throws IOException {
        Path file = file(device);
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = Files.isRegularFile(file) ? readTree(mapper, file) : mapper.createObjectNode();
        root.put("device", device.name());
        root.put("driver", device.driverVersion());
        ObjectNode kernels = root.has("kernels") && root.get("kernels").isObject() ? (ObjectNode) root.get("kernels") : root.putObject("kernels");
        ObjectNode entry = kernels.putObject(kernel);
        entry.set("params", mapper.valueToTree(params));
        entry.set("evidence", mapper.valueToTree(evidence));
        byte[] bytes = mapper.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
        AtomicFiles.write(file, out -> out.write(bytes));
        LOADED.remove(file);
    }

    private static ObjectNode readTree(ObjectMapper mapper, Path file) {
        try {
            JsonNode node = mapper.readTree(file.toFile());
            return node instanceof ObjectNode o ? o : mapper.createObjectNode();
        } catch (IOException e) {
            return mapper.createObjectNode();
        }
    }

    private static Map<String, Map<String, String>> read(Path file) {
        Map<String, Map<String, String>> all = new LinkedHashMap<>();
        if (!Files.isRegularFile(file)) {
            return all;
        }
        JsonNode kernels = readTree(new ObjectMapper(), file).path("kernels");
        for (Iterator<Map.Entry<String, JsonNode>> it = kernels.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            Map<String, String> params = new LinkedHashMap<>();
            e.getValue().path("params").fields().forEachRemaining(p -> params.put(p.getKey(), p.getValue().asText()));
            all.put(e.getKey(), params);
        }
        return all;
    }

    /** Forgets what was read, so the next lookup reads the files again (tests, and after tuning). */
    public static void reload() {
        LOADED.clear();
    }
}
