package gpuinfer.tensor;

import gpuinfer.InputException;

import java.nio.file.Path;

/** A .npy file gpu-infer cannot use; the message names the file, the problem and the fix. */
public final class NpyFormatException extends InputException {
    public NpyFormatException(Path file, String problem) {
        super(file + ": " + problem);
    }
}
