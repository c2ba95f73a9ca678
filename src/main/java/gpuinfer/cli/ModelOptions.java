package gpuinfer.cli;

import gpuinfer.model.LoadedModel;
import gpuinfer.model.ModelLocator;
import gpuinfer.weights.WeightType;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;

/** The options every command that runs a model shares: which model, and the format its weights run in. */
public final class ModelOptions {
    @Option(names = "--model", paramLabel = "PATH",
            description = "A Hugging Face folder (config.json, model.safetensors or its shards, tokenizer.json or "
                    + "vocab.json + merges.txt) of a gpt2, llama, mistral or qwen2 model, or a GGUF file of llama.cpp's "
                    + "gpt2, llama or qwen2 architecture (default: the bundled model).")
    Path model;

    @Option(names = "--weights", paramLabel = "FORMAT",
            description = "Convert every weight matrix to f32, f16, bf16, q8_0 or q4_0 as it is uploaded (ggml's "
                    + "reference quantisers); default: run them as stored.")
    String weights;

    /** The model's path: --model, or the bundled model. */
    Path path() {
        return model != null ? model : ModelLocator.bundled();
    }

    /** The format of --weights, or null. */
    WeightType conversion() {
        return weights == null ? null : WeightType.parseTarget("--weights", weights);
    }

    /** Opens the model (mapping its weights) and prints what loading converts, one note per line, on {@code err}. */
    LoadedModel open(PrintWriter err) {
        LoadedModel loaded = LoadedModel.open(path(), conversion());
        for (String note : loaded.weights().notes()) {
            err.println("note: " + note);
        }
        err.flush();
        return loaded;
    }
}
