package gpuinfer.model;

import gpuinfer.InputException;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Finds the bundled model: {@code models/<name>} under gpu-infer's home, which is {@code GPU_INFER_HOME} if set,
 * else the folder above the jar (or above target/classes when run from a build).
 */
public final class ModelLocator {
    /** The folder name of the bundled model under models/. */
    public static final String BUNDLED = "gpt2-brown";

    private ModelLocator() {
    }

    public static Path home() {
        String env = System.getenv("GPU_INFER_HOME");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        try {
            Path code = Path.of(ModelLocator.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            // target/gpu-infer.jar or target/classes -> the repository root
            Path target = code.getParent();
            return target != null && target.getParent() != null ? target.getParent() : Path.of(".");
        } catch (URISyntaxException | SecurityException | NullPointerException e) {
            return Path.of(".");
        }
    }

    /** The bundled model's folder, checked to exist. */
    public static Path bundled() {
        Path dir = home().resolve("models").resolve(BUNDLED);
        if (!Files.isDirectory(dir)) {
            throw new InputException("The bundled model is not at " + dir + ". Pass --model DIR (a Hugging Face GPT-2 "
                    + "folder: config.json, model.safetensors, vocab.json, merges.txt), or set GPU_INFER_HOME to the "
                    + "gpu-infer checkout.");
        }
        return dir;
    }
}
