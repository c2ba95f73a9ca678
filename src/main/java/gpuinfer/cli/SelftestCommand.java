package gpuinfer.cli;

import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClDevice;
import gpuinfer.cl.DeviceInfo;
import gpuinfer.selftest.DeviceSelfTest;
import gpuinfer.selftest.DeviceSetup;
import gpuinfer.selftest.SelfTestStore;
import gpuinfer.selftest.VariantResult;
import gpuinfer.util.Progress;
import gpuinfer.variants.KernelSettings;
import gpuinfer.variants.Variants.Point;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code gpu-infer selftest}: every kernel variant on this device against the CPU reference, now. */
@Command(name = "selftest", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Run every kernel variant gpu-infer has (each variant of each decision point, forced, and the",
                "ops with a single kernel) on small awkward shapes on the device, against the CPU reference, and print",
                "each one's shapes, largest absolute error, NMSE, verdict and time. A variant found wrong is disabled",
                "on this device and driver: the results are stored in the cache directory and used by every later run",
                "(the first run on a new device or driver does the same for the variants it may use; "
                        + DeviceSetup.SWITCH + "=0",
                "skips that). A variant that does not fit the device's limits is listed as 'not run'.",
                "Exit status 1 when a variant fails.",
                "", "Examples:", "  gpu-infer selftest", "  gpu-infer selftest --kernels gpu --json", ""})
final class SelftestCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    JsonOutputOptions json;

    @Mixin
    OpenClOptions opencl;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ClDevice device = opencl.selectDevice();
        DeviceInfo info = device.info();
        KernelSettings settings = DeviceSetup.tunedSettings(info, KernelSettings.Family.parse(opencl.kernels));
        SelfTestStore store = SelfTestStore.forDevice(info);
        List<VariantResult> results;
        Map<String, String> uses = new LinkedHashMap<>();
        long start = System.nanoTime();
        try (ClContext context = opencl.openContext(device)) {
            String family = settings.gpuShaped(info) ? "GPU-shaped" : "CPU-shaped";
            if (!json.replacesText()) {
                out.printf("self-test of %d kernel variants on %s %s (%s), %s kernels preferred (--kernels %s), "
                        + "against the CPU reference%n%n", DeviceSelfTest.count(), device.id(), info.name(),
                        info.driverVersion(), family, settings.family().label());
                out.printf("%-22s %-8s %12s %10s %9s  %s%n", "variant", "result", "max abs err", "NMSE", "time", "shapes");
                out.flush();
            }
            try (DeviceSelfTest test = new DeviceSelfTest(context, settings);
                 Progress progress = json.replacesText() ? new Progress(err, "self-test", DeviceSelfTest.count(), 2) : null) {
                results = test.all(r -> {
                    if (progress != null) {
                        progress.step(1);
                    } else {
                        out.println(row(r));
                        out.flush();
                    }
                });
            }
            for (Point point : DeviceSelfTest.points()) {
                uses.put(point.name(), chosen(point, DeviceSelfTest.order(point, settings, context), results));
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        String stored;
        try {
            store.save(results);
            stored = store.file().toString();
        } catch (IOException e) {
            stored = null;
            err.println("gpu-infer: warning: could not store the results in " + store.file() + ": " + e.getMessage());
        }
        long passed = results.stream().filter(VariantResult::passed).count();
        List<VariantResult> failed = results.stream().filter(VariantResult::failed).toList();
        long notRun = results.size() - passed - failed.size();
        if (!json.replacesText()) {
            out.printf(Locale.ROOT, "%n%d variants in %.1f s: %d passed, %d failed, %d not run%n", results.size(), seconds,
                    passed, failed.size(), notRun);
            for (VariantResult r : failed) {
                out.println("FAILED " + r.variant() + " (" + r.point() + "; tolerance " + r.tolerance() + "): " + r.detail());
                out.println(r.hasAlternative() ? "       disabled on this device and driver: " + r.point()
                        + " uses another variant"
                        : "       no alternative: results that use it may be wrong; run on another device (--device cpu)"
                                + " or the Java reference (--impl cpu), and check with 'gpu-infer compare'");
            }
            for (VariantResult r : results) {
                if (r.status() == VariantResult.Status.NOT_RUN) {
                    out.println("not run " + r.variant() + ": " + r.detail());
                }
            }
            out.println();
            out.println("the ops will use (--kernels " + settings.family().label() + "):");
            uses.forEach((point, variant) -> out.printf("  %-20s %s%n", point, variant));
            out.println(stored != null ? "results stored in " + stored + " (used by every later run on this device and driver)"
                    : "results not stored");
        }
        if (json.wanted()) {
            json.emit(out, toJson(device, info, settings, store, stored, results, uses, seconds));
        }
        return failed.isEmpty() ? ExitCodes.OK : ExitCodes.MISMATCH;
    }

    /** The first variant in preference order that passed, or what happens when none did. */
    private static String chosen(Point point, List<String> order, List<VariantResult> results) {
        for (String variant : order) {
            for (VariantResult r : results) {
                if (r.variant().equals(variant) && r.passed()) {
                    return variant;
                }
            }
        }
        return "none passed: " + order.get(0) + " anyway (check results with gpu-infer compare)";
    }

    private static String row(VariantResult r) {
        return String.format(Locale.ROOT, "%-22s %-8s %12s %10s %7.0f ms  %s", r.variant(), r.status().label(),
                number(r.maxAbsError()), number(r.nmse()), r.millis(), r.shapes());
    }

    private static String number(double value) {
        return Double.isNaN(value) ? "-" : String.format(Locale.ROOT, "%.2e", value);
    }

    private static Map<String, Object> toJson(ClDevice device, DeviceInfo info, KernelSettings settings, SelfTestStore store,
                                              String stored, List<VariantResult> results, Map<String, String> uses,
                                              double seconds) {
        Map<String, Object> root = new LinkedHashMap<>();
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("id", device.id());
        d.put("name", info.name());
        d.put("driverVersion", info.driverVersion());
        d.put("type", info.type());
        root.put("device", d);
        root.put("kernels", settings.family().label());
        root.put("gpuShaped", settings.gpuShaped(info));
        root.put("kernelSources", store.key().kernelSources());
        List<Object> variants = new ArrayList<>();
        for (VariantResult r : results) {
            Map<String, Object> v = new LinkedHashMap<>();
            v.put("variant", r.variant());
            v.put("point", r.point());
            v.put("status", r.status().name().toLowerCase(Locale.ROOT));
            v.put("passed", r.passed());
            v.put("shapes", r.shapes());
            v.put("maxAbsError", finiteOrNull(r.maxAbsError()));
            v.put("nmse", finiteOrNull(r.nmse()));
            v.put("tolerance", r.tolerance());
            v.put("millis", Math.round(r.millis() * 10) / 10.0);
            v.put("detail", r.detail());
            variants.add(v);
        }
        root.put("variants", variants);
        root.put("uses", uses);
        root.put("passed", results.stream().filter(VariantResult::passed).count());
        root.put("failed", results.stream().filter(VariantResult::failed).count());
        root.put("notRun", results.stream().filter(r -> r.status() == VariantResult.Status.NOT_RUN).count());
        root.put("seconds", Math.round(seconds * 100) / 100.0);
        root.put("stored", stored);
        return root;
    }

    /** JSON has no NaN or infinity: a non-finite error (nothing compared, or a NaN output) is null. */
    private static Double finiteOrNull(double value) {
        return Double.isFinite(value) ? value : null;
    }
}
