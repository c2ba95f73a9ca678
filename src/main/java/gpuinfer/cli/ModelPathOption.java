package gpuinfer.cli;

import gpuinfer.model.ModelLocator;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * {@code --model PATH}: which model, a Hugging Face folder or a GGUF file, or the bundled one (a picocli mixin; the
 * one declaration of the option). Commands that only read a model ({@code tokenize}, {@code convert}) use it alone:
 * {@code @Mixin ModelPathOption model;} then {@code model.path()}; commands that run one use {@link ModelOptions},
 * which holds it.
 */
public final class ModelPathOption {
    @Option(names = "--model", paramLabel = "PATH",
            description = "A Hugging Face folder (config.json, model.safetensors or its shards, tokenizer.json or "
                    + "vocab.json + merges.txt) of a gpt2, llama, mistral or qwen2 model, or a GGUF file of llama.cpp's "
                    + "gpt2, llama or qwen2 architecture (default: the bundled model).")
    Path model;

    /** The model's path: --model, or the bundled model. */
    Path path() {
        return model != null ? model : ModelLocator.bundled();
    }
}
