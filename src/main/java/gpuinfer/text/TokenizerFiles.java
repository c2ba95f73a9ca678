package gpuinfer.text;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** The messages for tokenizer files that cannot be read at all. */
final class TokenizerFiles {
    private TokenizerFiles() {
    }

    static TokenizerFileException unreadable(Path file, IOException e) {
        if (e instanceof NoSuchFileException) {
            return new TokenizerFileException(file, "no such file. A GPT-2 tokenizer is two files, vocab.json and "
                    + "merges.txt, as in the model's Hugging Face repository (OpenAI's release calls them "
                    + "encoder.json and vocab.bpe).", e);
        }
        if (e instanceof AccessDeniedException) {
            return new TokenizerFileException(file, "permission denied; make the file readable.", e);
        }
        return new TokenizerFileException(file, "cannot be read: " + e, e);
    }
}
