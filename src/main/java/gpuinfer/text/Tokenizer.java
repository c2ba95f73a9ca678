package gpuinfer.text;

import gpuinfer.gguf.GgufValue;

import java.util.Map;
import java.util.OptionalInt;

/**
 * Text to token ids and back, exactly as the model's reference tokenizer (Hugging Face's {@code tokenizers} for a
 * {@code tokenizer.json}, llama.cpp for a GGUF file). Get one from {@link Tokenizers}.
 *
 * <p>Ids are 0 to {@link #vocabSize()} - 1. Token strings are as the files write them: byte-level BPE tokens in
 * GPT-2's byte alphabet (" the" is "Ġthe"), SentencePiece tokens with "▁" for a space and {@code <0xNN>} byte tokens.
 * Instances are immutable apart from caches and safe to use from several threads.
 */
public interface Tokenizer {
    /**
     * The ids of {@code text} with no BOS or EOS added. Special tokens written in the text (Hugging Face's added
     * tokens: {@code <|eot_id|>}, {@code <|im_end|>}, {@code </s>}, ...) are split out first and become their one id,
     * as Hugging Face does by default; everything else is normalised, pre-tokenised and merged.
     */
    int[] encode(String text);

    /**
     * The ids Hugging Face's {@code encode(text)} gives by default: {@link #encode} with the BOS id in front when
     * {@link #addBos()} and the EOS id at the end when {@link #addEos()}. Use this for a prompt.
     */
    default int[] encodeWithBos(String text) {
        int[] body = encode(text);
        boolean bos = addBos() && bosId().isPresent();
        boolean eos = addEos() && eosId().isPresent();
        int[] out = new int[body.length + (bos ? 1 : 0) + (eos ? 1 : 0)];
        if (bos) {
            out[0] = bosId().getAsInt();
        }
        System.arraycopy(body, 0, out, bos ? 1 : 0, body.length);
        if (eos) {
            out[out.length - 1] = eosId().getAsInt();
        }
        return out;
    }

    /** The text of {@code ids}, special tokens written out, as Hugging Face's {@code decode} (no space clean-up). */
    String decode(int[] ids);

    /** The UTF-8 bytes of {@code ids} before they are decoded as text (SentencePiece's leading space removed). */
    byte[] decodeBytes(int[] ids);

    /**
     * A decoder for ids that arrive one at a time: all its output together is {@link #decode} of all the ids, and
     * a character split across tokens comes out whole. For a SentencePiece tokenizer the space at the very start is
     * dropped, as {@link #decode} drops it.
     */
    StreamingDecoder streamingDecoder();

    /**
     * A streaming decoder for tokens that continue a prompt: like {@link #streamingDecoder()} but it keeps every
     * space, so that a SentencePiece word after the prompt keeps the space before it.
     */
    StreamingDecoder continuationDecoder();

    /** The number of tokens, added tokens included. */
    int vocabSize();

    /** The token as the files write it (byte alphabet or "▁"), for diagnostics and for writing model files. */
    String tokenString(int id);

    /** Every token string by id (a copy). */
    String[] tokens();

    /** The id of a token string as the files write it ({@code <|eot_id|>}, {@code </s>}, {@code Ġthe}), if any. */
    OptionalInt idOf(String token);

    OptionalInt bosId();

    OptionalInt eosId();

    /** The end-of-turn token of a chat model ({@code <|eot_id|>}, {@code <|im_end|>}), if it has one. */
    OptionalInt eotId();

    OptionalInt unknownId();

    OptionalInt paddingId();

    /** Whether a prompt starts with BOS ({@link #encodeWithBos}). */
    boolean addBos();

    /** Whether a prompt ends with EOS ({@link #encodeWithBos}); false for every model gpu-infer knows. */
    boolean addEos();

    TokenType tokenType(int id);

    /** GGUF's {@code tokenizer.ggml.model}: "gpt2" (byte-level BPE) or "llama" (SentencePiece-style). */
    String ggufModel();

    /**
     * GGUF's {@code tokenizer.ggml.pre}, the pre-tokenizer: "gpt-2", "llama-bpe", "qwen2", "smollm" for byte-level
     * BPE, "default" for SentencePiece.
     */
    String ggufPre();

    /** The merges by rank, "left right"; empty for a tokenizer that has scores instead (a llama GGUF file's). */
    String[] merges();

    /**
     * Per-token scores for llama.cpp's SentencePiece algorithm (higher merges first), or an empty array for
     * byte-level BPE. From merges they are computed by {@link SpmScores#fromMerges} so that both algorithms agree.
     */
    float[] scores();

    /**
     * The {@code tokenizer.ggml.*} metadata llama.cpp reads, ready for a GGUF writer: model, pre, tokens,
     * token_type, merges or scores, the special ids, add_bos_token / add_eos_token (and add_space_prefix for
     * "llama"). A writer that pads the vocabulary to the embedding's rows extends tokens and token_type itself.
     */
    Map<String, GgufValue> ggufMetadata();
}
