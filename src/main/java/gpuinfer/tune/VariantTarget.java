package gpuinfer.tune;

import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionShape;
import gpuinfer.attention.FlashAttention;
import gpuinfer.bench.AttentionBenchmark;
import gpuinfer.check.Comparison;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.DeviceInfo;
import gpuinfer.ops.Linear;
import gpuinfer.variants.KernelSettings;
import gpuinfer.variants.Variants;
import gpuinfer.weights.WeightType;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Chooses between the kernel variants of one decision point ({@link Variants}): each variant is forced in turn
 * ({@link Variants.Point#forcing}), built with its own default -D values as the op computes them on this device
 * (stored tuning values are not applied, so every variant is measured the same way), validated against the CPU
 * reference exactly as {@link FlashTarget} and {@link LinearTarget} validate theirs, and timed on the same shapes.
 * The parameter searched is {@code VARIANT}; the defaults are the variant the settings' family prefers on this device
 * (CPU- or GPU-shaped), which a variant replaces only when it is faster by more than the tuner's margin, or when the
 * defaults were rejected (a wrong variant is never chosen). The result is stored under the point's tuning key
 * ("variant/flash prefill"), which {@link Variants#choose} reads.
 */
public final class VariantTarget implements Tuner.Target {
    /** A trial of one variant, built with settings that force it. */
    private interface TrialFactory {
        Tuner.Trial open(ClContext context, KernelSettings forced, String variant);
    }

    private final Variants.Point point;
    private final KernelSettings base;
    private final String timedShape;
    private final TrialFactory factory;

    private VariantTarget(Variants.Point point, KernelSettings base, String timedShape, TrialFactory factory) {
        this.point = point;
        this.base = base;
        this.timedShape = timedShape;
        this.factory = factory;
    }

    /**
     * Flash attention on prefill shapes (flash_tiled vs flash_dsplit), timed on {@code timed} with a causal mask,
     * validated on FlashTarget's shapes.
     *
     * @param base the family whose preferred variant is the default, and (tests) per-variant build options
     */
    public static VariantTarget flashPrefill(KernelSettings base, AttentionShape timed) {
        return flash(Variants.FLASH_PREFILL, base, timed, FlashTarget.prefillProblems(timed.headDim()));
    }

    /**
     * Flash attention on decode shapes (flash_decode_split vs flash_decode_dsplit): {@code timed} has one query row
     * (Sq = 1) against a long cache; validated on awkward decode shapes (Sq up to 4, GQA, non-causal, padded keys).
     */
    public static VariantTarget flashDecode(KernelSettings base, AttentionShape timed) {
        int d = timed.headDim();
        List<AttentionProblem> problems = List.of(
                AttentionProblem.of(new AttentionShape(1, 3, 1, 1, 301, d), true),
                AttentionProblem.of(new AttentionShape(2, 2, 2, 4, 100, d), false),
                AttentionProblem.of(new AttentionShape(2, 2, 1, 3, 77, d), true).withKvLens(new int[] {77, 9}));
        return flash(Variants.FLASH_DECODE, base, timed, problems);
    }

    private static VariantTarget flash(Variants.Point point, KernelSettings base, AttentionShape timed,
                                       List<AttentionProblem> problems) {
        AttentionProblem timedProblem = AttentionProblem.of(timed, true);
        return new VariantTarget(point, base, timed + " causal", (context, forced, variant) -> {
            FlashAttention op = new FlashAttention(context, forced, Map.of());
            try {
                for (AttentionProblem problem : problems) {
                    requireRuns(variant, op.variant(problem), problem.shape().toString());
                }
                requireRuns(variant, op.variant(timedProblem), timed.toString());
            } catch (RuntimeException e) {
                op.close();
                throw e;
            }
            return new Tuner.Trial() {
                @Override
                public Comparison validate() {
                    return FlashTarget.validateOn(op, problems);
                }

                @Override
                public double millis(int warmup, int repeats) {
                    return AttentionBenchmark.measure(context, op, timedProblem, warmup, repeats).medianMillis();
                }

                @Override
                public void close() {
                    op.close();
                }
            };
        });
    }

    /**
     * The linear layer for prefill (linear_packed, linear_nt, linear_tiled), float32 weights, timed on LinearTarget's
     * prefill shape (GPT-2 124M's QKV projection of 512 rows).
     */
    public static VariantTarget linearPrefill(KernelSettings base) {
        return linear(Variants.linearPrefill(WeightType.F32.label), base, false, 512, 2304, 768);
    }

    /**
     * The linear layer for decode (linear_rows, linear_matvec), float32 weights, one row against 128 MiB of weights;
     * not applicable where float32 weights are packed once (their decode runs linear_packed).
     */
    public static VariantTarget linearDecode(KernelSettings base) {
        VariantTarget target = linear(Variants.linearDecode(WeightType.F32.label), base, true, 1, 8192, 4096);
        target.decodeOfFloatWeights = true;
        return target;
    }

    /** Whether this is the float32 decode point, which a device that packs float32 weights once does not use. */
    private boolean decodeOfFloatWeights;

    @Override
    public String notApplicable(ClContext context) {
        return decodeOfFloatWeights ? LinearTarget.decodeFromPanels(context, base) : null;
    }

    private static VariantTarget linear(Variants.Point point, KernelSettings base, boolean decode, int rows, int outputs,
                                        int inputs) {
        LinearTarget.TimedInputs timedInputs = new LinearTarget.TimedInputs();
        return new VariantTarget(point, base, "R=" + rows + " N=" + outputs + " K=" + inputs, (context, forced, variant) -> {
            Linear.OnDevice op = new Linear.OnDevice(context, forced, Map.of());
            try {
                requireRuns(variant, op.variant(rows, WeightType.F32), "R=" + rows);
            } catch (RuntimeException e) {
                op.close();
                throw e;
            }
            return new Tuner.Trial() {
                @Override
                public Comparison validate() {
                    return LinearTarget.validateOn(context, op, decode);
                }

                @Override
                public double millis(int warmup, int repeats) {
                    return LinearTarget.time(context, op, timedInputs, rows, outputs, inputs, warmup, repeats);
                }

                @Override
                public void close() {
                    op.close();
                }
            };
        });
    }

    /** The variant that ran is the one forced: else it did not build or fit here (the op fell back). */
    private static void requireRuns(String forced, String ran, String shape) {
        if (!forced.equals(ran)) {
            throw new IllegalArgumentException(forced + " cannot run " + shape + " on this device (the op chose " + ran + ")");
        }
    }

    public Variants.Point point() {
        return point;
    }

    @Override
    public String key() {
        return point.tuningKey();
    }

    @Override
    public String timedShape() {
        return timedShape;
    }

    /** The variant the settings' family prefers on this device, as the op chooses it without a stored choice. */
    @Override
    public Map<String, String> defaults(DeviceInfo device) {
        return Map.of(Variants.TUNED_NAME, point.order(base, device).get(0));
    }

    /** Every variant of the point, in the family's order of preference. */
    @Override
    public List<Map<String, String>> space(DeviceInfo device) {
        List<Map<String, String>> all = new ArrayList<>();
        for (String variant : point.order(base, device)) {
            all.add(Map.of(Variants.TUNED_NAME, variant));
        }
        return all;
    }

    /** The other variants in order of preference (no sampling: there are two or three), at most {@code budget}. */
    @Override
    public List<Tuner.Candidate> candidates(DeviceInfo device, int budget, long seed) {
        return space(device).stream().skip(1).limit(budget).map(Tuner.Candidate::of).toList();
    }

    /** A wrong default variant is rejected like any other, and the fastest correct one chosen. */
    @Override
    public boolean defaultsMayBeRejected() {
        return true;
    }

    /**
     * Builds the op with settings that force the variant (plus {@code extraOptions} appended to its build options),
     * and checks that the variant is the one that runs: one that does not build or does not fit the device's limits
     * is rejected with the op's warning.
     */
    @Override
    public Tuner.Trial open(ClContext context, Map<String, String> params, String extraOptions) {
        String variant = params.get(Variants.TUNED_NAME);
        if (variant == null || params.size() != 1 || !point.cpuOrder().contains(variant)) {
            throw new IllegalArgumentException(params + " is not a variant of " + point.name() + " " + point.cpuOrder());
        }
        List<String> warnings = new ArrayList<>();
        KernelSettings forced = point.forcing(base, variant).withWarnings(warnings::add);
        if (!extraOptions.isBlank()) {
            forced = forced.withBuildOptions(variant, (base.buildOptions(variant) + " " + extraOptions).trim());
        }
        try {
            return factory.open(context, forced, variant);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage() + (warnings.isEmpty() ? "" : ": " + String.join("; ", warnings)), e);
        }
    }
}
