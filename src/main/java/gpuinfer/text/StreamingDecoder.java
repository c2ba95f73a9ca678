package gpuinfer.text;

import java.util.Arrays;

/**
 * Decodes token ids that arrive one at a time, as a model generates them. A character whose UTF-8 bytes are split
 * across tokens (GPT-2 spells most emoji and many CJK characters with two or three tokens) comes out whole, once,
 * with the token that completes it; the text of all {@link #feed} results and {@link #finish()} together is exactly
 * {@link Gpt2Tokenizer#decode} of all the ids, U+FFFD included. Holds at most three pending bytes. Not thread-safe:
 * one per generated sequence.
 */
public final class StreamingDecoder {
    private final Gpt2Tokenizer tokenizer;
    private byte[] pending = new byte[16];
    private int pendingLength;

    StreamingDecoder(Gpt2Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /**
     * Adds one token and returns the characters it completes (possibly none). Bytes that begin a character that
     * later bytes could still complete are held back; bytes that can never become a character come out as U+FFFD
     * as soon as that is certain.
     */
    public String feed(int id) {
        byte[] bytes = tokenizer.bytesOf(id);
        if (pendingLength + bytes.length > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLength + bytes.length));
        }
        System.arraycopy(bytes, 0, pending, pendingLength, bytes.length);
        pendingLength += bytes.length;
        return drain(false);
    }

    /** Ends the sequence: returns what is still held (an incomplete character becomes one U+FFFD) and starts over. */
    public String finish() {
        return drain(true);
    }

    /** The number of bytes held back, waiting for the rest of their character (0 to 3). */
    public int pendingBytes() {
        return pendingLength;
    }

    private String drain(boolean endOfInput) {
        StringBuilder out = new StringBuilder(pendingLength);
        int consumed = Utf8.decode(pending, 0, pendingLength, endOfInput, out);
        System.arraycopy(pending, consumed, pending, 0, pendingLength - consumed);
        pendingLength -= consumed;
        return out.toString();
    }
}
