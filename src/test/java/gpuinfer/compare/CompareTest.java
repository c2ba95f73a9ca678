package gpuinfer.compare;

import gpuinfer.variants.KernelSettings;

import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionShape;
import gpuinfer.attention.PlantedBugs;
import gpuinfer.check.Tolerance;
import gpuinfer.model.ModelWeights;
import gpuinfer.model.ModelLocator;
import gpuinfer.tensor.RandomTensors;
import gpuinfer.tensor.Tensor;
import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import gpuinfer.text.Gpt2Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@ExtendWith(NoLeaks.class)
class CompareTest {
    private static final AttentionShape SHAPE = new AttentionShape(1, 4, 2, 40, 40, 32);

    private static Tensor[] inputs() {
        return new Tensor[] {RandomTensors.gaussian(1, 0, SHAPE.queryShape()), RandomTensors.gaussian(1, 1, SHAPE.keyValueShape()),
                RandomTensors.gaussian(1, 2, SHAPE.keyValueShape())};
    }

    @Test
    void comparesEveryTensorTheExecutionsProduce() {
        OpenClTestSupport.device("lwjgl");
        Tensor[] in = inputs();
        AttentionProblem problem = AttentionProblem.of(SHAPE, true);
        CompareReport naive = AttentionComparison.compare(problem, in[0], in[1], in[2], AttentionComparison.cpu(),
                AttentionComparison.opencl(Execution.parse("impl=naive", "flash")), Tolerance.FP32_ATTENTION);
        assertEquals(List.of("scores", "probabilities", "lse", "out"), naive.tensors().stream().map(TensorReport::name).toList());
        assertTrue(naive.passed(), () -> text(naive));
        CompareReport bindings = AttentionComparison.compare(problem, in[0], in[1], in[2],
                AttentionComparison.opencl(Execution.parse("binding=lwjgl", "flash")),
                AttentionComparison.opencl(Execution.parse("binding=jocl", "flash")), Tolerance.FP32_ATTENTION);
        assertTrue(bindings.passed(), () -> text(bindings));
        assertEquals(0.0, bindings.tensors().get(1).comparison().maxAbsError(), "the same kernel gives the same bits on both bindings");
    }

    @Test
    void kernelShapesAreComparedOnOneDevice() {
        OpenClTestSupport.device("lwjgl");
        Execution cpuShaped = Execution.parse("kernels=cpu", "flash");
        Execution gpuShaped = Execution.parse("kernels=gpu", "flash");
        assertEquals(KernelSettings.Family.GPU, gpuShaped.kernels());
        assertTrue(gpuShaped.describe().contains("gpu-shaped kernels"), gpuShaped.describe());
        assertThrows(gpuinfer.InputException.class, () -> Execution.parse("kernels=tpu", "flash"));
        Tensor[] in = inputs();
        AttentionProblem problem = AttentionProblem.of(SHAPE, true);
        CompareReport report = AttentionComparison.compare(problem, in[0], in[1], in[2],
                AttentionComparison.opencl(cpuShaped), AttentionComparison.opencl(gpuShaped), Tolerance.FP32_ATTENTION);
        assertTrue(report.passed(), () -> text(report));
        // two different kernels (flash_tiled, flash_dsplit) sum in different orders: not the same bits
        assertTrue(report.tensors().stream().anyMatch(t -> t.comparison().maxAbsError() > 0), () -> text(report));
    }

    @Test
    void catchesAPlantedOffByOneCausalMaskAndNamesTheFirstTensorThatDiverges() {
        OpenClTestSupport.device("lwjgl");
        Tensor[] in = inputs();
        AttentionProblem problem = AttentionProblem.of(SHAPE, true);
        CompareReport report = AttentionComparison.compare(problem, in[0], in[1], in[2], AttentionComparison.cpu(),
                AttentionComparison.opencl(Execution.parse("impl=flash", "flash"), PlantedBugs::flashWithOffByOneCausalMask),
                Tolerance.FP32_ATTENTION);
        assertFalse(report.passed());
        assertEquals("lse", report.firstDivergence().orElseThrow().name(), "flash has no scores; its first tensor is the lse");
        assertTrue(text(report).contains("FAIL: the runs diverge first at 'lse'"), () -> text(report));
        // the same planted kernel without a causal mask is right: the bug is in the mask alone
        CompareReport unmasked = AttentionComparison.compare(AttentionProblem.of(SHAPE, false), in[0], in[1], in[2],
                AttentionComparison.cpu(), AttentionComparison.opencl(Execution.parse("impl=flash", "flash"),
                        PlantedBugs::flashWithOffByOneCausalMask), Tolerance.FP32_ATTENTION);
        assertTrue(unmasked.passed(), () -> text(unmasked));
    }

    @Test
    void comparesAModelLayerByLayerWithTeacherForcing() {
        OpenClTestSupport.device("lwjgl");
        var dir = ModelLocator.bundled();
        ModelWeights weights = ModelWeights.loadFolder(dir);
        int[] prompt = Gpt2Tokenizer.fromModelDirectory(dir).encode("hello");
        try (ModelComparison.Side a = ModelComparison.cpu();
             ModelComparison.Side b = ModelComparison.opencl(Execution.parse("device=auto", "opencl"))) {
            CompareReport report = ModelComparison.compare(weights, prompt, 4, a, b, Tolerance.FP32_MODEL);
            assertTrue(report.passed(), () -> text(report));
            List<String> names = report.tensors().stream().map(TensorReport::name).toList();
            assertEquals("embeddings", names.get(0));
            assertEquals("logits", names.get(names.size() - 1));
            assertTrue(names.containsAll(List.of("h.0.attn_out", "h.0.mlp_out", "h.0.resid_block", "ln_f")), names.toString());
            TensorReport logits = report.tensors().get(names.size() - 1);
            assertEquals(prompt.length + 4, logits.shape()[0], "every position of prompt and generated tokens");
            assertEquals(1.0, logits.logits().argmaxAgreement());
            // a zero tolerance cannot be met by float32 against double: the first tensor past the embeddings fails
            CompareReport strict = ModelComparison.compare(weights, prompt, 0, a, b, new Tolerance(0, 0));
            assertEquals("h.0.ln_1", strict.firstDivergence().orElseThrow().name());
        }
    }

    @Test
    void executionsParseAndRejectNonsense() {
        assertTrue(Execution.parse("cpu", "flash").isCpu());
        Execution e = Execution.parse("device=gpu, impl=naive ,binding=jocl", "flash");
        assertEquals(new Execution("naive", "gpu", "jocl"), e);
        assertEquals(new Execution("flash", "auto", "lwjgl"), Execution.parse("device=auto", "flash"));
        for (String bad : List.of("gpu", "device=", "colour=red", "binding=cuda")) {
            try {
                Execution.parse(bad, "flash");
                throw new AssertionError("accepted " + bad);
            } catch (gpuinfer.InputException expected) {
                assertTrue(expected.getMessage().contains(bad.split("=")[0]) || expected.getMessage().contains("cuda"), expected.getMessage());
            }
        }
    }

    @Test
    void topKIsOrderedAndStable() {
        float[] v = {1, 5, 3, 5, -2, 4};
        assertEquals(List.of(1, 3, 5), java.util.Arrays.stream(TensorReport.topK(v, 0, 6, 3)).boxed().toList());
        TensorReport.LogitStats stats = TensorReport.logitStats(v, new float[] {1, 5, 3, 4.9f, -2, 6}, 1, 6, 3);
        assertEquals(0.0, stats.argmaxAgreement());
        assertEquals(1.0, stats.topKOverlap(), 1e-9);
    }

    private static String text(CompareReport report) {
        java.io.StringWriter s = new java.io.StringWriter();
        report.print(new java.io.PrintWriter(s));
        return s.toString();
    }
}
