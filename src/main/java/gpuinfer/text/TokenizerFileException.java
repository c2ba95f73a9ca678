package gpuinfer.text;

import gpuinfer.InputException;

import java.nio.file.Path;

/** A tokenizer file gpu-infer cannot use (vocab.json or merges.txt); the message names the file, the problem and the fix. */
public final class TokenizerFileException extends InputException {
    public TokenizerFileException(Path file, String problem) {
        super(file + ": " + problem);
    }

    public TokenizerFileException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
    }
}
