package gpuinfer.model;

import gpuinfer.InputException;

import java.nio.file.Path;

/** A model file gpu-infer cannot use; the message names the file, the field or tensor, and the fix. */
public final class ModelFormatException extends InputException {
    public ModelFormatException(Path file, String problem) {
        super(file + ": " + problem);
    }
}
