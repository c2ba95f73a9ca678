package gpuinfer.attention;

import gpuinfer.check.Comparison;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClRuntime;
import gpuinfer.cl.ProgramCache;
import gpuinfer.variants.KernelSettings;
import gpuinfer.variants.Variants;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Every flash variant (flash_tiled, flash_dsplit, flash_decode_split, flash_decode_dsplit, each forced) and the naive
 * path on the device {@code --device auto} picks, over a small version of FlashVariantsTest's matrix: shapes built
 * from each variant's tiles as configured on that device ({@link FlashShapes}: one past a query group, one short of
 * and one past a key tile, Sq = Sk = 1, grouped heads, key padding with a length of 0, rows that see no key, large
 * logits), decode shapes split one step per split, at D = 16, 80 and 128 for the D-split variants, 16 and 80 for
 * flash_decode_split, 16 for flash_tiled and naive (Oclgrind interprets every work-item: a minute in all), against
 * the CPU reference; every flash case also accumulating into a running result ({@code enqueueAccumulate}, against
 * the reference merged by log-sum-exp). A main, not a test: Oclgrind, which checks every memory access and looks for data
 * races, runs it (the JUnit fork cannot host Oclgrind); FlashVariantsTest covers the same matrix on the test device.
 *
 * <p>Prints the device ({@code device NAME}), one line per case, the programs built, and a summary line; exits 1 on
 * any mismatch or when a forced variant does not run.
 */
public final class AttentionShapeSweep {
    private int cases;
    private int failures;

    private AttentionShapeSweep() {
    }

    public static void main(String[] args) {
        ClRuntime runtime = ClRuntime.get(ClRuntime.DEFAULT_BINDING);
        AttentionShapeSweep sweep = new AttentionShapeSweep();
        long start = System.nanoTime();
        try (ClContext context = runtime.createContext(runtime.select("auto"), ProgramCache.defaultCache())) {
            System.out.println("device " + context.device().name());
            for (String variant : PlantedBugs.FLASH_VARIANTS) {
                // the existing kernels at one small and one odd head size, the D-split ones at 16, 80 and 128
                for (int d : variant.contains("dsplit") ? new int[] {16, 80, 128} : variant.equals("flash_tiled")
                        ? new int[] {16} : new int[] {16, 80}) {
                    sweep.flash(context, variant, d);
                }
            }
            sweep.naive(context);
            context.builds().stream().filter(b -> !b.origin().equals("memory"))
                    .forEach(b -> System.out.println("built " + b.source() + " " + b.options()));
        }
        System.out.printf("%d cases, %d mismatches (%.0f s)%n", sweep.cases, sweep.failures, (System.nanoTime() - start) / 1e9);
        System.exit(sweep.failures == 0 ? 0 : 1);
    }

    private void flash(ClContext context, String variant, int d) {
        Variants.Point point = Variants.FLASH_PREFILL.cpuOrder().contains(variant) ? Variants.FLASH_PREFILL : Variants.FLASH_DECODE;
        boolean decode = point == Variants.FLASH_DECODE;
        KernelSettings.Family family = point.cpuOrder().get(0).equals(variant) ? KernelSettings.Family.CPU : KernelSettings.Family.GPU;
        List<String> warnings = new ArrayList<>();
        KernelSettings settings = point.forcing(KernelSettings.defaults().withFamily(family), variant).withWarnings(warnings::add);
        FlashConfig.Tiles tiles;
        int maxSq;
        try (FlashAttention probe = new FlashAttention(context, settings, Map.of())) {
            tiles = probe.config(d).tiles(variant);
            maxSq = probe.config(d).decodeMaxSq();
        }
        // Prefill variants take the decode shapes too (DECODE_MAX_SQ=0); decode splits are one step of keys each.
        Map<String, String> overrides = decode ? Map.of("KEYS_PER_SPLIT", Integer.toString(tiles.keyTile()))
                : Map.of("DECODE_MAX_SQ", "0");
        try (FlashAttention op = new FlashAttention(context, settings, overrides)) {
            List<FlashShapes.Case> matrix = decode ? FlashShapes.decode(tiles, d, maxSq, true) : FlashShapes.prefill(tiles, d, true);
            for (FlashShapes.Case c : matrix) {
                String ran = op.variant(c.problem());
                run(variant + " D=" + d + " " + tiles, op, c, ran.equals(variant) ? null : "ran " + ran, context);
            }
        }
        for (String warning : warnings) {
            failures++;
            System.out.println("FAIL  " + variant + " D=" + d + ": " + warning);
        }
    }

    /** The naive path (attention_naive.cl, 16 x 16 tiles) over the same small matrix at D = 16. */
    private void naive(ClContext context) {
        int d = 16;
        try (NaiveAttention op = new NaiveAttention(context)) {
            List<FlashShapes.Case> matrix = new ArrayList<>(FlashShapes.prefill(new FlashConfig.Tiles(16, 16, 1), d, true));
            matrix.addAll(FlashShapes.decode(new FlashConfig.Tiles(1, 16, 1), d, 8, true));
            for (FlashShapes.Case c : matrix) {
                run("naive D=" + d, op, c, null, null);
            }
        }
    }

    /** A case on {@code op}; flash (with its context) also accumulating into a running result. */
    private void run(String what, Attention op, FlashShapes.Case c, String wrongVariant, ClContext flashContext) {
        cases++;
        long start = System.nanoTime();
        List<Comparison> comparisons = new ArrayList<>(FlashShapes.compare(op, c, cases));
        if (op instanceof FlashAttention flash) {
            comparisons.addAll(FlashShapes.compareAccumulate(flash, flashContext, c, cases));
        }
        String took = String.format(" (%.1f s)", (System.nanoTime() - start) / 1e9);
        boolean passed = wrongVariant == null && comparisons.stream().allMatch(Comparison::passed);
        if (passed) {
            System.out.println("ok    " + what + " " + c + ", max abs error " + (float) comparisons.get(0).maxAbsError() + took);
        } else {
            failures++;
            System.out.println("FAIL  " + what + " " + c + (wrongVariant != null ? ": " + wrongVariant : ""));
            comparisons.stream().filter(comparison -> !comparison.passed()).forEach(comparison -> System.out.println(comparison.report()));
        }
    }
}
