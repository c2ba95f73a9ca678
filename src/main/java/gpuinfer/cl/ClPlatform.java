package gpuinfer.cl;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** One OpenCL platform (an installed driver, found through the ICD loader) and its devices. */
public final class ClPlatform {
    private final int index;
    private final String name;
    private final String vendor;
    private final String version;
    private final List<ClDevice> devices = new ArrayList<>();

    ClPlatform(int index, String name, String vendor, String version) {
        this.index = index;
        this.name = name;
        this.vendor = vendor;
        this.version = version;
    }

    void addDevice(ClDevice device) {
        devices.add(device);
    }

    public int index() {
        return index;
    }

    public String name() {
        return name;
    }

    public String vendor() {
        return vendor;
    }

    public String version() {
        return version;
    }

    public List<ClDevice> devices() {
        return Collections.unmodifiableList(devices);
    }
}
