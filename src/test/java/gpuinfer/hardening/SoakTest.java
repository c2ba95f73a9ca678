package gpuinfer.hardening;

import gpuinfer.attention.AttentionImpls;
import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionResult;
import gpuinfer.attention.AttentionShape;
import gpuinfer.attention.ClAttention;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.LiveObjects;
import gpuinfer.generate.Generator;
import gpuinfer.generate.SamplingOptions;
import gpuinfer.model.DecoderModel;
import gpuinfer.model.ModelWeights;
import gpuinfer.ops.ClBackend;
import gpuinfer.tensor.RandomTensors;
import gpuinfer.tensor.Tensor;
import gpuinfer.testing.OpenClTestSupport;
import gpuinfer.text.Gpt2Tokenizer;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Long runs in one process: 1,000 attention calls and 100 model runs leave no live OpenCL object and no growth of
 * native memory; two jobs on one device from two threads (one context each) give the sequential results.
 */
class SoakTest {
    private static final Path MODEL = Path.of("src/test/resources/golden/gpt2/random-tiny");

    /** Resident memory not accounted for by the Java heap and the JVM's own committed non-heap areas, in MiB. */
    private static double nativeMiB() throws Exception {
        System.gc();
        long rss = 0;
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                rss = Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        var memory = ManagementFactory.getMemoryMXBean();
        return (rss - memory.getHeapMemoryUsage().getCommitted() - memory.getNonHeapMemoryUsage().getCommitted()) / 1048576.0;
    }

    @Test
    void aThousandAttentionCallsAndAHundredModelRunsLeakNothing() throws Exception {
        int liveBefore = LiveObjects.count();
        try (ClContext context = OpenClTestSupport.context("lwjgl")) {
            AttentionShape shape = new AttentionShape(1, 4, 4, 128, 128, 64); // about 0.5 MiB of buffers per call
            Tensor q = RandomTensors.gaussian(1, 0, shape.queryShape());
            Tensor k = RandomTensors.gaussian(1, 1, shape.keyValueShape());
            Tensor v = RandomTensors.gaussian(1, 2, shape.keyValueShape());
            AttentionProblem problem = AttentionProblem.of(shape, true);
            try (ClAttention flash = AttentionImpls.create("flash", context);
                 ClAttention naive = AttentionImpls.create("naive", context)) {
                for (int i = 0; i < 100; i++) { // warm-up: compilation, allocator pools
                    (i % 2 == 0 ? flash : naive).run(problem, q, k, v);
                }
                int live = LiveObjects.count(); // the context, its queue and programs, the ops' kernels
                double before = nativeMiB();
                for (int i = 0; i < 1000; i++) {
                    AttentionResult r = (i % 2 == 0 ? flash : naive).run(problem, q, k, v);
                    assertEquals(shape.queryElements(), r.out().size());
                }
                double grown = nativeMiB() - before;
                assertTrue(grown < 100, "native memory grew by " + grown + " MiB over 1000 calls (leaked buffers would be ~500)");
                assertEquals(live, LiveObjects.count(), () -> "attention left " + LiveObjects.describe());
            }

            ModelWeights weights = ModelWeights.loadFolder(MODEL);
            Gpt2Tokenizer tokenizer = Gpt2Tokenizer.fromModelDirectory(MODEL);
            int[] prompt = tokenizer.encode("hello world");
            for (int i = 0; i < 10; i++) {
                generate(context, weights, tokenizer, prompt);
            }
            int live = LiveObjects.count();
            double before = nativeMiB();
            for (int i = 0; i < 100; i++) {
                generate(context, weights, tokenizer, prompt);
            }
            double grown = nativeMiB() - before;
            assertTrue(grown < 100, "native memory grew by " + grown + " MiB over 100 model runs (each uploads ~1 MiB of weights)");
            assertEquals(live, LiveObjects.count(), () -> "model runs left " + LiveObjects.describe());
        }
        assertEquals(liveBefore, LiveObjects.count(), () -> "closing the context left " + LiveObjects.describe());
    }

    private static int[] generate(ClContext context, ModelWeights weights, Gpt2Tokenizer tokenizer, int[] prompt) {
        try (DecoderModel model = new DecoderModel(new ClBackend(context), weights, 1, prompt.length + 4, prompt.length, 1)) {
            return Generator.generate(model, tokenizer, List.of(prompt), 4, SamplingOptions.greedy(), false, null)
                    .completions().get(0).generatedIds();
        }
    }

    @Test
    void twoJobsOnOneDeviceFromTwoThreadsGiveTheSequentialResults() throws Exception {
        OpenClTestSupport.device("lwjgl");
        ModelWeights weights = ModelWeights.loadFolder(MODEL);
        Gpt2Tokenizer tokenizer = Gpt2Tokenizer.fromModelDirectory(MODEL);
        int[] promptA = tokenizer.encode("The meaning of life is");
        int[] promptB = tokenizer.encode("It was a dark and stormy night");
        AttentionShape shape = new AttentionShape(2, 4, 2, 100, 140, 64);
        Tensor q = RandomTensors.gaussian(9, 0, shape.queryShape());
        Tensor k = RandomTensors.gaussian(9, 1, shape.keyValueShape());
        Tensor v = RandomTensors.gaussian(9, 2, shape.keyValueShape());

        // sequential
        int[] seqA;
        int[] seqB;
        float[] seqAttention;
        try (ClContext context = OpenClTestSupport.context("lwjgl")) {
            seqA = generate(context, weights, tokenizer, promptA);
            seqB = generate(context, weights, tokenizer, promptB);
            try (ClAttention flash = AttentionImpls.create("flash", context)) {
                seqAttention = flash.run(AttentionProblem.of(shape, true), q, k, v).out().data();
            }
        }
        // concurrent: each thread its own context on the same device, several rounds
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < 5; round++) {
                List<Future<Object>> jobs = new ArrayList<>();
                jobs.add(pool.submit(() -> {
                    try (ClContext context = OpenClTestSupport.context("lwjgl")) {
                        return new int[][] {generate(context, weights, tokenizer, promptA), generate(context, weights, tokenizer, promptB)};
                    }
                }));
                jobs.add(pool.submit(() -> {
                    try (ClContext context = OpenClTestSupport.context("jocl");
                         ClAttention flash = AttentionImpls.create("flash", context)) {
                        return flash.run(AttentionProblem.of(shape, true), q, k, v).out().data();
                    }
                }));
                int[][] ids = (int[][]) jobs.get(0).get();
                assertArrayEquals(seqA, ids[0]);
                assertArrayEquals(seqB, ids[1]);
                assertArrayEquals(seqAttention, (float[]) jobs.get(1).get(), "bit for bit");
            }
        } finally {
            pool.shutdown();
        }
    }
}
