package gpuinfer.text;

import gpuinfer.InputException;
import gpuinfer.gguf.GgufFile;
import gpuinfer.gguf.GgufValue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** Where tokenizers come from: a Hugging Face model folder, a {@code tokenizer.json}, or a GGUF file's metadata. */
public final class Tokenizers {
    private Tokenizers() {
    }

    /**
     * The tokenizer of a Hugging Face model folder: {@code tokenizer.json} with {@code tokenizer_config.json} when
     * there is one (BOS/EOS tokens and add_bos_token), else GPT-2's {@code vocab.json} and {@code merges.txt}.
     */
    public static Tokenizer fromFolder(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new InputException(dir + ": " + (Files.exists(dir) ? "is not a directory" : "no such directory")
                    + "; give the model's folder, the one holding tokenizer.json (or vocab.json and merges.txt).");
        }
        Path json = dir.resolve("tokenizer.json");
        if (Files.exists(json)) {
            Path config = dir.resolve("tokenizer_config.json");
            return fromTokenizerJson(json, Files.exists(config) ? config : null);
        }
        if (Files.exists(dir.resolve("vocab.json")) || Files.exists(dir.resolve("merges.txt"))) {
            return Gpt2Tokenizer.fromModelDirectory(dir);
        }
        throw new InputException(dir + ": has no tokenizer.json (nor GPT-2's vocab.json and merges.txt); copy the "
                + "tokenizer files of the model's Hugging Face repository into this folder.");
    }

    /**
     * A {@code tokenizer.json} (gzipped when its name ends in .gz) and, if not null, its {@code tokenizer_config.json}.
     */
    public static Tokenizer fromTokenizerJson(Path tokenizerJson, Path tokenizerConfig) {
        return TokenizerJson.read(tokenizerJson, tokenizerConfig);
    }

    /**
     * The same SentencePiece tokenizer as a GGUF file of type "llama" written from it would load: llama.cpp's
     * score-based algorithm with the scores of {@link SpmScores}. For a byte-level tokenizer, the tokenizer itself.
     */
    public static Tokenizer asGgufWouldLoad(Tokenizer tokenizer) {
        if (tokenizer instanceof BpeTokenizer b && b.algorithm() == BpeTokenizer.Algorithm.SENTENCEPIECE_MERGES) {
            return b.withScores();
        }
        return tokenizer;
    }

    /**
     * The tokenizer held in a GGUF file's {@code tokenizer.ggml.*} metadata, as llama.cpp reads it: model "gpt2"
     * (byte-level BPE with merges and the pre-tokenizer {@code tokenizer.ggml.pre}) or "llama" (SentencePiece with
     * scores and token types); special ids, add_bos_token / add_eos_token and add_space_prefix. Like llama.cpp,
     * no normaliser is applied: a Qwen GGUF does not do the NFC that Qwen's tokenizer.json does (text that NFC
     * changes gets other ids than Hugging Face's, the same ones llama.cpp gives).
     */
    public static Tokenizer fromGguf(GgufFile file) {
        Path path = file.file();
        String model = file.string("tokenizer.ggml.model");
        if (model == null) {
            throw new TokenizerFileException(path, "has no tokenizer (tokenizer.ggml.model); gpu-infer needs the "
                    + "tokenizer that llama.cpp's converters write into the file.");
        }
        if (!model.equals("gpt2") && !model.equals("llama")) {
            throw new TokenizerFileException(path, "has a '" + model + "' tokenizer (tokenizer.ggml.model); gpu-infer "
                    + "reads 'gpt2' (byte-level BPE) and 'llama' (SentencePiece) tokenizers.");
        }
        String[] tokens = file.strings("tokenizer.ggml.tokens");
        if (tokens == null) {
            throw new TokenizerFileException(path, "lacks tokenizer.ggml.tokens, which a " + model + " tokenizer needs.");
        }
        String pre = file.string("tokenizer.ggml.pre");
        if (model.equals("gpt2")) {
            String[] merges = file.strings("tokenizer.ggml.merges");
            if (merges == null) {
                throw new TokenizerFileException(path, "lacks tokenizer.ggml.merges, which a gpt2 tokenizer needs.");
            }
            if (pre == null || pre.equals("gpt-2") || pre.equals("default")) {
                return Gpt2Tokenizer.of(path, tokens, merges);
            }
            List<PreTokenizers.Step> steps = PreTokenizers.forGguf(pre);
            if (steps == null) {
                throw new TokenizerFileException(path, "its tokenizer splits text with the '" + pre + "' pre-tokenizer "
                        + "(tokenizer.ggml.pre); gpu-infer implements " + PreTokenizers.SUPPORTED_GGUF + ".");
            }
            Map<String, Integer> ids = VocabFile.checkList(path, tokens, "tokenizer.ggml.tokens");
            BpeTokenizer.Spec s = common(file, tokens, false);
            s.algorithm = BpeTokenizer.Algorithm.BYTE_LEVEL;
            s.merges = MergesFile.of(path, merges, ids, "tokenizer.ggml.merges");
            s.preSteps = steps;
            s.pre = PreTokenizers.canonicalGguf(pre);
            s.ignoreMerges = s.pre.equals("llama-bpe");
            s.addBos = bool(file, "tokenizer.ggml.add_bos_token", false);
            return new BpeTokenizer(s);
        }
        GgufValue scoresValue = file.value("tokenizer.ggml.scores");
        if (scoresValue == null || !(scoresValue.value() instanceof GgufValue.Array a) || !a.elementType().isFloat()) {
            throw new TokenizerFileException(path, "lacks tokenizer.ggml.scores (an array of floats), which a llama "
                    + "(SentencePiece) tokenizer needs.");
        }
        double[] d = (double[]) ((GgufValue.Array) scoresValue.value()).values();
        if (d.length != tokens.length) {
            throw new TokenizerFileException(path, "has " + d.length + " tokenizer.ggml.scores for " + tokens.length
                    + " tokens; there must be one score per token.");
        }
        float[] scores = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            scores[i] = (float) d[i];
        }
        BpeTokenizer.Spec s = common(file, tokens, true);
        s.algorithm = BpeTokenizer.Algorithm.SENTENCEPIECE_SCORES;
        s.scores = scores;
        s.pre = "default";
        s.addBos = bool(file, "tokenizer.ggml.add_bos_token", true);
        s.addSpacePrefix = bool(file, "tokenizer.ggml.add_space_prefix", true);
        s.stripLeadingSpace = s.addSpacePrefix;
        return new BpeTokenizer(s);
    }

    /** Token types, special ids and the added tokens (control, user-defined and unknown tokens) of a GGUF file. */
    private static BpeTokenizer.Spec common(GgufFile file, String[] tokens, boolean sentencePiece) {
        Path path = file.file();
        BpeTokenizer.Spec s = new BpeTokenizer.Spec();
        s.file = path;
        s.tokens = tokens.clone();
        long[] codes = file.integers("tokenizer.ggml.token_type");
        if (codes != null && codes.length != tokens.length) {
            throw new TokenizerFileException(path, "has " + codes.length + " tokenizer.ggml.token_type entries for "
                    + tokens.length + " tokens; there must be one per token.");
        }
        TokenType[] types = new TokenType[tokens.length];
        List<AddedTokens.Token> added = new ArrayList<>();
        for (int id = 0; id < tokens.length; id++) {
            TokenType t = codes == null ? (sentencePiece && BpeTokenizer.isByteToken(tokens[id]) ? TokenType.BYTE
                    : TokenType.NORMAL) : TokenType.of(codes[id]);
            if (t == null) {
                throw new TokenizerFileException(path, "tokenizer.ggml.token_type of token " + id + " is " + codes[id]
                        + "; token types are 1 (normal) to 6 (byte).");
            }
            types[id] = t;
            if (t == TokenType.CONTROL || t == TokenType.USER_DEFINED || t == TokenType.UNKNOWN) {
                added.add(new AddedTokens.Token(tokens[id], id, t != TokenType.USER_DEFINED, false, false, false));
            }
        }
        s.types = types;
        s.added = added;
        s.bos = id(file, "tokenizer.ggml.bos_token_id", tokens.length);
        s.eos = id(file, "tokenizer.ggml.eos_token_id", tokens.length);
        s.eot = id(file, "tokenizer.ggml.eot_token_id", tokens.length);
        s.pad = id(file, "tokenizer.ggml.padding_token_id", tokens.length);
        s.unknown = id(file, "tokenizer.ggml.unknown_token_id", tokens.length);
        if (s.unknown < 0 && sentencePiece) {
            s.unknown = Arrays.asList(types).indexOf(TokenType.UNKNOWN);
        }
        if (s.eot < 0) {
            for (String eot : TokenizerJson.END_OF_TURN) {
                int i = Arrays.asList(tokens).indexOf(eot);
                if (i >= 0 && types[i] == TokenType.CONTROL) {
                    s.eot = i;
                    break;
                }
            }
        }
        s.addEos = bool(file, "tokenizer.ggml.add_eos_token", false);
        return s;
    }

    private static int id(GgufFile file, String key, int vocabSize) {
        long id = file.integer(key, -1);
        if (id == 0xFFFFFFFFL) {
            return -1; // LLAMA_TOKEN_NULL written as uint32
        }
        if (id < -1 || id >= vocabSize) {
            throw new TokenizerFileException(file.file(), key + " is " + id + ", outside the vocabulary of " + vocabSize
                    + " tokens.");
        }
        return (int) id;
    }

    private static boolean bool(GgufFile file, String key, boolean fallback) {
        GgufValue v = file.value(key);
        if (v == null) {
            return fallback;
        }
        if (!(v.value() instanceof Boolean b)) {
            throw new TokenizerFileException(file.file(), key + " is " + v.type() + "; it must be a bool.");
        }
        return b;
    }
}
