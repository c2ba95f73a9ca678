package gpuinfer.selftest;

import gpuinfer.cl.ClContext;
import gpuinfer.cl.DeviceInfo;
import gpuinfer.tune.TuningStore;
import gpuinfer.util.Interruption;
import gpuinfer.variants.KernelSettings;
import gpuinfer.variants.Variants.Point;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Everything gpu-infer has learned about a device and driver, assembled once per context into the
 * {@link KernelSettings} that the ops are built with: the tuned kernel values stored by {@code gpu-infer tune} and
 * the variants the device self-test found wrong. The ops never read stores themselves.
 *
 * <p>The first time gpu-infer meets a device and driver (and after its kernel sources change), the self-test runs
 * the variants the chosen family of kernels may use ({@link DeviceSelfTest}) and stores the results per device and
 * driver in the cache directory ({@link SelfTestStore}); later contexts read them. A variant found wrong is disabled,
 * so its decision point chooses the next one, with a warning that names it and the error; an op with a single
 * kernel cannot be routed around, so its failure is a warning on every run. {@code GPU_INFER_SELFTEST=0} (or
 * {@code -Dgpuinfer.selftest=0}) skips the automatic run; results already stored still apply.
 */
public final class DeviceSetup {
    /** The environment variable that turns the automatic self-test off ("0"). */
    public static final String SWITCH = "GPU_INFER_SELFTEST";

    /** One self-test at a time in this process: two contexts on a new device wait for one run, then read its results. */
    private static final Object LOCK = new Object();

    private DeviceSetup() {
    }

    /**
     * What setting up a context found: the settings, the results they rest on (the variants each point would use
     * or had to skip, and the single-kernel ops), and the variants tested now (empty when everything was stored).
     */
    public record Outcome(KernelSettings settings, List<VariantResult> used, List<VariantResult> ran) {
    }

    /** The settings for a context, preferring the given family of kernel variants. */
    public static KernelSettings settings(ClContext context, KernelSettings.Family family) {
        DeviceInfo device = context.device().info();
        KernelSettings base = tunedSettings(device, family);
        try {
            return setUp(context, base, SelfTestStore.forDevice(device), automaticRunEnabled(), System.err).settings();
        } catch (Interruption.Interrupted e) {
            throw e;
        } catch (RuntimeException e) {
            // the self-test itself failed (not a variant: those are results): say so, and run without its findings
            base.warn("the device self-test could not run on " + device.name() + " (" + e + "); no kernel variant is "
                    + "disabled: check results with gpu-infer compare, and report this");
            return base;
        }
    }

    /** The settings before the self-test's findings: the family, and the tuned values stored for the device. */
    public static KernelSettings tunedSettings(DeviceInfo device, KernelSettings.Family family) {
        return KernelSettings.defaults().withFamily(family).withTuned(TuningStore.load(device));
    }

    /** As {@link #settings(ClContext, KernelSettings.Family)} with the family from the environment (auto unless set). */
    public static KernelSettings settings(ClContext context) {
        KernelSettings defaults = KernelSettings.defaults();
        return settings(context, defaults.family());
    }

    /** False when {@code GPU_INFER_SELFTEST=0} or {@code -Dgpuinfer.selftest=0}. */
    public static boolean automaticRunEnabled() {
        String value = System.getProperty("gpuinfer.selftest", System.getenv().getOrDefault(SWITCH, "1")).trim();
        return !(value.equals("0") || value.equalsIgnoreCase("false") || value.equalsIgnoreCase("off"));
    }

    /**
     * The settings for a context: {@code base} with the variants found wrong disabled. Stored results are used as they
     * are; with {@code run}, a variant the chosen family may use that has no stored result is tested now: at each
     * decision point the preferred variant, and the next ones only while those before it failed or could not run;
     * and every single-kernel op. New results are stored. When anything runs, one line on {@code notices} says so
     * (begun before the tests, finished after them); warnings go through {@code base}.
     */
    public static Outcome setUp(ClContext context, KernelSettings base, SelfTestStore store, boolean run,
                                PrintStream notices) {
        synchronized (LOCK) {
            Map<String, VariantResult> known = new LinkedHashMap<>(store.load());
            List<VariantResult> used = new ArrayList<>();
            List<VariantResult> ran = new ArrayList<>();
            DeviceInfo device = context.device().info();
            String where = device.name() + " (" + device.driverVersion() + ")";
            long start = System.nanoTime();
            DeviceSelfTest test = null;
            try {
                for (Point point : DeviceSelfTest.points()) {
                    for (String variant : DeviceSelfTest.order(point, base, context)) {
                        VariantResult r = known.get(variant);
                        if (r == null && run) {
                            test = begin(test, context, base, notices, where, missing(known, base, context));
                            r = test.test(point, variant);
                            known.put(variant, r);
                            ran.add(r);
                        }
                        if (r == null) {
                            break;
                        }
                        used.add(r);
                        if (r.passed()) {
                            break;
                        }
                    }
                }
                for (String op : DeviceSelfTest.singleKernelOps()) {
                    VariantResult r = known.get(op);
                    if (r == null && run) {
                        test = begin(test, context, base, notices, where, missing(known, base, context));
                        r = test.test(op);
                        known.put(op, r);
                        ran.add(r);
                    }
                    if (r != null) {
                        used.add(r);
                    }
                }
                if (test != null) {
                    notices.println(" " + finished(ran, (System.nanoTime() - start) / 1e9));
                    notices.flush();
                }
            } catch (RuntimeException e) {
                if (test != null) {
                    notices.println(" stopped: " + e.getMessage()); // ends the line begun above
                    notices.flush();
                }
                throw e;
            } finally {
                if (test != null) {
                    test.close();
                }
            }
            if (!ran.isEmpty()) {
                try {
                    store.save(known.values());
                } catch (IOException e) {
                    base.warn("could not store the device self-test's results in " + store.file() + " (" + e.getMessage()
                            + "); it will run again next time");
                }
            }
            Set<String> disabled = new LinkedHashSet<>();
            for (VariantResult r : known.values()) {
                if (r.failed() && r.hasAlternative()) {
                    disabled.add(r.variant());
                }
            }
            KernelSettings settings = base.withDisabled(disabled);
            for (VariantResult r : ran) {
                if (r.failed() && r.hasAlternative()) {
                    settings.warn("the device self-test found kernel variant " + r.variant() + " wrong on " + where + ": "
                            + r.errorSummary() + " (" + firstPart(r.detail()) + "); it is disabled on this device and "
                            + "driver, and " + r.point() + " uses another variant ('gpu-infer selftest' lists them all)");
                }
            }
            for (VariantResult r : used) {
                if (r.failed() && !r.hasAlternative()) {
                    settings.warn("the device self-test found kernel " + r.variant() + " wrong on " + where + ": "
                            + r.errorSummary() + " (" + firstPart(r.detail()) + "); it has no alternative, so results that "
                            + "use it may be wrong: run on another device (--device cpu) or the Java reference (--impl cpu), "
                            + "and check with 'gpu-infer compare'");
                }
            }
            return new Outcome(settings, List.copyOf(used), List.copyOf(ran));
        }
    }

    /** The self-test, started (and announced) on the first variant that has to run. */
    private static DeviceSelfTest begin(DeviceSelfTest test, ClContext context, KernelSettings base, PrintStream notices,
                                        String where, int count) {
        if (test != null) {
            return test;
        }
        notices.print("gpu-infer: first use of " + where + " with these kernels: self-test of " + count
                + " kernel variants against the CPU reference (once; " + SWITCH + "=0 skips it) ...");
        notices.flush();
        return new DeviceSelfTest(context, base);
    }

    /** How many variants will be tested: each point's preferred variant and each single-kernel op without a result. */
    private static int missing(Map<String, VariantResult> known, KernelSettings base, ClContext context) {
        int count = 0;
        for (Point point : DeviceSelfTest.points()) {
            for (String variant : DeviceSelfTest.order(point, base, context)) {
                VariantResult r = known.get(variant);
                if (r == null) {
                    count++;
                    break;
                }
                if (r.passed()) {
                    break;
                }
            }
        }
        for (String op : DeviceSelfTest.singleKernelOps()) {
            if (!known.containsKey(op)) {
                count++;
            }
        }
        return count;
    }

    /** "24 passed in 3.1 s" or "23 passed, disabled 1: flash_tiled; 1 not run, in 3.4 s". */
    private static String finished(List<VariantResult> ran, double seconds) {
        long passed = ran.stream().filter(VariantResult::passed).count();
        List<String> disabled = ran.stream().filter(r -> r.failed() && r.hasAlternative()).map(VariantResult::variant).toList();
        List<String> wrong = ran.stream().filter(r -> r.failed() && !r.hasAlternative()).map(VariantResult::variant).toList();
        long notRun = ran.stream().filter(r -> r.status() == VariantResult.Status.NOT_RUN).count();
        StringBuilder text = new StringBuilder(passed + " passed");
        if (!disabled.isEmpty()) {
            text.append(", disabled ").append(disabled.size()).append(": ").append(String.join(", ", disabled));
        }
        if (!wrong.isEmpty()) {
            text.append(", FAILED without alternative: ").append(String.join(", ", wrong));
        }
        if (notRun > 0) {
            text.append(", ").append(notRun).append(" not run here");
        }
        return text.append(String.format(Locale.ROOT, " (%.1f s)", seconds)).toString();
    }

    /** A result's detail up to its first listed value: the comparison's summary or the error. */
    private static String firstPart(String detail) {
        int cut = detail.indexOf("; [");
        return cut < 0 ? detail : detail.substring(0, cut);
    }
}
