package gpuinfer.selftest;

import gpuinfer.cl.ClContext;
import gpuinfer.tune.TuningStore;
import gpuinfer.variants.KernelSettings;

/**
 * Everything gpu-infer has learned about a device and driver, assembled once per context into the
 * {@link KernelSettings} that the ops are built with: the tuned kernel values stored by {@code gpu-infer tune} and
 * the variants the device self-test found wrong. The ops never read stores themselves.
 */
public final class DeviceSetup {
    private DeviceSetup() {
    }

    /** The settings for a context, preferring the given family of kernel variants. */
    public static KernelSettings settings(ClContext context, KernelSettings.Family family) {
        return KernelSettings.defaults().withFamily(family).withTuned(TuningStore.load(context.device().info()));
    }

    /** As {@link #settings(ClContext, KernelSettings.Family)} with the family from the environment (auto unless set). */
    public static KernelSettings settings(ClContext context) {
        KernelSettings defaults = KernelSettings.defaults();
        return settings(context, defaults.family());
    }
}
