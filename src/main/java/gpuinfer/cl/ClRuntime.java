package gpuinfer.cl;

import gpuinfer.InputException;
import gpuinfer.cl.jocl.JoclNative;
import gpuinfer.cl.lwjgl.LwjglNative;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static gpuinfer.cl.ClConstants.*;

/**
 * One Java binding loaded in this process, with the platforms and devices it sees. Obtain it with {@link #get};
 * each binding is loaded once per process (both bindings can be loaded side by side).
 */
public final class ClRuntime {
    /** The binding used when none is named. */
    public static final String DEFAULT_BINDING = "lwjgl";
    public static final List<String> BINDINGS = List.of("lwjgl", "jocl");

    private static final Map<String, ClRuntime> LOADED = new ConcurrentHashMap<>();

    private final ClNative cl;
    private final List<ClPlatform> platforms;

    private ClRuntime(ClNative cl) {
        this.cl = cl;
        this.platforms = Collections.unmodifiableList(enumerate(cl));
    }

    /**
     * The runtime for a binding ("lwjgl" or "jocl"), loading the OpenCL library on first use.
     *
     * @throws InputException              for an unknown binding name
     * @throws OpenClUnavailableException  when the OpenCL library cannot be loaded
     */
    public static ClRuntime get(String binding) {
        String name = binding == null ? DEFAULT_BINDING : binding.trim().toLowerCase(java.util.Locale.ROOT);
        if (!BINDINGS.contains(name)) {
            throw new InputException("Unknown binding '" + binding + "': use one of " + String.join(", ", BINDINGS) + ".");
        }
        return LOADED.computeIfAbsent(name, n -> new ClRuntime(n.equals("jocl") ? JoclNative.load() : LwjglNative.load()));
    }

    public String binding() {
        return cl.name();
    }

    /** The OpenCL library file (or name) this binding loaded. */
    public String library() {
        return cl.libraryLoaded();
    }

    public List<ClPlatform> platforms() {
        return platforms;
    }

    /** All devices of all platforms, in platform order. */
    public List<ClDevice> devices() {
        List<ClDevice> all = new ArrayList<>();
        for (ClPlatform platform : platforms) {
            all.addAll(platform.devices());
        }
        return all;
    }

    /**
     * The device a {@code --device} value names (see {@link DeviceSelector}).
     *
     * @throws OpenClUnavailableException when there is no platform or no device at all
     * @throws InputException             when the value matches no device (the message lists them)
     */
    public ClDevice select(String spec) {
        if (platforms.isEmpty()) {
            throw new OpenClUnavailableException("No OpenCL platform found: the OpenCL library (" + library()
                    + ") is installed, but no driver (ICD) is registered with it.");
        }
        return DeviceSelector.select(devices(), spec);
    }

    /**
     * A context on one device (or a sub-device from {@link ClDevice#partitionEqually}), with a profiling-enabled
     * default queue; programs are cached in {@code cache}.
     */
    public ClContext createContext(ClDevice device, ProgramCache cache) {
        device.checkUsable();
        SignalChaining.warnOnce();
        return new ClContext(cl, device, cache);
    }

    private static List<ClPlatform> enumerate(ClNative cl) {
        List<ClPlatform> platforms = new ArrayList<>();
        Object[] platformIds = cl.platformIds();
        for (int p = 0; p < platformIds.length; p++) {
            Object id = platformIds[p];
            ClPlatform platform = new ClPlatform(p, cl.platformInfo(id, CL_PLATFORM_NAME),
                    cl.platformInfo(id, CL_PLATFORM_VENDOR), cl.platformInfo(id, CL_PLATFORM_VERSION));
            Object[] deviceIds = cl.deviceIds(id);
            for (int d = 0; d < deviceIds.length; d++) {
                platform.addDevice(new ClDevice(cl, platform, d, DeviceInfo.read(cl, deviceIds[d]), deviceIds[d]));
            }
            platforms.add(platform);
        }
        return platforms;
    }
}
