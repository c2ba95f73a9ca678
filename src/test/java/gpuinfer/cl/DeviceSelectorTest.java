package gpuinfer.cl;

import gpuinfer.InputException;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Device selection over a made-up machine: a CPU platform and a GPU platform with two GPUs. */
class DeviceSelectorTest {
    private final ClPlatform pocl = new ClPlatform(0, "Portable Computing Language", "The pocl project", "OpenCL 3.0");
    private final ClPlatform nvidia = new ClPlatform(1, "NVIDIA CUDA", "NVIDIA Corporation", "OpenCL 3.0 CUDA");
    private final ClDevice cpu = device(pocl, 0, "pthread-haswell", "cpu");
    private final ClDevice gpu0 = device(nvidia, 0, "NVIDIA H100 80GB HBM3", "gpu");
    private final ClDevice gpu1 = device(nvidia, 1, "NVIDIA GeForce RTX 4090", "gpu");
    private final List<ClDevice> all = List.of(cpu, gpu0, gpu1);

    @Test
    void autoPrefersTheFirstGpu() {
        assertEquals(gpu0, DeviceSelector.select(all, "auto"));
        assertEquals(gpu0, DeviceSelector.select(all, null));
        assertEquals(cpu, DeviceSelector.select(List.of(cpu), "auto"), "no GPU: the first device of any type");
    }

    @Test
    void acceptsIndexTypeAndNameSubstring() {
        assertEquals(gpu1, DeviceSelector.select(all, "1:1"));
        assertEquals(cpu, DeviceSelector.select(all, "0:0"));
        assertEquals(cpu, DeviceSelector.select(all, "cpu"));
        assertEquals(gpu0, DeviceSelector.select(all, "GPU"));
        assertEquals(gpu1, DeviceSelector.select(all, "rtx"));
        assertEquals(gpu0, DeviceSelector.select(all, "NVIDIA"), "the first device whose name matches");
    }

    @Test
    void anUnknownDeviceListsTheDevicesThatExist() {
        InputException e = assertThrows(InputException.class, () -> DeviceSelector.select(all, "radeon"));
        assertTrue(e.getMessage().contains("Unknown device 'radeon'"), e.getMessage());
        for (String line : List.of("0:0  pthread-haswell", "1:0  NVIDIA H100", "1:1  NVIDIA GeForce RTX 4090")) {
            assertTrue(e.getMessage().contains(line), line + " missing from: " + e.getMessage());
        }
        assertTrue(assertThrows(InputException.class, () -> DeviceSelector.select(all, "2:0")).getMessage()
                .contains("no device has index 2:0"));
        assertTrue(assertThrows(InputException.class, () -> DeviceSelector.select(List.of(cpu), "accelerator"))
                .getMessage().contains("no device of type accelerator"));
    }

    @Test
    void noDeviceAtAllSaysHowToInstallOne() {
        OpenClUnavailableException e = assertThrows(OpenClUnavailableException.class, () -> DeviceSelector.select(List.of(), "auto"));
        assertTrue(e.getMessage().contains("pocl-opencl-icd"), e.getMessage());
    }

    private static ClDevice device(ClPlatform platform, int index, String name, String type) {
        DeviceInfo info = new DeviceInfo(name, "vendor", type, "1.0", "OpenCL 3.0", "OpenCL C 1.2", 8, 1000,
                1L << 33, 1L << 31, 1 << 20, 1 << 16, "local", 1024, new long[] {1024, 1024, 64}, false, true, 4, 4, 1,
                List.of());
        ClDevice device = new ClDevice(platform, index, info, new Object());
        platform.addDevice(device);
        return device;
    }
}
