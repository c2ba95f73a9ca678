package gpuinfer.batch;

import gpuinfer.cl.ClContext;
import gpuinfer.model.LoadedModel;
import gpuinfer.model.ModelLocator;
import gpuinfer.model.ModelWeights;
import gpuinfer.ops.Backend;
import gpuinfer.ops.ClBackend;
import gpuinfer.ops.CpuBackend;
import gpuinfer.testing.OpenClTestSupport;
import gpuinfer.testing.TinyLlama;
import org.junit.jupiter.params.provider.Arguments;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;

/**
 * The models and backends the batch tests run on: GPT-2 (the bundled model) and a Llama with grouped-query attention
 * (TinyLlama, written once into a folder), each on the CPU reference and on every binding's context, one context
 * per binding shared by a test class. Close (in {@code @AfterAll}) to release the contexts.
 */
final class BatchTestModels implements AutoCloseable {
    private final Path llama;
    private final Map<String, ClContext> contexts = new LinkedHashMap<>();

    BatchTestModels(Path dir) throws IOException {
        llama = TinyLlama.write(dir.resolve("llama"), "llama", false);
    }

    /** (model, backend) pairs: "gpt2" or "llama", on "cpu" or each binding. */
    static Stream<Arguments> cases() {
        List<Arguments> all = new ArrayList<>();
        for (String model : List.of("gpt2", "llama")) {
            all.add(Arguments.of(model, "cpu"));
            for (String binding : OpenClTestSupport.bindings()) {
                all.add(Arguments.of(model, binding));
            }
        }
        return all.stream();
    }

    /** A fresh backend for each model (a model closes its own) on the CPU reference or the binding's context. */
    Supplier<Backend> backends(String backend) {
        if (backend.equals("cpu")) {
            return CpuBackend::new;
        }
        ClContext context = contexts.computeIfAbsent(backend, OpenClTestSupport::context);
        return () -> new ClBackend(context);
    }

    /** The bundled GPT-2 (its tokenizer serves both models: the tests feed token ids). */
    static LoadedModel gpt2() {
        return LoadedModel.open(ModelLocator.bundled(), null);
    }

    /** The Llama's weights. */
    ModelWeights llama() {
        return ModelWeights.loadFolder(llama);
    }

    /** The weights of "gpt2" or "llama". */
    ModelWeights weights(String model) {
        return model.equals("gpt2") ? gpt2().weights() : llama();
    }

    @Override
    public void close() {
        contexts.values().forEach(ClContext::close);
        contexts.clear();
    }
}
