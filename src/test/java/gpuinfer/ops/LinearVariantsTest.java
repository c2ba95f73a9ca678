package gpuinfer.ops;

import gpuinfer.InputException;
import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClQueue;
import gpuinfer.cl.DeviceInfo;
import gpuinfer.cl.LiveObjects;
import gpuinfer.testing.NoLeaksInClass;
import gpuinfer.testing.OpenClTestSupport;
import gpuinfer.variants.KernelSettings;
import gpuinfer.variants.Variants;
import gpuinfer.weights.WeightTensor;
import gpuinfer.weights.WeightType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;

import static gpuinfer.ops.ClOpsTest.random;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every variant of the linear layer (linear_rows, linear_matvec, linear_nt, linear_packed, linear_tiled) in every
 * weight format, forced through its decision point ({@link Variants}), over shapes one short of and one past each of
 * its tiles as actually configured on the test device (read back from {@link Linear.OnDevice#config(String, int)}):
 * outputs per work-item and per group, rows per group, the vector width and one pass of a group along K (float
 * formats), whole blocks and one group's stretch of blocks (Q8_0, Q4_0), TK; a single output; every activation with
 * bias, residual, and the residual in place in y. Against {@link Linear#reference}. Also: the choice by family, the
 * prefill property, the fallback when the preferred variant does not fit, per-variant overrides and build options,
 * and that the planted fault in linear_matvec is caught.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(NoLeaksInClass.class)
class LinearVariantsTest {
    private ClContext context;

    @BeforeAll
    void open() {
        context = OpenClTestSupport.context(OpenClTestSupport.bindings().get(0));
    }

    @AfterAll
    void close() {
        if (context != null) {
            context.close();
        }
    }

    /**
     * Per format. The stored values are exact float32 values in every format (a block's d·q needs at most 19 bits), so
     * each format's products carry float32's accumulation error alone: sums of up to ~550 products of unit-scale
     * values against double (see ClOpsTest.FP32_LINEAR). Were a kernel to widen a format inexactly (e.g. an fp16 scale
     * rounded), errors of 1e-3 relative would show.
     */
    static Tolerance tolerance(WeightType type) {
        return switch (type) {
            case F32 -> new Tolerance(1e-5, 1e-4);
            case F16 -> new Tolerance(1e-5, 1e-4);
            case BF16 -> new Tolerance(1e-5, 1e-4);
            case Q8_0 -> new Tolerance(1e-5, 1e-4);
            case Q4_0 -> new Tolerance(1e-5, 1e-4);
            default -> throw new IllegalArgumentException(type + " has no kernel");
        };
    }

    private static KernelSettings quiet() {
        return KernelSettings.defaults().withWarnings(message -> { });
    }

    /** Settings under which the op runs {@code variant} ("linear_tiled/q8_0") at its decision point. */
    static KernelSettings forcing(KernelSettings settings, String variant) {
        String format = Linear.OnDevice.formatOf(variant).label;
        Variants.Point point = variant.startsWith("linear_rows") || variant.startsWith("linear_matvec")
                ? Variants.linearDecode(format) : Variants.linearPrefill(format);
        return point.forcing(settings, variant);
    }

    /** Values one short of and one past each multiple, positive, at most {@code max}, sorted. */
    private static int[] around(int max, int... multiples) {
        TreeSet<Integer> all = new TreeSet<>();
        for (int m : multiples) {
            for (int v : new int[] {m - 1, m + 1}) {
                if (v >= 1 && v <= max) {
                    all.add(v);
                }
            }
        }
        return all.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The inner sizes for a variant's tiles along K: float formats any K, block formats whole blocks. */
    private static int[] inner(WeightType type, Linear.Config c, String kernel) {
        if (type.isBlockQuantized()) {
            TreeSet<Integer> all = new TreeSet<>(List.of(32, 64, 160)); // one block, two, five (linear_rows's 4 + 1)
            switch (kernel) {
                // a group reads WG quarter-blocks of 8 values per pass: one pass less and more a block
                case "linear_matvec" -> {
                    all.add(Math.max(32, c.wg() * 8 - 32));
                    all.add(c.wg() * 8 + 32);
                }
                // pack_rows packs 16 chunks of 32 per group
                case "linear_packed" -> {
                    all.add(480);
                    all.add(544);
                }
                case "linear_tiled" -> {
                    all.add(Math.max(32, c.tk() / 32 * 32));
                    all.add(c.tk() / 32 * 32 + 32);
                }
                default -> { }
            }
            return all.stream().mapToInt(Integer::intValue).toArray();
        }
        TreeSet<Integer> all = new TreeSet<>(List.of(1));
        for (int v : around(600, c.vec(), 2 * c.vec(), 3 * c.vec())) {
            all.add(v);
        }
        switch (kernel) {
            case "linear_matvec" -> {
                for (int v : around(600, c.wg() * c.vec(), 2 * c.wg() * c.vec())) {
                    all.add(v);
                }
            }
            case "linear_packed" -> {
                all.add(33);
                all.add(511);
                all.add(513);
            }
            case "linear_tiled" -> {
                for (int v : around(600, c.tk(), 2 * c.tk())) {
                    all.add(v);
                }
            }
            default -> { }
        }
        return all.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Output counts around the variant's outputs per work-item and per group (one output too). */
    private static int[] outputs(Linear.Config c, String kernel) {
        TreeSet<Integer> all = new TreeSet<>(List.of(1));
        int[] around = switch (kernel) {
            case "linear_matvec" -> around(200, c.nb(), 3 * c.nb());
            case "linear_packed" -> around(200, c.nb() * c.vec());
            default -> around(200, c.nb(), c.wg() * c.nb());
        };
        for (int v : around) {
            all.add(v);
        }
        return all.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * Rows of x: 1..4, 7 and 16 for decode (linear_matvec takes them three at a time); 16, 17 and around the
     * group's rows for prefill; 4 and 15 for linear_nt (a prefill step's rows below 16).
     */
    private static int[] rowsOf(Linear.Config c, String kernel) {
        return switch (kernel) {
            case "linear_rows", "linear_matvec" -> new int[] {1, 2, 3, 4, 7, Linear.Config.DECODE_MAX_ROWS};
            default -> {
                TreeSet<Integer> all = new TreeSet<>(List.of(16, 17));
                int groupRows = c.wgr() * c.mb();
                for (int v : around(200, groupRows)) {
                    if (v >= 16) {
                        all.add(v);
                    }
                }
                if (kernel.equals("linear_nt")) {
                    all.add(4);
                    all.add(15);
                }
                yield all.stream().mapToInt(Integer::intValue).toArray();
            }
        };
    }

    @TestFactory
    Stream<DynamicTest> everyVariantInEveryFormatAroundItsTiles() {
        List<DynamicTest> tests = new ArrayList<>();
        String[] kernels = {"linear_rows", "linear_matvec", "linear_nt", "linear_packed", "linear_tiled"};
        for (String kernel : kernels) {
            for (WeightType type : WeightType.targets()) {
                String variant = kernel + "/" + type.label;
                tests.add(DynamicTest.dynamicTest(variant, () -> sweep(variant, type)));
            }
        }
        return tests.stream();
    }

    private void sweep(String variant, WeightType type) {
        String kernel = Linear.OnDevice.kernelOf(variant);
        KernelSettings settings = forcing(quiet(), variant);
        try (Linear.OnDevice op = new Linear.OnDevice(context, settings, Map.of())) {
            // the variant's tiles as configured here (decode rows and prefill rows have separate tuning keys)
            Linear.Config c = op.config(variant, kernel.equals("linear_rows") || kernel.equals("linear_matvec") ? 1 : 16);
            int cases = 0;
            boolean decodeKernel = kernel.equals("linear_rows") || kernel.equals("linear_matvec");
            op.setPrefillStep(!decodeKernel); // prefill rows of 4 to 16 leave the decode kernels in a prefill step only
            for (int R : rowsOf(c, kernel)) {
                String expected = !decodeKernel && R >= 4 && R < 16 ? "linear_nt/" + type.label : variant;
                assertEquals(expected, op.variant(R, type), "R=" + R);
                for (int N : outputs(c, kernel)) {
                    for (int K : inner(type, c, kernel)) {
                        check(op, variant + " " + c.options(), type, R, N, K, cases++);
                    }
                }
            }
            assertTrue(cases > 20, variant + ": only " + cases + " cases");
        }
    }

    /** One product against the reference; case {@code i} picks the activation, bias, residual and in-place residual. */
    private void check(Linear.OnDevice op, String what, WeightType type, int R, int N, int K, int i) {
        Activation act = Activation.values()[i % Activation.values().length];
        boolean hasBias = i % 2 == 0;
        boolean hasResidual = i % 4 != 1;
        boolean inPlace = hasResidual && i % 3 == 0;
        float[] got = run(op, type, R, N, K, act, hasBias, hasResidual, inPlace, 1000 + i);
        float[] want = reference(type, R, N, K, act, hasBias, hasResidual, 1000 + i);
        Comparison c = Validate.compare(what + " R=" + R + " N=" + N + " K=" + K + " " + act + " bias=" + hasBias
                + " residual=" + hasResidual + (inPlace ? " (in y)" : ""), got, want, tolerance(type));
        assertTrue(c.passed(), c::report);
    }

    private static WeightTensor weights(WeightType type, int N, int K, long seed) {
        return WeightTensor.quantized("w", type, random(N * K, seed), N, K);
    }

    private static float[] reference(WeightType type, int R, int N, int K, Activation act, boolean hasBias,
                                     boolean hasResidual, long seed) {
        float[] want = new float[R * N];
        Linear.reference(want, random(R * K, seed + 1), weights(type, N, K, seed).toFloats(),
                hasBias ? random(N, seed + 2) : null, hasResidual ? random(R * N, seed + 3) : null, R, N, K, act);
        return want;
    }

    /** Runs one product through {@code op}; the residual is y's initial contents when {@code inPlace}. */
    private float[] run(Linear.OnDevice op, WeightType type, int R, int N, int K, Activation act, boolean hasBias,
                        boolean hasResidual, boolean inPlace, long seed) {
        ClQueue queue = context.queue();
        ByteBuffer stored = weights(type, N, K, seed).buffer().orElseThrow();
        try (ClBuffer x = context.createBuffer(random(R * K, seed + 1), "x");
             ClBuffer w = context.createBuffer(stored.remaining(), "w");
             ClBuffer bias = hasBias ? context.createBuffer(random(N, seed + 2), "bias") : null;
             ClBuffer residual = hasResidual && !inPlace ? context.createBuffer(random(R * N, seed + 3), "residual") : null;
             ClBuffer y = inPlace ? context.createBuffer(random(R * N, seed + 3), "y = residual")
                     : context.createBuffer(4L * R * N, "y")) {
            queue.write(w, 0, stored);
            op.enqueue(queue, y, x, w, type, bias, inPlace ? y : residual, R, N, K, act);
            float[] got = new float[R * N];
            queue.read(y, got);
            return got;
        }
    }

    @Test
    void eachFamilyChoosesItsVariantsAndDecodeCoversABatchOfSixteen() {
        DeviceInfo device = context.device().info();
        for (KernelSettings.Family family : KernelSettings.Family.values()) {
            boolean gpu = family == KernelSettings.Family.GPU || (family == KernelSettings.Family.AUTO && device.isGpu());
            try (Linear.OnDevice op = new Linear.OnDevice(context, quiet().withFamily(family), Map.of())) {
                for (WeightType type : WeightType.targets()) {
                    assertEquals((gpu ? "linear_matvec/" : "linear_rows/") + type.label, op.variant(1, type), family + " decode");
                    assertEquals(op.variant(1, type), op.variant(3, type), "one choice for R = 1..16");
                    assertEquals(op.variant(1, type), op.variant(16, type), "one choice for R = 1..16");
                    assertEquals((gpu ? "linear_tiled/" : "linear_packed/") + type.label, op.variant(17, type), family + " prefill");
                    // a prompt's rows: 1..3 still the decode kernel, 4..15 linear_nt, 16 the prefill variant
                    op.setPrefillStep(true);
                    assertEquals(op.variant(1, WeightType.F32).replace("f32", type.label), op.variant(3, type), family + " 3 prompt rows");
                    assertEquals("linear_nt/" + type.label, op.variant(4, type), family + " 4 prompt rows");
                    assertEquals("linear_nt/" + type.label, op.variant(15, type), family + " 15 prompt rows");
                    assertEquals((gpu ? "linear_tiled/" : "linear_packed/") + type.label, op.variant(16, type), family + " 16 prompt rows");
                    op.setPrefillStep(false);
                }
            }
        }
    }

    @Test
    void thePrefillPropertyForcesNtOrPackedWhateverTheFamily() {
        String before = System.getProperty(Linear.OnDevice.PREFILL_PROPERTY);
        try {
            for (String forced : new String[] {"nt", "packed"}) {
                System.setProperty(Linear.OnDevice.PREFILL_PROPERTY, forced);
                for (KernelSettings.Family family : KernelSettings.Family.values()) {
                    try (Linear.OnDevice op = new Linear.OnDevice(context, quiet().withFamily(family), Map.of())) {
                        assertEquals("linear_" + forced + "/q8_0", op.variant(64, WeightType.Q8_0), family.label());
                        // decode is not the property's business
                        assertTrue(op.variant(1, WeightType.Q8_0).matches("linear_(rows|matvec)/q8_0"));
                        check(op, forced + " forced", WeightType.Q8_0, 33, 17, 96, 0);
                    }
                }
            }
            System.setProperty(Linear.OnDevice.PREFILL_PROPERTY, "fast");
            try (Linear.OnDevice op = new Linear.OnDevice(context, quiet(), Map.of())) {
                InputException e = assertThrows(InputException.class, () -> op.variant(17, WeightType.F32));
                assertTrue(e.getMessage().contains("auto, nt or packed"), e.getMessage());
            }
        } finally {
            if (before == null) {
                System.clearProperty(Linear.OnDevice.PREFILL_PROPERTY);
            } else {
                System.setProperty(Linear.OnDevice.PREFILL_PROPERTY, before);
            }
        }
    }

    /**
     * linear_matvec with a work-group larger than the kernel allows here (twice the device's maximum): the decode
     * point falls back to linear_rows with a warning that names the variant and the limit, and the result is right.
     */
    @Test
    void aDecodeVariantWhoseWorkGroupDoesNotFitFallsBackToTheNextOne() {
        List<String> warnings = new ArrayList<>();
        long tooMany = 2 * context.device().info().maxWorkGroupSize();
        KernelSettings settings = KernelSettings.defaults().withFamily(KernelSettings.Family.GPU).withWarnings(warnings::add);
        try (Linear.OnDevice op = new Linear.OnDevice(context, settings,
                Map.of("linear_matvec/f32", Map.of("WG", "" + tooMany)))) {
            assertEquals(tooMany, op.config("linear_matvec/f32", 1).wg());
            assertEquals("linear_rows/f32", op.variant(1, WeightType.F32));
            assertTrue(warnings.stream().anyMatch(w -> w.contains("linear_matvec/f32") && w.contains("does not fit")
                    && w.contains("work-groups of [" + tooMany + "]") && w.contains("CL_KERNEL_WORK_GROUP_SIZE")), warnings::toString);
            assertTrue(warnings.stream().anyMatch(w -> w.contains("using linear_rows/f32 instead of linear_matvec/f32")),
                    warnings::toString);
            check(op, "fallback", WeightType.F32, 2, 37, 129, 0);
            // the other formats still get linear_matvec
            assertEquals("linear_matvec/q8_0", op.variant(1, WeightType.Q8_0));
        }
    }

    /**
     * linear_tiled with a TK whose local tiles exceed the device's local memory: the prefill point falls back to
     * linear_nt (the next variant in the GPU order), with a warning that names the local memory.
     */
    @Test
    void aPrefillVariantWhoseTilesExceedLocalMemoryFallsBackToTheNextOne() {
        List<String> warnings = new ArrayList<>();
        KernelSettings settings = KernelSettings.defaults().withFamily(KernelSettings.Family.GPU).withWarnings(warnings::add);
        Linear.Config tiles;
        try (Linear.OnDevice probe = new Linear.OnDevice(context, quiet().withFamily(KernelSettings.Family.GPU), Map.of())) {
            tiles = probe.config("linear_tiled/f16", 17);
        }
        long floatsPerK = tiles.wgr() * tiles.mb() + 1 + tiles.wg() * tiles.nb() + 1;
        long tk = context.device().info().localMemBytes() / (4 * floatsPerK) + 1;
        try (Linear.OnDevice op = new Linear.OnDevice(context, settings, Map.of("linear_tiled/f16", Map.of("TK", "" + tk)))) {
            assertEquals("linear_nt/f16", op.variant(17, WeightType.F16));
            assertTrue(warnings.stream().anyMatch(w -> w.contains("linear_tiled/f16") && w.contains("local memory")),
                    warnings::toString);
            check(op, "fallback", WeightType.F16, 17, 37, 40, 1);
        }
    }

    @Test
    void overridesApplyByTuningKeyThenByVariantName() {
        try (Linear.OnDevice op = new Linear.OnDevice(context, quiet(), Map.of(
                "linear/decode", Map.of("NB", "3", "WG", "8"),
                "linear_matvec/f32", Map.of("WG", "32")))) {
            Linear.Config matvec = op.config("linear_matvec/f32", 1);
            assertEquals(3, matvec.nb());
            assertEquals(32, matvec.wg());
            Linear.Config rows = op.config("linear_rows/f32", 1);
            assertEquals(3, rows.nb());
            assertEquals(8, rows.wg());
            // q8_0 decode has its own tuning key: untouched
            assertEquals(Linear.Config.defaults("linear_matvec", context.device().info(), 1),
                    op.config("linear_matvec/q8_0", 1));
        }
    }

    /**
     * The planted fault (work-item 0's partial sum of each group's last output dropped) reaches only the variant it
     * is planted in, and a comparison with the reference catches it in every format: what the device self-test relies
     * on to prove it would disable a wrong linear_matvec.
     */
    @Test
    void thePlantedMatvecFaultIsCaughtByTheComparison() {
        for (WeightType type : WeightType.targets()) {
            String variant = "linear_matvec/" + type.label;
            KernelSettings settings = forcing(quiet(), variant).withBuildOptions(variant, "-DPLANTED_MATVEC_WRONG");
            try (Linear.OnDevice op = new Linear.OnDevice(context, settings, Map.of())) {
                assertEquals(variant, op.variant(1, type));
                assertTrue(op.options(1, type).contains("-DPLANTED_MATVEC_WRONG"), op.options(1, type));
                for (int R = 1; R <= 3; R++) {
                    int N = 9;
                    int K = 64;
                    float[] got = run(op, type, R, N, K, Activation.NONE, false, false, false, 77);
                    float[] want = reference(type, R, N, K, Activation.NONE, false, false, 77);
                    Comparison c = Validate.compare(variant + " planted R=" + R, got, want, tolerance(type));
                    assertFalse(c.passed(), variant + ": the planted fault went unnoticed at R=" + R);
                }
                // linear_rows is built without it
                try (Linear.OnDevice rows = new Linear.OnDevice(context,
                        forcing(quiet(), "linear_rows/" + type.label).withBuildOptions(variant, "-DPLANTED_MATVEC_WRONG"),
                        Map.of())) {
                    check(rows, "linear_rows beside a planted linear_matvec", type, 2, 9, 64, 0);
                }
            }
        }
    }

    /**
     * linear_matvec's subgroup reduction (USE_SUBGROUPS = 1), which the host enables only on devices with subgroups
     * (none here), run with subgroups of one work-item emulated by defines: each work-item's "subgroup sum" is its own
     * partial, written to its own column, and the epilogue adds WG columns. This checks that path's indexing and
     * barriers, not a driver's sub_group_reduce_add.
     */
    @Test
    void theSubgroupReductionAddsEverySubgroupsColumn() {
        String emulated = "-DUSE_SUBGROUPS=1 -Dsub_group_reduce_add(v)=(v) -Dget_sub_group_local_id()=0u"
                + " -Dget_sub_group_id()=((uint)get_local_id(0)) -Dget_num_sub_groups()=((uint)get_local_size(0))";
        for (WeightType type : new WeightType[] {WeightType.F32, WeightType.Q4_0}) {
            String variant = "linear_matvec/" + type.label;
            KernelSettings settings = forcing(quiet(), variant).withBuildOptions(variant, emulated);
            try (Linear.OnDevice op = new Linear.OnDevice(context, settings, Map.of())) {
                assertEquals(variant, op.variant(1, type));
                assertTrue(op.options(1, type).contains("-DUSE_SUBGROUPS=1"), op.options(1, type));
                int i = 0;
                for (int R = 1; R <= 3; R++) {
                    for (int N : new int[] {1, 9}) {
                        check(op, "emulated subgroups", type, R, N, type.isBlockQuantized() ? 544 : 257, i++);
                    }
                }
            }
        }
    }

    /** Closing the op releases every kernel it built (programs stay cached in the context until it closes). */
    @Test
    void closingTheOpReleasesEveryKernelOfEveryVariant() {
        List<String> before = LiveObjects.describe();
        try (Linear.OnDevice op = new Linear.OnDevice(context, quiet(), Map.of())) {
            for (String variant : new String[] {"linear_rows/q4_0", "linear_matvec/q4_0"}) {
                try (Linear.OnDevice forced = new Linear.OnDevice(context, forcing(quiet(), variant), Map.of())) {
                    check(forced, variant, WeightType.Q4_0, 1, 5, 64, 0);
                }
            }
            for (String variant : new String[] {"linear_nt/bf16", "linear_packed/bf16", "linear_tiled/bf16"}) {
                try (Linear.OnDevice forced = new Linear.OnDevice(context, forcing(quiet(), variant), Map.of())) {
                    check(forced, variant, WeightType.BF16, 17, 5, 40, 0);
                }
            }
            check(op, "default", WeightType.F32, 1, 5, 40, 0);
        }
        List<String> added = new ArrayList<>(LiveObjects.describe());
        before.forEach(added::remove);
        assertTrue(added.stream().allMatch(o -> o.startsWith("PROGRAM")), "alive after close: " + added);
    }
}
