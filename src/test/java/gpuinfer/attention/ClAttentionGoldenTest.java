package gpuinfer.attention;

import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.cl.ClContext;
import gpuinfer.cli.Main;
import gpuinfer.tensor.Npy;
import gpuinfer.tensor.Tensor;
import gpuinfer.testing.Golden;
import gpuinfer.testing.NoLeaksInClass;
import gpuinfer.testing.OpenClTestSupport;
import gpuinfer.variants.KernelSettings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The NumPy goldens of the default scale and of key padding (tools/golden_attention.py) on the OpenCL paths: naive
 * and flash through {@link AttentionImpls#create}, flash with CPU-shaped (auto on a CPU device) and GPU-shaped
 * variants, on both bindings; and through the command line, which must pick 1/√D when --scale is not given.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@ExtendWith(NoLeaksInClass.class)
class ClAttentionGoldenTest {
    /**
     * float32 attention against the float64 golden: as {@link Tolerance#FP32_ATTENTION} allows any OpenCL path
     * against the CPU reference (measured errors below 2e-6 on these sizes).
     */
    static final Tolerance TOLERANCE = Tolerance.FP32_ATTENTION;

    /** The cases of the default scale and of key padding. */
    static List<Golden> cases() {
        return Golden.attentionCases().stream()
                .filter(g -> !g.scaleGiven() || g.problem().kvLens() != null)
                .toList();
    }

    private final Map<String, ClContext> contexts = new LinkedHashMap<>();
    private final Map<String, ClAttention> ops = new LinkedHashMap<>();

    /** "naive", "flash" (the device's own family) and "flash/gpu" (GPU-shaped variants forced). */
    static final List<String> PATHS = List.of("naive", "flash", "flash/gpu");

    @BeforeAll
    void open() {
        for (String binding : OpenClTestSupport.bindings()) {
            ClContext context = OpenClTestSupport.context(binding);
            contexts.put(binding, context);
            ops.put(binding + "/naive", AttentionImpls.create("naive", context));
            ops.put(binding + "/flash", AttentionImpls.create("flash", context));
            ops.put(binding + "/flash/gpu", AttentionImpls.create("flash", context,
                    KernelSettings.defaults().withFamily(KernelSettings.Family.GPU), Map.of()));
        }
    }

    @AfterAll
    void close() {
        ops.values().forEach(ClAttention::close);
        contexts.values().forEach(ClContext::close);
    }

    static Stream<Arguments> everyPath() {
        List<Arguments> all = new ArrayList<>();
        for (String binding : OpenClTestSupport.bindings()) {
            for (String path : PATHS) {
                for (Golden golden : cases()) {
                    all.add(Arguments.of(binding, path, golden));
                }
            }
        }
        return all.stream();
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("everyPath")
    void matchesNumpy(String binding, String path, Golden golden) {
        AttentionResult got = ops.get(binding + "/" + path).run(golden.problem(), golden.q(), golden.k(), golden.v());
        Comparison out = Validate.compare("out", got.out().data(), golden.out().data(), TOLERANCE);
        assertTrue(out.passed(), out::report);
        // rows that see no key: -inf in both, matched exactly
        Comparison lse = Validate.compare("lse", got.lse().data(), golden.lse().data(), TOLERANCE);
        assertTrue(lse.passed(), lse::report);
    }

    static Stream<Arguments> commandLineCases() {
        List<Arguments> all = new ArrayList<>();
        for (Golden golden : cases()) {
            if (!golden.scaleGiven()) {
                all.add(Arguments.of("cpu", golden));
                all.add(Arguments.of("flash", golden));
            }
        }
        return all.stream();
    }

    /**
     * {@code gpu-infer attention} on the golden's .npy inputs without --scale: the output and log-sum-exp it writes
     * match the golden, which used 1/√D; the printed problem says that scale.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("commandLineCases")
    void theCommandLinePicksOneOverSqrtDWithoutScale(String impl, Golden golden, @TempDir Path dir) throws Exception {
        Path folder = Golden.folder(golden.name());
        Path outFile = dir.resolve("out.npy");
        Path lseFile = dir.resolve("lse.npy");
        List<String> args = new ArrayList<>(List.of("attention", "--q", folder.resolve("q.npy").toString(),
                "--k", folder.resolve("k.npy").toString(), "--v", folder.resolve("v.npy").toString(), "--impl", impl,
                "--out", outFile.toString(), "--lse-out", lseFile.toString()));
        if (golden.problem().causal()) {
            args.add("--causal");
        }
        if (golden.problem().kvLens() != null) {
            args.add("--kv-lens");
            args.add(Arrays.stream(golden.problem().kvLens()).mapToObj(Integer::toString).collect(Collectors.joining(",")));
        }
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Main.execute(new PrintWriter(out), new PrintWriter(err), args.toArray(String[]::new));
        assertEquals(0, status, () -> "exit " + status + "\n" + out + err);
        float scale = (float) (1 / Math.sqrt(golden.problem().shape().headDim()));
        assertTrue(java.util.regex.Pattern.compile("scale " + java.util.regex.Pattern.quote(sixDigits(scale)) + "(, kv-lens|\\R)")
                        .matcher(out.toString()).find(),
                () -> "the printed problem should name the scale 1/sqrt(D) = " + scale + ":\n" + out);
        Tensor got = Npy.read(outFile);
        Comparison outCheck = Validate.compare("out", got.data(), golden.out().data(), TOLERANCE);
        assertTrue(outCheck.passed(), outCheck::report);
        Comparison lseCheck = Validate.compare("lse", Npy.read(lseFile).data(), golden.lse().data(), TOLERANCE);
        assertTrue(lseCheck.passed(), lseCheck::report);
    }

    /** As the command prints a scale: six significant digits, trailing zeros dropped. */
    private static String sixDigits(float value) {
        return String.format(java.util.Locale.ROOT, "%.6g", value).replaceAll("\\.?0+$", "");
    }
}
