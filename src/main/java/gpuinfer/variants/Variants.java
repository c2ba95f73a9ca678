package gpuinfer.variants;

import gpuinfer.cl.DeviceInfo;

import java.util.List;
import java.util.function.Predicate;

/**
 * Choosing one kernel variant at a decision point (e.g. "linear decode": linear_rows or linear_matvec). Variant names
 * are the kernel's name, with the weight format where builds differ by it ("linear_matvec/q8_0"); they are what the
 * self-test reports and disables.
 */
public final class Variants {
    private Variants() {
    }

    /**
     * A decision point: where an op chooses between variants that compute the same thing. Both orders list the same
     * names; the first is preferred.
     */
    public record Point(String name, List<String> cpuOrder, List<String> gpuOrder) {
        public Point {
            cpuOrder = List.copyOf(cpuOrder);
            gpuOrder = List.copyOf(gpuOrder);
            if (!new java.util.HashSet<>(cpuOrder).equals(new java.util.HashSet<>(gpuOrder))) {
                throw new IllegalArgumentException(name + ": both orders must list the same variants");
            }
        }

        public String choose(KernelSettings settings, DeviceInfo device, Predicate<String> fits) {
            return Variants.choose(settings, device, name, cpuOrder, gpuOrder, fits);
        }

        /** The key {@code gpu-infer tune} stores this point's measured choice under: "variant/flash prefill". */
        public String tuningKey() {
            return Variants.tuningKey(name);
        }

        /** The variants in the order the settings prefer on this device (before any stored choice). */
        public List<String> order(KernelSettings settings, DeviceInfo device) {
            return settings.gpuShaped(device) ? gpuOrder : cpuOrder;
        }

        /** Settings under which this point chooses {@code variant} (every other variant here disabled). */
        public KernelSettings forcing(KernelSettings settings, String variant) {
            if (!cpuOrder.contains(variant)) {
                throw new IllegalArgumentException(variant + " is not a variant of " + name + " " + cpuOrder);
            }
            java.util.Set<String> others = new java.util.LinkedHashSet<>(cpuOrder);
            others.remove(variant);
            return settings.withDisabled(others).withForced(variant);
        }
    }

    /** The weight formats the linear kernels read (their labels, as WeightType.label gives them). */
    public static final List<String> LINEAR_FORMATS = List.of("f32", "f16", "bf16", "q8_0", "q4_0");

    /**
     * The linear layer for few rows of x (decode, R &le; 16: Linear.Config.DECODE_MAX_ROWS), per weight format: linear_rows streams whole weight rows
     * per work-item (CPU); linear_matvec reduces each output over a work-group or subgroup with coalesced reads (GPU).
     */
    public static Point linearDecode(String format) {
        return POINTS.computeIfAbsent("linear decode/" + format, name -> new Point(name,
                List.of("linear_rows/" + format, "linear_matvec/" + format),
                List.of("linear_matvec/" + format, "linear_rows/" + format)));
    }

    /** The linear points by name, made once: ops ask for them on every launch. */
    private static final java.util.Map<String, Point> POINTS = new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * The linear layer for many rows (prefill, R &gt; 16), per weight format: linear_packed (weights packed into
     * panels, outer products; CPU), linear_tiled (local-memory tiled GEMM; GPU), linear_nt (the portable fallback);
     * narrow formats are widened to float32 first where the variant needs it.
     */
    public static Point linearPrefill(String format) {
        return POINTS.computeIfAbsent("linear prefill/" + format, name -> new Point(name,
                List.of("linear_packed/" + format, "linear_nt/" + format, "linear_tiled/" + format),
                List.of("linear_tiled/" + format, "linear_nt/" + format, "linear_packed/" + format)));
    }

    /** Flash attention for prefill shapes: flash_tiled (CPU-shaped), flash_dsplit (work-items share rows, split D). */
    public static final Point FLASH_PREFILL = new Point("flash prefill", List.of("flash_tiled", "flash_dsplit"),
            List.of("flash_dsplit", "flash_tiled"));

    /** Flash attention for decode shapes: flash_decode_split (keys split), flash_decode_dsplit (keys and D split). */
    public static final Point FLASH_DECODE = new Point("flash decode", List.of("flash_decode_split", "flash_decode_dsplit"),
            List.of("flash_decode_dsplit", "flash_decode_split"));

    /** The parameter of a stored variant choice: {@code "variant/flash prefill" = {"VARIANT": "flash_dsplit"}}. */
    public static final String TUNED_NAME = "VARIANT";

    /** The tuning key a point's measured choice is stored under ({@code gpu-infer tune --kernel variants}). */
    public static String tuningKey(String point) {
        return "variant/" + point;
    }

    /**
     * The first usable variant in preference order: {@code gpuOrder} where the settings prefer GPU shapes on this
     * device, else {@code cpuOrder} (both list the same variants), with the variant {@code gpu-infer tune} measured
     * fastest here moved to the front when one is stored (a stored name that is no variant of the point is reported
     * and ignored). A variant is usable when the self-test has not
     * disabled it and {@code fits} accepts it (the kernel's work-group, private and local memory limits). Skipping
     * the preferred variant is reported once as a warning. When none is usable the preferred one is returned (and
     * reported): a result from a disabled variant is still checked by whoever compares it.
     */
    /**
     * The variants of a point in the order they are tried: the family's order on this device, with a choice stored by
     * {@code gpu-infer tune --kernel variants} moved first (a stored name that is no variant of the point is reported
     * and ignored). The self-test tests in this order too.
     */
    public static List<String> preferenceOrder(KernelSettings settings, DeviceInfo device, String point,
                                               List<String> cpuOrder, List<String> gpuOrder) {
        List<String> order = settings.gpuShaped(device) ? gpuOrder : cpuOrder;
        String stored = settings.tuned(tuningKey(point)).get(TUNED_NAME);
        if (stored == null) {
            return order;
        }
        if (!order.contains(stored)) {
            settings.warn("stored tuning of " + tuningKey(point) + " " + settings.tuned(tuningKey(point))
                    + " names no variant of " + point + " " + order + "; ignored: run gpu-infer tune again");
            return order;
        }
        List<String> storedFirst = new java.util.ArrayList<>(List.of(stored));
        order.stream().filter(v -> !v.equals(stored)).forEach(storedFirst::add);
        return List.copyOf(storedFirst);
    }

    public static String choose(KernelSettings settings, DeviceInfo device, String point, List<String> cpuOrder,
                                List<String> gpuOrder, Predicate<String> fits) {
        List<String> order = preferenceOrder(settings, device, point, cpuOrder, gpuOrder);
        String preferred = order.get(0);
        for (String variant : order) {
            if (settings.disabled(variant)) {
                continue;
            }
            if (!fits.test(variant)) {
                continue;
            }
            if (!variant.equals(preferred) && !settings.forced(variant)) {
                settings.warn(point + ": using " + variant + " instead of " + preferred + " ("
                        + (settings.disabled(preferred) ? "the device self-test disabled it on this driver"
                        : "it does not fit this device's kernel limits") + ")");
            }
            return variant;
        }
        settings.warn(point + ": every variant (" + String.join(", ", order) + ") is disabled or does not fit on "
                + device.name() + "; using " + preferred + " anyway: check results with gpu-infer compare");
        return preferred;
    }
}
