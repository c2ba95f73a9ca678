package gpuinfer.model;

import gpuinfer.InputException;
import gpuinfer.gguf.GgufFile;
import gpuinfer.text.Tokenizer;
import gpuinfer.text.Tokenizers;
import gpuinfer.weights.WeightType;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A model opened for use: its config, tokenizer, chat template and weights, from a Hugging Face folder (config.json,
 * model.safetensors or its shards, tokenizer.json or GPT-2's vocab.json and merges.txt, tokenizer_config.json) or
 * from one GGUF file (llama.cpp's format: hyperparameters, tokenizer, chat template and tensors in one file). Weights are memory-mapped, not read: opening a model costs milliseconds and no heap; the
 * bytes are read when they are uploaded.
 *
 * @param source       "Hugging Face folder" or "GGUF v3"
 * @param chatTemplate the model's chat template (Jinja source), or null when it has none
 * @param openMillis   time to open, check and map the files
 */
public record LoadedModel(Path path, String source, ModelConfig config, Tokenizer tokenizer, ModelWeights weights,
                          String chatTemplate, double openMillis) {

    /** Whether {@code path} is a GGUF file (by its first four bytes), rather than a model folder. */
    public static boolean isGguf(Path path) {
        if (!Files.isRegularFile(path)) {
            return false;
        }
        try (InputStream in = Files.newInputStream(path)) {
            byte[] magic = in.readNBytes(4);
            return magic.length == 4 && magic[0] == 'G' && magic[1] == 'G' && magic[2] == 'U' && magic[3] == 'F';
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Opens a model folder or a GGUF file.
     *
     * @param convertTo a format to convert every matrix to as it is uploaded ({@code --weights}), or null to keep
     *                  the stored formats
     */
    public static LoadedModel open(Path path, WeightType convertTo) {
        LoadedModel stored = openAsStored(path);
        ModelWeights weights = (convertTo == null ? stored.weights : stored.weights.convertedTo(convertTo)).runnable()
                .withFusedQkv();
        return new LoadedModel(path, stored.source, stored.config, stored.tokenizer, weights, stored.chatTemplate,
                stored.openMillis);
    }

    /** Opens a model folder or a GGUF file with every tensor as stored (K-quants too), for conversion to a file. */
    public static LoadedModel openAsStored(Path path) {
        long start = System.nanoTime();
        LoadedModel model;
        if (Files.isDirectory(path)) {
            ModelConfig config = ModelConfig.read(path.resolve("config.json"));
            Tokenizer tokenizer = Tokenizers.fromFolder(path);
            checkVocab(path, tokenizer, config);
            model = new LoadedModel(path, "Hugging Face folder", config, tokenizer, ModelWeights.loadFolder(path),
                    chatTemplate(path), 0);
        } else if (Files.isRegularFile(path)) {
            if (!isGguf(path)) {
                throw new InputException(path + " is neither a model folder (config.json, model.safetensors, vocab.json, "
                        + "merges.txt) nor a GGUF file (it does not start with 'GGUF').");
            }
            try (GgufFile file = GgufFile.open(path)) {
                ModelConfig config = ModelConfig.fromGguf(file);
                Tokenizer tokenizer = Tokenizers.fromGguf(file);
                checkVocab(path, tokenizer, config);
                model = new LoadedModel(path, "GGUF v" + file.version(), config, tokenizer, ModelWeights.load(config, file),
                        file.string("tokenizer.chat_template"), 0);
            }
        } else {
            throw new InputException("--model " + path + ": no such file or folder. Pass a Hugging Face model folder "
                    + "(config.json, safetensors weights, tokenizer files) or a .gguf file.");
        }
        return new LoadedModel(path, model.source, model.config, model.tokenizer, model.weights, model.chatTemplate,
                (System.nanoTime() - start) / 1e6);
    }

    /**
     * The chat template of a model folder: {@code chat_template.jinja} (newer Hugging Face repositories) or the
     * {@code chat_template} of {@code tokenizer_config.json}; null when neither exists.
     */
    static String chatTemplate(Path dir) {
        try {
            Path jinja = dir.resolve("chat_template.jinja");
            if (Files.isRegularFile(jinja)) {
                return Files.readString(jinja);
            }
            Path config = dir.resolve("tokenizer_config.json");
            if (!Files.isRegularFile(config)) {
                return null;
            }
            return gpuinfer.chat.ChatTemplate.templateFrom(ModelConfig.json(config)).orElse(null);
        } catch (IOException e) {
            throw new ModelFormatException(dir.resolve("chat_template.jinja"), "cannot be read: " + e.getMessage());
        }
    }

    private static void checkVocab(Path path, Tokenizer tokenizer, ModelConfig config) {
        if (tokenizer.vocabSize() > config.vocabSize()) {
            throw new InputException(path + ": the tokenizer has " + tokenizer.vocabSize() + " tokens but the model's "
                    + "vocabulary (token embedding) has " + config.vocabSize() + " rows; the files do not belong together.");
        }
    }

    /** A file name for messages: the folder's or the file's. */
    public String name() {
        Path name = path.getFileName();
        return name == null ? path.toString() : name.toString();
    }
}
