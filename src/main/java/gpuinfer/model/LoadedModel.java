package gpuinfer.model;

import gpuinfer.InputException;
import gpuinfer.gguf.GgufFile;
import gpuinfer.text.Gpt2Tokenizer;
import gpuinfer.weights.WeightType;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A model opened for use: its config, tokenizer and weights, from a Hugging Face folder (config.json,
 * model.safetensors, vocab.json, merges.txt) or from one GGUF file (llama.cpp's format: hyperparameters, tokenizer
 * and tensors in one file). Weights are memory-mapped, not read: opening a model costs milliseconds and no heap; the
 * bytes are read when they are uploaded.
 *
 * @param source     "Hugging Face folder" or "GGUF v3"
 * @param openMillis time to open, check and map the files
 */
public record LoadedModel(Path path, String source, ModelConfig config, Gpt2Tokenizer tokenizer, ModelWeights weights,
                          double openMillis) {

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
        return new LoadedModel(path, stored.source, stored.config, stored.tokenizer, weights, stored.openMillis);
    }

    /** Opens a model folder or a GGUF file with every tensor as stored (K-quants too), for conversion to a file. */
    public static LoadedModel openAsStored(Path path) {
        long start = System.nanoTime();
        LoadedModel model;
        if (Files.isDirectory(path)) {
            ModelConfig config = ModelConfig.read(path.resolve("config.json"));
            Gpt2Tokenizer tokenizer = Gpt2Tokenizer.fromModelDirectory(path);
            checkVocab(path, tokenizer, config);
            model = new LoadedModel(path, "Hugging Face folder", config, tokenizer, ModelWeights.loadFolder(path), 0);
        } else if (Files.isRegularFile(path)) {
            if (!isGguf(path)) {
                throw new InputException(path + " is neither a model folder (config.json, model.safetensors, vocab.json, "
                        + "merges.txt) nor a GGUF file (it does not start with 'GGUF').");
            }
            try (GgufFile file = GgufFile.open(path)) {
                ModelConfig config = ModelConfig.fromGguf(file);
                Gpt2Tokenizer tokenizer = tokenizer(file);
                checkVocab(path, tokenizer, config);
                model = new LoadedModel(path, "GGUF v" + file.version(), config, tokenizer, ModelWeights.load(config, file), 0);
            }
        } else {
            throw new InputException("--model " + path + ": no such file or folder. Pass a Hugging Face GPT-2 model "
                    + "folder (config.json, model.safetensors, vocab.json, merges.txt) or a .gguf file.");
        }
        return new LoadedModel(path, model.source, model.config, model.tokenizer, model.weights, (System.nanoTime() - start) / 1e6);
    }

    /** GPT-2's byte-level BPE from {@code tokenizer.ggml.*}: tokens and merges, as llama.cpp's gpt2 tokenizer. */
    static Gpt2Tokenizer tokenizer(GgufFile file) {
        String kind = file.string("tokenizer.ggml.model");
        if (kind == null) {
            throw new ModelFormatException(file.file(), "has no tokenizer (tokenizer.ggml.model); gpu-infer needs the "
                    + "tokenizer that llama.cpp's converters write into the file");
        }
        if (!kind.equals("gpt2")) {
            throw new ModelFormatException(file.file(), "has a '" + kind + "' tokenizer; gpu-infer reads byte-level BPE "
                    + "tokenizers (tokenizer.ggml.model gpt2)");
        }
        String pre = file.string("tokenizer.ggml.pre");
        if (pre != null && !List.of("gpt-2", "default").contains(pre)) {
            throw new ModelFormatException(file.file(), "its tokenizer splits text with the '" + pre + "' pre-tokenizer; "
                    + "gpu-infer implements GPT-2's ('gpt-2')");
        }
        String[] tokens = file.strings("tokenizer.ggml.tokens");
        String[] merges = file.strings("tokenizer.ggml.merges");
        if (tokens == null || merges == null) {
            throw new ModelFormatException(file.file(), "lacks tokenizer.ggml." + (tokens == null ? "tokens" : "merges")
                    + ", which a gpt2 tokenizer needs");
        }
        return Gpt2Tokenizer.of(file.file(), tokens, merges);
    }

    private static void checkVocab(Path path, Gpt2Tokenizer tokenizer, ModelConfig config) {
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
