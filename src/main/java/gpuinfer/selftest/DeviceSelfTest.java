package gpuinfer.selftest;

import gpuinfer.cl.ClContext;
import gpuinfer.ops.ClBackend;
import gpuinfer.variants.KernelSettings;
import gpuinfer.variants.Variants;
import gpuinfer.variants.Variants.Point;
import gpuinfer.weights.WeightType;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The device self-test: runs kernel variants on one context on small awkward shapes (one row, lengths one short of
 * and one past the kernels' tiles, output counts that are not multiples of the row groups, inner sizes that are not
 * multiples of the vector width, causal masks with Sk &gt; Sq, key padding, grouped heads) and compares each with its
 * CPU reference. A variant of a decision point ({@link Variants}) is forced with {@link Point#forcing}, so every name
 * a point lists is tested, whichever the op would choose; the ops with a single kernel (the transformer ops and
 * the naive attention path) are tested as they are.
 *
 * <p>Each check builds its kernels on the given context, so the programs the ops use afterwards are already built
 * (and in the program cache). Close to release the backend the single-kernel ops run on.
 */
public final class DeviceSelfTest implements AutoCloseable {
    /** The {@link VariantResult#point()} of an op with a single kernel: a failure there cannot be routed around. */
    public static final String NO_ALTERNATIVE = "no alternative";
    /** The naive attention path's name (its three kernels run as one). */
    public static final String NAIVE_ATTENTION = "attention_naive";

    /** How the variants of one decision point are checked. */
    private interface Check {
        VariantResult run(KernelSettings forced, String variant, String point);
    }

    private final ClContext context;
    private final KernelSettings settings;
    private final Map<String, Check> checksByPoint = new LinkedHashMap<>();
    private final Map<String, Point> pointsByName = new LinkedHashMap<>();
    private ClBackend singleKernelBackend;

    /**
     * A self-test on {@code context}; the ops are built with {@code settings} (tuned values, planted faults), with
     * one variant forced per check. The warnings the ops give about the forced choices are not shown.
     */
    public DeviceSelfTest(ClContext context, KernelSettings settings) {
        this.context = context;
        this.settings = settings.withWarnings(message -> { });
        for (String format : Variants.LINEAR_FORMATS) {
            WeightType type = WeightType.parseTarget("format", format);
            add(Variants.linearDecode(format), (forced, variant, point) -> LinearCheck.run(context, forced, variant,
                    point, type, LinearCheck.decodeShapes(type)));
        }
        for (String format : Variants.LINEAR_FORMATS) {
            WeightType type = WeightType.parseTarget("format", format);
            add(Variants.linearPrefill(format), (forced, variant, point) -> LinearCheck.run(context, forced, variant,
                    point, type, LinearCheck.prefillShapes(type)));
        }
        add(Variants.FLASH_PREFILL, (forced, variant, point) -> AttentionCheck.flash(context, forced, variant, point, true));
        add(Variants.FLASH_DECODE, (forced, variant, point) -> AttentionCheck.flash(context, forced, variant, point, false));
    }

    private void add(Point point, Check check) {
        checksByPoint.put(point.name(), check);
        pointsByName.put(point.name(), point);
    }

    /** Every decision point the self-test covers: linear decode and prefill per weight format, flash prefill and decode. */
    public static List<Point> points() {
        List<Point> all = new ArrayList<>();
        for (String format : Variants.LINEAR_FORMATS) {
            all.add(Variants.linearDecode(format));
        }
        for (String format : Variants.LINEAR_FORMATS) {
            all.add(Variants.linearPrefill(format));
        }
        all.add(Variants.FLASH_PREFILL);
        all.add(Variants.FLASH_DECODE);
        return all;
    }

    /** The ops with a single kernel each, tested as they are: the transformer ops and the naive attention path. */
    public static List<String> singleKernelOps() {
        List<String> all = new ArrayList<>(SingleKernelOpsCheck.OPS);
        all.add(NAIVE_ATTENTION);
        return all;
    }

    /** The variants of a point in the order the ops try them on this context's device (a tuned choice first). */
    public static List<String> order(Point point, KernelSettings settings, ClContext context) {
        return Variants.preferenceOrder(settings, context.device().info(), point.name(), point.cpuOrder(),
                point.gpuOrder());
    }

    /** Tests one variant of a decision point, forcing the op to choose it. */
    public VariantResult test(Point point, String variant) {
        Check check = checksByPoint.get(point.name());
        if (check == null) {
            throw new IllegalArgumentException("the self-test has no check for " + point.name());
        }
        return check.run(point.forcing(settings, variant), variant, point.name());
    }

    /** Tests an op with a single kernel ({@link #singleKernelOps()}). */
    public VariantResult test(String op) {
        if (op.equals(NAIVE_ATTENTION)) {
            return AttentionCheck.naive(context, op);
        }
        if (singleKernelBackend == null) {
            singleKernelBackend = new ClBackend(context, settings);
        }
        return SingleKernelOpsCheck.run(singleKernelBackend, op);
    }

    /**
     * Every variant of every point (in the settings' order of preference), then every single-kernel op; each result
     * is also handed to {@code each} as soon as it is known.
     */
    public List<VariantResult> all(Consumer<VariantResult> each) {
        List<VariantResult> results = new ArrayList<>();
        for (Point point : pointsByName.values()) {
            for (String variant : order(point, settings, context)) {
                VariantResult r = test(point, variant);
                results.add(r);
                each.accept(r);
            }
        }
        for (String op : singleKernelOps()) {
            VariantResult r = test(op);
            results.add(r);
            each.accept(r);
        }
        return results;
    }

    /** How many variants {@link #all} tests. */
    public static int count() {
        return points().stream().mapToInt(p -> p.cpuOrder().size()).sum() + singleKernelOps().size();
    }

    @Override
    public void close() {
        if (singleKernelBackend != null) {
            singleKernelBackend.close();
            singleKernelBackend = null;
        }
    }
}
