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
     * The first usable variant in preference order: {@code gpuOrder} where the settings prefer GPU shapes on this
     * device, else {@code cpuOrder} (both list the same variants). A variant is usable when the self-test has not
     * disabled it and {@code fits} accepts it (the kernel's work-group, private and local memory limits). Skipping
     * the preferred variant is reported once as a warning. When none is usable the preferred one is returned (and
     * reported): a result from a disabled variant is still checked by whoever compares it.
     */
    public static String choose(KernelSettings settings, DeviceInfo device, String point, List<String> cpuOrder,
                                List<String> gpuOrder, Predicate<String> fits) {
        List<String> order = settings.gpuShaped(device) ? gpuOrder : cpuOrder;
        String preferred = order.get(0);
        for (String variant : order) {
            if (settings.disabled(variant)) {
                continue;
            }
            if (!fits.test(variant)) {
                continue;
            }
            if (!variant.equals(preferred)) {
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
