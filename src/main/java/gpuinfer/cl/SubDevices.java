package gpuinfer.cl;

import java.util.AbstractList;
import java.util.List;

/**
 * The sub-devices one {@link ClDevice#partitionEqually} call made, in order; closing the list releases them all
 * (clReleaseDevice). Contexts made on them should be closed first; a released sub-device cannot make new contexts.
 */
public final class SubDevices extends AbstractList<ClDevice> implements AutoCloseable {
    private final ClDevice parent;
    private final List<ClDevice> devices;
    private final List<ClObject> owners;

    SubDevices(ClDevice parent, List<ClDevice> devices, List<ClObject> owners) {
        this.parent = parent;
        this.devices = List.copyOf(devices);
        this.owners = List.copyOf(owners);
    }

    /** The device these were split from. */
    public ClDevice parent() {
        return parent;
    }

    @Override
    public ClDevice get(int index) {
        return devices.get(index);
    }

    @Override
    public int size() {
        return devices.size();
    }

    /** Releases every sub-device; further calls do nothing. */
    @Override
    public void close() {
        for (ClObject owner : owners) {
            owner.close();
        }
    }
}
