package gpuinfer.attention;

import gpuinfer.check.Comparison;
import gpuinfer.cl.ClContext;
import gpuinfer.testing.NoLeaksInClass;
import gpuinfer.testing.OpenClTestSupport;
import gpuinfer.variants.KernelSettings;
import gpuinfer.variants.Variants;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each flash variant, forced, against the CPU reference over shapes built from that variant's tiles as configured on
 * the device the test runs on ({@link FlashShapes}): whatever the device's query rows per group, key tile and split
 * of D, the shapes cross their edges. Also: the variant each family prefers, the fallback when a variant's
 * work-group does not fit the device, and a planted wrong variant that the same comparison catches.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(NoLeaksInClass.class)
class FlashVariantsTest {
    static final List<Integer> HEAD_DIMS = List.of(16, 64, 80, 128);
    private final Map<String, ClContext> contexts = new HashMap<>();

    @BeforeAll
    void open() {
        for (String binding : OpenClTestSupport.bindings()) {
            contexts.put(binding, OpenClTestSupport.context(binding));
        }
    }

    @AfterAll
    void close() {
        contexts.values().forEach(ClContext::close);
    }

    static Variants.Point point(String variant) {
        return Variants.FLASH_PREFILL.cpuOrder().contains(variant) ? Variants.FLASH_PREFILL : Variants.FLASH_DECODE;
    }

    static Stream<Arguments> variantsAndHeadSizes() {
        List<Arguments> all = new ArrayList<>();
        for (String binding : OpenClTestSupport.bindings()) {
            for (String variant : PlantedBugs.FLASH_VARIANTS) {
                for (int d : HEAD_DIMS) {
                    all.add(Arguments.of(binding, variant, d));
                }
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} {1} D={2}")
    @MethodSource("variantsAndHeadSizes")
    void shapesAroundTheVariantsOwnTilesMatchTheReference(String binding, String variant, int d) {
        ClContext context = contexts.get(binding);
        List<String> warnings = new ArrayList<>();
        // The family that prefers this variant: forcing it then replaces nothing, and any warning is a misfit.
        KernelSettings.Family family = point(variant).cpuOrder().get(0).equals(variant) ? KernelSettings.Family.CPU
                : KernelSettings.Family.GPU;
        KernelSettings settings = point(variant).forcing(KernelSettings.defaults().withFamily(family), variant)
                .withWarnings(warnings::add);
        boolean decode = point(variant) == Variants.FLASH_DECODE;
        int cases = 0;
        // Prefill variants also run the shapes that would otherwise go to the decode kernels (Sq = 1, Sq < QR).
        Map<String, String> first = decode ? Map.of() : Map.of("DECODE_MAX_SQ", "0");
        FlashConfig.Tiles tiles;
        try (FlashAttention op = new FlashAttention(context, settings, first)) {
            FlashConfig config = op.config(d);
            tiles = config.tiles(variant);
            assertEquals(0, d % tiles.dSplit(), "the split of D divides D: " + tiles);
            List<FlashShapes.Case> matrix = decode ? FlashShapes.decode(tiles, d, config.decodeMaxSq(), false)
                    : FlashShapes.prefill(tiles, d, false);
            cases += check(context, op, variant, matrix);
        }
        if (decode) {
            // Again with one step of keys per split: several splits, a partial last one, splits that see no key.
            Map<String, String> oneStep = Map.of("KEYS_PER_SPLIT", Integer.toString(tiles.keyTile()));
            try (FlashAttention op = new FlashAttention(context, settings, oneStep)) {
                List<FlashShapes.Case> matrix = FlashShapes.decode(tiles, d, op.config(d).decodeMaxSq(), false);
                for (FlashShapes.Case c : matrix) {
                    assertEquals((c.problem().shape().keyLen() + tiles.keyTile() - 1) / tiles.keyTile(),
                            op.split(c.problem()).splits(), c::toString);
                }
                cases += check(context, op, variant, matrix);
            }
        }
        assertTrue(cases >= 6, "cases run: " + cases);
        assertTrue(warnings.isEmpty(), "the forced variant fits this device: " + warnings);
    }

    /** Each case as plain attention and as accumulating into a running result (both against the CPU reference). */
    private static int check(ClContext context, FlashAttention op, String variant, List<FlashShapes.Case> matrix) {
        long seed = 1;
        for (FlashShapes.Case c : matrix) {
            List<Comparison> comparisons = new ArrayList<>(FlashShapes.compare(op, c, seed));
            comparisons.addAll(FlashShapes.compareAccumulate(op, context, c, seed++));
            assertEquals(variant, op.variant(c.problem()), c::toString);
            for (Comparison comparison : comparisons) {
                assertTrue(comparison.passed(), () -> variant + " " + c + "\n" + comparison.report());
            }
        }
        return matrix.size();
    }

    static Stream<Arguments> bindings() {
        return OpenClTestSupport.bindings().stream().map(Arguments::of);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void eachFamilyPrefersItsVariantsAndADisabledOneIsReplacedWithAWarning(String binding) {
        ClContext context = contexts.get(binding);
        AttentionProblem prefill = AttentionProblem.of(new AttentionShape(1, 2, 1, 40, 50, 64), true);
        AttentionProblem decode = AttentionProblem.of(new AttentionShape(1, 2, 1, 1, 50, 64), true);
        KernelSettings defaults = KernelSettings.defaults();
        try (FlashAttention cpu = new FlashAttention(context, defaults.withFamily(KernelSettings.Family.CPU), Map.of());
             FlashAttention gpu = new FlashAttention(context, defaults.withFamily(KernelSettings.Family.GPU), Map.of())) {
            assertEquals("flash_tiled", cpu.variant(prefill));
            assertEquals("flash_decode_split", cpu.variant(decode));
            assertEquals("flash_dsplit", gpu.variant(prefill));
            assertEquals("flash_decode_dsplit", gpu.variant(decode));
        }
        List<String> warnings = new ArrayList<>();
        KernelSettings disabled = defaults.withFamily(KernelSettings.Family.GPU).withDisabled(java.util.Set.of("flash_dsplit"))
                .withWarnings(warnings::add);
        try (FlashAttention op = new FlashAttention(context, disabled, Map.of())) {
            assertEquals("flash_tiled", op.variant(prefill));
            assertEquals(1, warnings.size(), warnings::toString);
            assertTrue(warnings.get(0).contains("using flash_tiled instead of flash_dsplit")
                    && warnings.get(0).contains("self-test"), warnings.get(0));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void aVariantWhoseWorkGroupIsTooLargeFallsBackToTheOtherWithAWarning(String binding) {
        ClContext context = contexts.get(binding);
        long largest = context.device().info().maxWorkGroupSize();
        // Twice the device's largest work-group (8 work-items per row or lane, 2 * largest / 8 rows or lanes); tiles
        // small enough that local memory is not what refuses them.
        String rows = Long.toString(Math.max(1, largest / 4));
        List<String> warnings = new ArrayList<>();
        KernelSettings gpuShaped = KernelSettings.defaults().withFamily(KernelSettings.Family.GPU).withWarnings(warnings::add);
        Map<String, String> tooLarge = Map.of("QR", rows, "DT", "8", "DKT", "1", "DEC_KL", rows, "DEC_DT", "8", "KB", "1");
        try (FlashAttention op = new FlashAttention(context, gpuShaped, tooLarge)) {
            FlashShapes.Case prefill = new FlashShapes.Case("prefill",
                    AttentionProblem.of(new AttentionShape(1, 2, 1, 40, 50, 64), true), 1f);
            FlashShapes.Case decode = new FlashShapes.Case("decode",
                    AttentionProblem.of(new AttentionShape(1, 2, 1, 2, 50, 64), true), 1f);
            assertEquals("flash_tiled", op.variant(prefill.problem()));
            assertEquals("flash_decode_split", op.variant(decode.problem()));
            for (FlashShapes.Case c : List.of(prefill, decode)) {
                for (Comparison comparison : FlashShapes.compare(op, c, 3)) {
                    assertTrue(comparison.passed(), comparison::report);
                }
            }
        }
        String all = String.join("\n", warnings);
        for (String[] pair : new String[][] {{"flash_dsplit", "flash_tiled"}, {"flash_decode_dsplit", "flash_decode_split"}}) {
            assertTrue(all.contains(pair[0] + " (D=64") && all.contains("does not fit on " + context.device().name()), all);
            assertTrue(all.contains("using " + pair[1] + " instead of " + pair[0]), all);
        }
        assertTrue(all.contains("work-group at most"), "names the kernel's limit: " + all);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bindings")
    void aPlantedWrongDsplitIsCaughtByTheSameComparison(String binding) {
        ClContext context = contexts.get(binding);
        KernelSettings planted = PlantedBugs.dsplitWrong(KernelSettings.defaults());
        try (FlashAttention op = new FlashAttention(context, planted, Map.of("DECODE_MAX_SQ", "0"))) {
            FlashShapes.Case c = FlashShapes.prefill(op.config(64).tiles("flash_dsplit"), 64, true).get(0);
            List<Comparison> comparisons = FlashShapes.compare(op, c, 1);
            assertEquals("flash_dsplit", op.variant(c.problem()));
            assertFalse(comparisons.get(0).passed(), "the planted fault changes the output: " + comparisons.get(0));
        }
    }
}
