package gpuinfer.cli;

import gpuinfer.cl.ClDevice;
import gpuinfer.cl.ClPlatform;
import gpuinfer.cl.ClRuntime;
import gpuinfer.cl.DeviceInfo;
import gpuinfer.cl.DeviceSelector;
import gpuinfer.cl.OpenClUnavailableException;
import gpuinfer.util.Sizes;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code gpu-infer devices}: the OpenCL platforms and devices this machine has, and which one auto picks. */
@Command(name = "devices", mixinStandardHelpOptions = true,
        description = {"List OpenCL platforms and devices with their properties. The device --device auto picks is marked.",
                "", "Examples:", "  gpu-infer devices", "  gpu-infer devices --json --binding jocl", ""})
final class DevicesCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    BindingOption binding;

    @Mixin
    JsonOutputOptions json;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        ClRuntime runtime = binding.runtime();
        List<ClPlatform> platforms = runtime.platforms();
        if (platforms.isEmpty() || runtime.devices().isEmpty()) {
            json.emit(out, Map.of("binding", runtime.binding(), "library", runtime.library(), "platforms", List.of()));
            throw new OpenClUnavailableException("No OpenCL " + (platforms.isEmpty() ? "platform" : "device")
                    + " found: the OpenCL library (" + runtime.library() + ") is installed, but no driver (ICD) with a "
                    + "device is registered with it.");
        }
        ClDevice auto = DeviceSelector.select(runtime.devices(), "auto");
        if (!json.replacesText()) {
            printText(out, runtime, auto);
        }
        json.emit(out, toJson(runtime, auto));
        return ExitCodes.OK;
    }

    private static void printText(PrintWriter out, ClRuntime runtime, ClDevice auto) {
        out.println("OpenCL through " + runtime.binding() + " (library " + runtime.library() + ")");
        for (ClPlatform platform : runtime.platforms()) {
            out.println();
            out.println("Platform " + platform.index() + ": " + platform.name() + " (" + platform.vendor() + "), "
                    + platform.version());
            for (ClDevice device : platform.devices()) {
                DeviceInfo d = device.info();
                out.println("  " + device.id() + "  " + d.name() + (device == auto ? "   <- --device auto" : ""));
                row(out, "type", d.type());
                row(out, "vendor", d.vendor());
                row(out, "driver version", d.driverVersion());
                row(out, "OpenCL", d.openclVersion() + "; " + d.openclCVersion());
                row(out, "compute units", d.computeUnits() + " at " + d.maxClockMHz() + " MHz");
                row(out, "global memory", Sizes.bytes(d.globalMemBytes()) + " (at most " + Sizes.bytes(d.maxAllocBytes())
                        + " per buffer), cache " + Sizes.bytes(d.globalMemCacheBytes()));
                row(out, "local memory", Sizes.bytes(d.localMemBytes()) + " (" + d.localMemType() + ")");
                row(out, "work-group", "at most " + d.maxWorkGroupSize() + " items, per dimension "
                        + joinSizes(d.maxWorkItemSizes()));
                row(out, "fp16 / fp64", yesNo(d.fp16()) + " / " + yesNo(d.fp64()));
                row(out, "float vectors", "preferred width " + d.preferredFloatVectorWidth() + ", native "
                        + d.nativeFloatVectorWidth());
                row(out, "timer", d.profilingTimerResolutionNs() + " ns resolution");
            }
        }
    }

    private static void row(PrintWriter out, String key, String value) {
        out.printf("        %-15s %s%n", key, value);
    }

    private static String yesNo(boolean b) {
        return b ? "yes" : "no";
    }

    private static String joinSizes(long[] sizes) {
        List<String> parts = new ArrayList<>();
        for (long s : sizes) {
            parts.add(Long.toString(s));
        }
        return String.join(" x ", parts);
    }

    private static Map<String, Object> toJson(ClRuntime runtime, ClDevice auto) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("binding", runtime.binding());
        root.put("library", runtime.library());
        List<Object> platforms = new ArrayList<>();
        for (ClPlatform platform : runtime.platforms()) {
            Map<String, Object> p = new LinkedHashMap<>();
            p.put("index", platform.index());
            p.put("name", platform.name());
            p.put("vendor", platform.vendor());
            p.put("version", platform.version());
            List<Object> devices = new ArrayList<>();
            for (ClDevice device : platform.devices()) {
                DeviceInfo d = device.info();
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("id", device.id());
                m.put("auto", device == auto);
                m.put("name", d.name());
                m.put("type", d.type());
                m.put("vendor", d.vendor());
                m.put("driverVersion", d.driverVersion());
                m.put("openclVersion", d.openclVersion());
                m.put("openclCVersion", d.openclCVersion());
                m.put("computeUnits", d.computeUnits());
                m.put("maxClockMHz", d.maxClockMHz());
                m.put("globalMemBytes", d.globalMemBytes());
                m.put("maxAllocBytes", d.maxAllocBytes());
                m.put("globalMemCacheBytes", d.globalMemCacheBytes());
                m.put("localMemBytes", d.localMemBytes());
                m.put("localMemType", d.localMemType());
                m.put("maxWorkGroupSize", d.maxWorkGroupSize());
                m.put("maxWorkItemSizes", d.maxWorkItemSizes());
                m.put("fp16", d.fp16());
                m.put("fp64", d.fp64());
                m.put("preferredFloatVectorWidth", d.preferredFloatVectorWidth());
                m.put("nativeFloatVectorWidth", d.nativeFloatVectorWidth());
                m.put("profilingTimerResolutionNs", d.profilingTimerResolutionNs());
                m.put("extensions", d.extensions());
                devices.add(m);
            }
            p.put("devices", devices);
            platforms.add(p);
        }
        root.put("platforms", platforms);
        return root;
    }
}
