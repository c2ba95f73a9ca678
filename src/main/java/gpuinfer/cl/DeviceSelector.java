package gpuinfer.cl;

import gpuinfer.InputException;

import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Turns a {@code --device} value into a device: {@code auto} (the first GPU, else the first device), {@code P:D}
 * (platform and device index), a type ({@code gpu}, {@code cpu}, {@code accelerator}), or a case-insensitive
 * substring of the device name (the first device that matches).
 */
public final class DeviceSelector {
    private DeviceSelector() {
    }

    public static ClDevice select(List<ClDevice> devices, String spec) {
        if (devices.isEmpty()) {
            throw new OpenClUnavailableException("No OpenCL device found: the installed platforms report no devices.");
        }
        String wanted = spec == null || spec.isBlank() ? "auto" : spec.trim();
        String lower = wanted.toLowerCase(Locale.ROOT);
        if (lower.equals("auto")) {
            return devices.stream().filter(d -> d.info().isGpu()).findFirst().orElse(devices.get(0));
        }
        if (lower.matches("\\d+:\\d+")) {
            return devices.stream().filter(d -> d.id().equals(lower)).findFirst()
                    .orElseThrow(() -> unknown(wanted, devices, "no device has index " + wanted));
        }
        if (List.of("gpu", "cpu", "accelerator").contains(lower)) {
            return devices.stream().filter(d -> d.info().type().contains(lower)).findFirst()
                    .orElseThrow(() -> unknown(wanted, devices, "no device of type " + lower));
        }
        return devices.stream().filter(d -> d.name().toLowerCase(Locale.ROOT).contains(lower)).findFirst()
                .orElseThrow(() -> unknown(wanted, devices, "no device name contains '" + wanted + "'"));
    }

    private static InputException unknown(String spec, List<ClDevice> devices, String why) {
        String listing = devices.stream().map(d -> "  " + d.describe()).collect(Collectors.joining("\n"));
        return new InputException("Unknown device '" + spec + "': " + why + ". The devices that exist are:\n" + listing
                + "\nPass --device auto, an index P:D, a type (gpu, cpu, accelerator) or part of a device name.");
    }
}
