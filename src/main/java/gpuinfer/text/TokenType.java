package gpuinfer.text;

/**
 * What a token is, with the codes of a GGUF file's {@code tokenizer.ggml.token_type} (llama.cpp's
 * {@code llama_token_type}): ordinary text, the unknown token, a control token (BOS, EOS, chat markers: never
 * produced from text except as a special token), a user-defined (added, not special) token, an unused slot, or a
 * byte-fallback token {@code <0xNN>}.
 */
public enum TokenType {
    NORMAL(1), UNKNOWN(2), CONTROL(3), USER_DEFINED(4), UNUSED(5), BYTE(6);

    /** The GGUF code. */
    public final int code;

    TokenType(int code) {
        this.code = code;
    }

    /** The type with GGUF code {@code code}, or null when no type has it. */
    public static TokenType of(long code) {
        for (TokenType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        return null;
    }
}
