package gpuinfer.fuzz;

import gpuinfer.InputException;
import gpuinfer.gguf.GgufFile;
import gpuinfer.model.GgufExport;
import gpuinfer.model.ModelConfig;
import gpuinfer.model.LoadedModel;
import gpuinfer.model.ModelLocator;
import gpuinfer.weights.WeightTensor;
import gpuinfer.weights.WeightType;
import gpuinfer.model.SafeTensors;
import gpuinfer.tensor.Npy;
import gpuinfer.text.Gpt2Tokenizer;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every parser against mutations of the valid files in the repository. Properties: a file either parses or is
 * refused with gpu-infer's own {@link InputException} (which the command line turns into exit status 2 and a
 * message); nothing else escapes; no input takes more than two seconds; and no input makes the parser allocate far
 * more than the file's size, which would mean an untrusted length drove an allocation before it was checked.
 *
 * <p>The default pass (150 inputs per parser) runs with the tests; a longer one:
 * {@code mvn -B test -Dtest=ParserFuzzTest -Djqwik.tries.default=200000}.
 */
class ParserFuzzTest {
    private static final Path GOLDEN = Path.of("src/test/resources/golden");
    private static final long SECONDS = 2;
    private static Path work;

    /** GGUF seeds: the bundled model converted by gpu-infer (Q4_0, Q8_0), plus every GGUF file among the goldens. */
    private static List<Path> ggufSeeds;

    @BeforeContainer
    static void createWorkFolder() throws IOException {
        work = Files.createTempDirectory("gpu-infer-fuzz");
        List<Path> seeds = new java.util.ArrayList<>();
        for (WeightType type : List.of(WeightType.Q4_0, WeightType.Q8_0)) {
            Path seed = work.resolve("seed-" + type.label + ".gguf");
            GgufExport.write(LoadedModel.openAsStored(ModelLocator.bundled()), type, "seed", seed, bytes -> { });
            seeds.add(seed);
        }
        try (var files = Files.walk(GOLDEN)) {
            files.filter(p -> p.toString().endsWith(".gguf")).sorted().forEach(seeds::add);
        }
        ggufSeeds = List.copyOf(seeds);
    }

    @AfterContainer
    static void removeWorkFolder() throws IOException {
        try (var files = Files.walk(work)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Provide
    Arbitrary<Long> seeds() {
        return Arbitraries.longs();
    }

    @Property
    void npyFiles(@ForAll("seeds") long seed) throws IOException {
        for (String seedFile : List.of("attention/basic/q.npy", "attention/single/lse.npy", "attention/d128/out.npy")) {
            Path file = mutated(GOLDEN.resolve(seedFile), seed, "m.npy");
            check(file, () -> Npy.read(file));
        }
    }

    @Property
    void safetensorsFiles(@ForAll("seeds") long seed) throws IOException {
        for (String seedFile : List.of("gpt2/random-tiny/model.safetensors", "gpt2/random-tiny-f16/model.safetensors",
                "gpt2/random-tiny-bf16/model.safetensors")) {
            Path file = mutated(GOLDEN.resolve(seedFile), seed, "m.safetensors");
            check(file, () -> {
                try (SafeTensors st = SafeTensors.open(file)) {
                    for (SafeTensors.Entry entry : st.entries().values()) {
                        st.read(entry);
                    }
                }
            });
        }
    }

    @Property
    void configFiles(@ForAll("seeds") long seed) throws IOException {
        Path file = mutated(GOLDEN.resolve("gpt2/random-tiny/config.json"), seed, "config.json");
        check(file, () -> ModelConfig.read(file));
    }

    @Property
    void tokenizerFiles(@ForAll("seeds") long seed) throws IOException {
        Path dir = GOLDEN.resolve("gpt2/random-tiny");
        Path vocab = mutated(dir.resolve("vocab.json"), seed, "vocab.json");
        check(vocab, () -> Gpt2Tokenizer.load(vocab, dir.resolve("merges.txt")));
        Path merges = mutated(dir.resolve("merges.txt"), seed ^ 0x5DEECE66DL, "merges.txt");
        check(merges, () -> Gpt2Tokenizer.load(dir.resolve("vocab.json"), merges));
    }

    @Property
    void ggufFiles(@ForAll("seeds") long seed) throws IOException {
        for (Path seedFile : ggufSeeds) {
            Path file = mutated(seedFile, seed, "m.gguf");
            // the container: header, metadata, tensor entries, every tensor mapped and dequantised
            check(file, () -> {
                try (GgufFile gguf = GgufFile.open(file)) {
                    float[] row = new float[0];
                    for (String name : gguf.tensors().keySet()) {
                        WeightTensor t = gguf.tensor(name);
                        if (row.length < t.cols()) {
                            row = new float[(int) t.cols()];
                        }
                        for (long r = 0; r < t.rows(); r++) {
                            t.floatRows(r, 1, row, 0);
                        }
                    }
                }
            });
            // the model: config, tokenizer and weights from the metadata
            check(file, () -> LoadedModel.open(file, null));
        }
    }

    private interface Parse {
        void run() throws Exception;
    }

    private static Path mutated(Path seedFile, long seed, String name) throws IOException {
        byte[] bytes = Mutator.mutate(Files.readAllBytes(seedFile), seed);
        Path file = work.resolve(name);
        Files.write(file, bytes);
        return file;
    }

    private static void check(Path file, Parse parse) throws IOException {
        long size = Files.size(file);
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long allocatedBefore = threads.getCurrentThreadAllocatedBytes();
        long start = System.nanoTime();
        try {
            parse.run();
        } catch (InputException expected) {
            assertTrue(expected.getMessage() != null && !expected.getMessage().isBlank(), "an error without a message");
        } catch (Throwable unexpected) {
            fail("a mutated " + file.getFileName() + " (" + size + " bytes) escaped as " + unexpected, unexpected);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        long allocated = threads.getCurrentThreadAllocatedBytes() - allocatedBefore;
        assertTrue(seconds < SECONDS, "parsing a mutated " + file.getFileName() + " took " + seconds + " s");
        long limit = 64 * size + (32L << 20);
        assertTrue(allocated < limit, "parsing a mutated " + file.getFileName() + " of " + size + " bytes allocated "
                + allocated + " bytes (limit " + limit + "): a length from the file drove an allocation");
    }
}
