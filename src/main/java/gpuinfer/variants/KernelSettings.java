package gpuinfer.variants;

import gpuinfer.InputException;
import gpuinfer.cl.DeviceInfo;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * What the ops need to know about a device beyond its {@link DeviceInfo}, decided once and passed in when an op is
 * built (never looked up while enqueuing): the tuned kernel parameters by tuning key ("flash/D=64",
 * "linear/decode/q8_0"), the kernel variants the device self-test found wrong on this driver, and which family of
 * variants to prefer (CPU-shaped or GPU-shaped). Immutable.
 *
 * <p>The family: {@code auto} picks GPU-shaped variants on devices that report {@code CL_DEVICE_TYPE_GPU} (Oclgrind
 * does) and CPU-shaped ones elsewhere; {@code --kernels gpu} (or {@code GPU_INFER_KERNELS=gpu}) forces the GPU shapes
 * on a CPU runtime, which is how they are tested on PoCL.
 */
public final class KernelSettings {
    /** Which shape of kernel variants to prefer. */
    public enum Family {
        AUTO, CPU, GPU;

        public static Family parse(String text) {
            try {
                return valueOf(text.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new InputException("Unknown kernel family '" + text + "': use auto, cpu or gpu.");
            }
        }

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private static final Consumer<String> STDERR = message -> System.err.println("gpu-infer: warning: " + message);

    private final Map<String, Map<String, String>> tuned;
    private final Set<String> disabled;
    private final Family family;
    private final Consumer<String> warnings;
    private final Map<String, String> buildOptions;
    private final Set<String> forced;
    private final Set<String> warned = Collections.synchronizedSet(new LinkedHashSet<>());

    private KernelSettings(Map<String, Map<String, String>> tuned, Set<String> disabled, Family family,
                           Consumer<String> warnings, Map<String, String> buildOptions, Set<String> forced) {
        Map<String, Map<String, String>> copy = new LinkedHashMap<>();
        tuned.forEach((key, params) -> copy.put(key, Map.copyOf(params)));
        this.tuned = Collections.unmodifiableMap(copy);
        this.disabled = Set.copyOf(disabled);
        this.family = family;
        this.warnings = warnings;
        this.buildOptions = Map.copyOf(buildOptions);
        this.forced = Set.copyOf(forced);
    }

    /**
     * Nothing tuned, nothing disabled; the family from {@code GPU_INFER_KERNELS} (or the system property
     * {@code gpuinfer.kernels}), else auto.
     */
    public static KernelSettings defaults() {
        String chosen = System.getProperty("gpuinfer.kernels", System.getenv().getOrDefault("GPU_INFER_KERNELS", "auto"));
        return new KernelSettings(Map.of(), Set.of(), Family.parse(chosen), STDERR, Map.of(), Set.of());
    }

    /** These settings with the tuned parameters replaced (by tuning key). */
    public KernelSettings withTuned(Map<String, Map<String, String>> tunedByKey) {
        return new KernelSettings(tunedByKey, disabled, family, warnings, buildOptions, forced);
    }

    /** These settings with these variants disabled as well (names as {@link Variants} gives them). */
    public KernelSettings withDisabled(Set<String> variants) {
        Set<String> all = new LinkedHashSet<>(disabled);
        all.addAll(variants);
        return new KernelSettings(tuned, all, family, warnings, buildOptions, forced);
    }

    public KernelSettings withFamily(Family chosen) {
        return new KernelSettings(tuned, disabled, chosen, warnings, buildOptions, forced);
    }

    /** These settings with warnings sent to {@code sink} instead of stderr (tests). */
    public KernelSettings withWarnings(Consumer<String> sink) {
        return new KernelSettings(tuned, disabled, family, sink, buildOptions, forced);
    }

    /**
     * These settings with extra build options appended to one variant's program (e.g. "-DPLANTED_..." : the tests
     * that prove the self-test and comparisons catch a wrong kernel plant faults this way).
     */
    public KernelSettings withBuildOptions(String variant, String options) {
        Map<String, String> all = new LinkedHashMap<>(buildOptions);
        all.put(variant, options);
        return new KernelSettings(tuned, disabled, family, warnings, all, forced);
    }

    /**
     * These settings with {@code variant} chosen on purpose (Variants.Point.forcing disables the others): choosing
     * it is then not reported as a fallback.
     */
    public KernelSettings withForced(String variant) {
        Set<String> all = new LinkedHashSet<>(forced);
        all.add(variant);
        return new KernelSettings(tuned, disabled, family, warnings, buildOptions, all);
    }

    /** Whether a variant was chosen on purpose (see {@link #withForced}). */
    public boolean forced(String variant) {
        return forced.contains(variant);
    }

    /** Extra build options of a variant ("" when none). */
    public String buildOptions(String variant) {
        return buildOptions.getOrDefault(variant, "");
    }

    /** Stored parameters of a tuning key, or an empty map. */
    public Map<String, String> tuned(String key) {
        return tuned.getOrDefault(key, Map.of());
    }

    public Map<String, Map<String, String>> tuned() {
        return tuned;
    }

    /** Whether the self-test disabled a variant on this device and driver. */
    public boolean disabled(String variant) {
        return disabled.contains(variant);
    }

    public Set<String> disabled() {
        return disabled;
    }

    public Family family() {
        return family;
    }

    /** Whether GPU-shaped variants are preferred on this device. */
    public boolean gpuShaped(DeviceInfo device) {
        return family == Family.GPU || (family == Family.AUTO && device.isGpu());
    }

    /** Reports a problem once per distinct message (e.g. a stored tuning value this version rejects). */
    public void warn(String message) {
        if (warned.add(message)) {
            warnings.accept(message);
        }
    }

    @Override
    public String toString() {
        return "KernelSettings[family=" + family.label() + ", tuned=" + tuned.keySet() + ", disabled=" + disabled + "]";
    }
}
