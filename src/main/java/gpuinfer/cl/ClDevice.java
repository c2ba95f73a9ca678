package gpuinfer.cl;

import gpuinfer.InputException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static gpuinfer.cl.ClConstants.*;

/**
 * One OpenCL device, as found by a binding, or a sub-device of one ({@link #partitionEqually}). {@link #id()}
 * ("P:D", platform and device index) is what {@code --device} accepts; a sub-device's id is "P:D.s".
 */
public final class ClDevice {
    private final ClPlatform platform;
    private final int index;
    private final DeviceInfo info;
    final Object handle;
    /** The binding that found the device; null only for devices made up by tests. */
    private final ClNative cl;
    /** For a sub-device: the device it was split from, its index among its siblings, and the object that owns it. */
    private final ClDevice parent;
    private final int subIndex;
    private ClObject subDeviceOwner;

    ClDevice(ClPlatform platform, int index, DeviceInfo info, Object handle) {
        this(null, platform, index, info, handle, null, -1);
    }

    ClDevice(ClNative cl, ClPlatform platform, int index, DeviceInfo info, Object handle) {
        this(cl, platform, index, info, handle, null, -1);
    }

    private ClDevice(ClNative cl, ClPlatform platform, int index, DeviceInfo info, Object handle, ClDevice parent, int subIndex) {
        this.cl = cl;
        this.platform = platform;
        this.index = index;
        this.info = info;
        this.handle = handle;
        this.parent = parent;
        this.subIndex = subIndex;
    }

    public ClPlatform platform() {
        return platform;
    }

    /** Index of the device within its platform (a sub-device: that of its root device). */
    public int index() {
        return index;
    }

    /** "P:D": platform index and device index, as {@code --device} accepts; "P:D.s" for sub-device s. */
    public String id() {
        return parent == null ? platform.index() + ":" + index : parent.id() + "." + subIndex;
    }

    public DeviceInfo info() {
        return info;
    }

    public String name() {
        return info.name();
    }

    /** Whether this is a sub-device made by {@link #partitionEqually} or {@link #partitionByCounts}. */
    public boolean isSubDevice() {
        return parent != null;
    }

    /** The device this sub-device was split from, or null for a root device. */
    public ClDevice parent() {
        return parent;
    }

    /** Whether this is a sub-device whose {@link SubDevices} was closed: it can no longer be used. */
    public boolean isReleased() {
        return subDeviceOwner != null && subDeviceOwner.isClosed();
    }

    void checkUsable() {
        if (isReleased()) {
            throw new IllegalStateException("sub-device " + id() + " of '" + name() + "' was used after its SubDevices was closed");
        }
    }

    /** CL_DEVICE_PARTITION_MAX_SUB_DEVICES: how many sub-devices the device can be split into (0 or 1: none). */
    public int maxSubDevices() {
        try {
            return (int) DeviceInfo.readLong(requireBinding().deviceInfo(handle, CL_DEVICE_PARTITION_MAX_SUB_DEVICES));
        } catch (ClException e) {
            return 0; // an OpenCL 1.1 device does not know the query
        }
    }

    /** CL_DEVICE_PARTITION_PROPERTIES as names: "equally", "by counts", "by affinity domain"; empty when none. */
    public List<String> partitionTypes() {
        List<String> types = new ArrayList<>();
        for (long type : partitionTypeCodes()) {
            if (type == CL_DEVICE_PARTITION_EQUALLY) types.add("equally");
            else if (type == CL_DEVICE_PARTITION_BY_COUNTS) types.add("by counts");
            else if (type == CL_DEVICE_PARTITION_BY_AFFINITY_DOMAIN) types.add("by affinity domain");
        }
        return types;
    }

    private long[] partitionTypeCodes() {
        try {
            long[] codes = DeviceInfo.readSizeArray(requireBinding().deviceInfo(handle, CL_DEVICE_PARTITION_PROPERTIES));
            return Arrays.stream(codes).filter(c -> c != 0).toArray();
        } catch (ClException e) {
            return new long[0];
        }
    }

    /**
     * Splits this device into {@code n} sub-devices of {@code computeUnits / n} compute units each
     * (CL_DEVICE_PARTITION_EQUALLY), or, when the units do not divide evenly, of counts that differ by at most one
     * (CL_DEVICE_PARTITION_BY_COUNTS). Each sub-device is a {@link ClDevice} on which
     * {@link ClRuntime#createContext} works as on a root device; the caller closes the result, which releases them
     * (contexts made on them keep working until they are closed, as OpenCL retains a context's devices).
     *
     * @throws InputException when the device cannot be split into {@code n}: the message names its limits
     */
    public SubDevices partitionEqually(int n) {
        int units = info.computeUnits();
        checkPartition(n);
        boolean equally = contains(partitionTypeCodes(), CL_DEVICE_PARTITION_EQUALLY);
        boolean byCounts = contains(partitionTypeCodes(), CL_DEVICE_PARTITION_BY_COUNTS);
        if (units % n == 0 && equally) {
            return partition(new long[] {CL_DEVICE_PARTITION_EQUALLY, units / n, 0}, n);
        }
        if (byCounts) {
            int[] counts = new int[n];
            for (int i = 0; i < n; i++) {
                counts[i] = units / n + (i < units % n ? 1 : 0);
            }
            return partitionByCounts(counts);
        }
        throw cannotSplit(n, units % n != 0
                ? "its " + units + " compute units do not divide by " + n + " and it cannot partition by counts"
                : "it cannot partition equally or by counts");
    }

    /**
     * Splits this device into sub-devices of {@code counts[i]} compute units each (CL_DEVICE_PARTITION_BY_COUNTS);
     * the caller closes the result.
     *
     * @throws InputException when the device cannot be split so
     */
    public SubDevices partitionByCounts(int... counts) {
        checkPartition(counts.length);
        int sum = Arrays.stream(counts).sum();
        if (Arrays.stream(counts).anyMatch(c -> c < 1) || sum > info.computeUnits()) {
            throw cannotSplit(counts.length, "counts " + Arrays.toString(counts) + " must each be at least 1 and add up to at most "
                    + info.computeUnits() + " compute units");
        }
        if (!contains(partitionTypeCodes(), CL_DEVICE_PARTITION_BY_COUNTS)) {
            throw cannotSplit(counts.length, "it cannot partition by counts");
        }
        long[] properties = new long[counts.length + 3];
        properties[0] = CL_DEVICE_PARTITION_BY_COUNTS;
        for (int i = 0; i < counts.length; i++) {
            properties[i + 1] = counts[i];
        }
        properties[counts.length + 1] = CL_DEVICE_PARTITION_BY_COUNTS_LIST_END;
        properties[counts.length + 2] = 0;
        return partition(properties, counts.length);
    }

    private void checkPartition(int n) {
        requireBinding();
        checkUsable();
        if (n < 1) {
            throw new InputException("Cannot split '" + name() + "' (" + id() + ") into " + n + " sub-devices: ask for at least 1.");
        }
        int max = maxSubDevices();
        if (max < 2 || partitionTypes().isEmpty()) {
            throw cannotSplit(n, "it cannot be partitioned at all");
        }
        if (n > max || n > info.computeUnits()) {
            throw cannotSplit(n, "it allows at most " + Math.min(max, info.computeUnits()) + " sub-devices");
        }
    }

    private InputException cannotSplit(int n, String why) {
        int max = maxSubDevices();
        List<String> types = partitionTypes();
        return new InputException("Cannot split '" + name() + "' (" + id() + ") into " + n + " sub-devices: " + why
                + " (" + info.computeUnits() + " compute units; CL_DEVICE_PARTITION_MAX_SUB_DEVICES " + max
                + "; partition types: " + (types.isEmpty() ? "none" : String.join(", ", types)) + "). "
                + (max >= 2 ? "Use at most " + Math.min(max, info.computeUnits()) + " ranks, or " : "Use ")
                + "--ring-ranks contexts (a context each on the one device) instead of sub-devices.");
    }

    private SubDevices partition(long[] properties, int n) {
        Object[] handles;
        try {
            handles = cl.createSubDevices(handle, properties);
        } catch (ClException e) {
            throw new ClException(e.status(), "Splitting '" + name() + "' (" + id() + ", " + info.computeUnits()
                    + " compute units) into " + n + " sub-devices: " + e.getMessage());
        }
        List<ClDevice> devices = new ArrayList<>();
        List<ClObject> owners = new ArrayList<>();
        try {
            for (int s = 0; s < handles.length; s++) {
                owners.add(new SubDeviceHandle(cl, handles[s], id() + "." + s + " " + name()));
            }
            for (int s = 0; s < handles.length; s++) {
                ClDevice sub = new ClDevice(cl, platform, index, DeviceInfo.read(cl, handles[s]), handles[s], this, s);
                sub.subDeviceOwner = owners.get(s);
                devices.add(sub);
            }
        } catch (RuntimeException e) {
            owners.forEach(ClObject::close);
            throw e;
        }
        SubDevices all = new SubDevices(this, devices, owners);
        if (devices.size() != n) {
            all.close();
            throw cannotSplit(n, "the driver made " + handles.length + " sub-devices instead");
        }
        return all;
    }

    private ClNative requireBinding() {
        if (cl == null) {
            throw new IllegalStateException("device " + id() + " was not found by a binding");
        }
        return cl;
    }

    private static boolean contains(long[] values, long value) {
        return Arrays.stream(values).anyMatch(v -> v == value);
    }

    /** Owns one sub-device handle: counted in {@link LiveObjects}, released (clReleaseDevice) once on close. */
    private static final class SubDeviceHandle extends ClObject {
        SubDeviceHandle(ClNative cl, Object handle, String label) {
            super(cl, handle, Kind.SUB_DEVICE, label);
        }
    }

    /** One line for listings and error messages: "0:0  pthread-haswell  (cpu, Portable Computing Language)". */
    public String describe() {
        return id() + "  " + info.name() + "  (" + info.type() + ", " + platform.name() + ", " + info.openclVersion()
                + (parent == null ? "" : ", sub-device of " + info.computeUnits() + " compute units") + ")";
    }

    @Override
    public String toString() {
        return id() + " " + info.name();
    }
}
