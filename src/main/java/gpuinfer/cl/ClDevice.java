package gpuinfer.cl;

/**
 * One OpenCL device, as found by a binding. {@link #id()} ("P:D", platform and device index) is what
 * {@code --device} accepts.
 */
public final class ClDevice {
    private final ClPlatform platform;
    private final int index;
    private final DeviceInfo info;
    final Object handle;

    ClDevice(ClPlatform platform, int index, DeviceInfo info, Object handle) {
        this.platform = platform;
        this.index = index;
        this.info = info;
        this.handle = handle;
    }

    public ClPlatform platform() {
        return platform;
    }

    /** Index of the device within its platform. */
    public int index() {
        return index;
    }

    /** "P:D": platform index and device index, as {@code --device} accepts. */
    public String id() {
        return platform.index() + ":" + index;
    }

    public DeviceInfo info() {
        return info;
    }

    public String name() {
        return info.name();
    }

    /** One line for listings and error messages: "0:0  pthread-haswell  (cpu, Portable Computing Language)". */
    public String describe() {
        return id() + "  " + info.name() + "  (" + info.type() + ", " + platform.name() + ", " + info.openclVersion() + ")";
    }

    @Override
    public String toString() {
        return id() + " " + info.name();
    }
}
