package gpuinfer.gguf;

import gpuinfer.InputException;

import java.nio.file.Path;

/** A GGUF file gpu-infer cannot use; the message names the file, the key or tensor, what was found and the fix. */
public final class GgufFormatException extends InputException {
    public GgufFormatException(Path file, String problem) {
        super(file + ": " + problem);
    }
}
