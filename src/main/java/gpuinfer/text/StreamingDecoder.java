package gpuinfer.text;

import java.util.Arrays;
import java.util.function.IntFunction;

/**
 * Decodes token ids that arrive one at a time, as a model generates them. A character whose UTF-8 bytes are split
 * across tokens (GPT-2 spells most emoji and many CJK characters with two or three tokens, SentencePiece models use
 * {@code <0xNN>} byte tokens) comes out whole, once, with the token that completes it; the text of all {@link #feed}
 * results and {@link #finish()} together is exactly the tokenizer's {@code decode} of all the ids, U+FFFD included.
 * Holds at most three pending bytes. Not thread-safe: one per generated sequence.
 *
 * <p>A SentencePiece tokenizer's decoder drops the space at the very start of the text (the "▁" that encoding put
 * in front); a decoder made with {@code stripLeadingSpace} does that to the first byte it is given.
 */
public final class StreamingDecoder {
    private final IntFunction<byte[]> bytesOf;
    private final boolean stripLeadingSpace;
    private boolean started;
    private byte[] pending = new byte[16];
    private int pendingLength;

    StreamingDecoder(Gpt2Tokenizer tokenizer) {
        this(tokenizer::bytesOf, false);
    }

    /** A decoder over the bytes of each id (not copied: the function's arrays must not change). */
    StreamingDecoder(IntFunction<byte[]> bytesOf, boolean stripLeadingSpace) {
        this.bytesOf = bytesOf;
        this.stripLeadingSpace = stripLeadingSpace;
    }

    /**
     * Adds one token and returns the characters it completes (possibly none). Bytes that begin a character that
     * later bytes could still complete are held back; bytes that can never become a character come out as U+FFFD
     * as soon as that is certain.
     */
    public String feed(int id) {
        byte[] bytes = bytesOf.apply(id);
        int from = 0;
        if (!started && bytes.length > 0) {
            started = true;
            if (stripLeadingSpace && bytes[0] == ' ') {
                from = 1;
            }
        }
        int n = bytes.length - from;
        if (pendingLength + n > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLength + n));
        }
        System.arraycopy(bytes, from, pending, pendingLength, n);
        pendingLength += n;
        return drain(false);
    }

    /** Ends the sequence: returns what is still held (an incomplete character becomes one U+FFFD) and starts over. */
    public String finish() {
        started = false;
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
