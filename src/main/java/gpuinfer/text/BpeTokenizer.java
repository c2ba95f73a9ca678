package gpuinfer.text;

import gpuinfer.InputException;
import gpuinfer.gguf.GgufValue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The tokenizers of Llama-family models, built by {@link Tokenizers} from a {@code tokenizer.json} or a GGUF file.
 * Encoding: added tokens are split out ({@link AddedTokens}); each piece of ordinary text in between is normalised
 * ({@link Normalizer}), pre-tokenized ({@link PreTokenizers}) and then turned into ids by one of three algorithms:
 *
 * <ul>
 *   <li>{@link Algorithm#BYTE_LEVEL}: GPT-2's byte-level BPE (Llama 3, Qwen, SmolLM): a piece's UTF-8 bytes are
 *       single-byte tokens, merged by rank ({@link Bpe}); with {@code ignore_merges} a piece that is itself a token is
 *       taken whole;</li>
 *   <li>{@link Algorithm#SENTENCEPIECE_MERGES}: Hugging Face's BPE with byte fallback (Llama 2, Mistral, TinyLlama):
 *       a piece's characters are tokens (a character not in the vocabulary becomes its {@code <0xNN>} byte tokens),
 *       merged by rank;</li>
 *   <li>{@link Algorithm#SENTENCEPIECE_SCORES}: llama.cpp's SentencePiece algorithm over scores ({@link Spm}), for a
 *       GGUF file of type "llama"; spaces become "▁" and, with add_space_prefix, a "▁" goes in front of each piece of
 *       text (llama.cpp: at the start and after every special token; Hugging Face's Prepend does the same).</li>
 * </ul>
 *
 * Decoding: byte-level tokens through GPT-2's byte alphabet; SentencePiece tokens with "▁" as a space and
 * {@code <0xNN>} as a byte (a run of byte tokens that is not valid UTF-8 becomes one U+FFFD per byte, as Hugging
 * Face's ByteFallback decoder does), and the space at the very start removed (its Strip decoder).
 */
final class BpeTokenizer implements Tokenizer {
    enum Algorithm { BYTE_LEVEL, SENTENCEPIECE_MERGES, SENTENCEPIECE_SCORES }

    private static final int CACHE_ENTRIES = 1 << 16;
    private static final int CACHE_PIECE_CHARS = 64;

    /** Everything a loader decides; {@link BpeTokenizer} checks it. */
    static final class Spec {
        Path file;
        Algorithm algorithm;
        String[] tokens;
        TokenType[] types;
        MergeTable merges;
        float[] scores;
        boolean ignoreMerges;
        boolean fuseUnknown;
        int unknown = -1;
        List<AddedTokens.Token> added = List.of();
        Normalizer normalizer = Normalizer.NONE;
        List<PreTokenizers.Step> preSteps = List.of();
        String pre;
        int bos = -1;
        int eos = -1;
        int eot = -1;
        int pad = -1;
        boolean addBos;
        boolean addEos;
        boolean addSpacePrefix = true;
        boolean stripLeadingSpace;
    }

    private final Spec spec;
    private final String[] tokens;
    private final TokenType[] types;
    private final Map<String, Integer> ids;
    private final AddedTokens added;
    private final byte[][] tokenBytes;
    private final boolean[] isByte;
    /** Byte-level: the id of each byte's single-character token. SentencePiece: the id of {@code <0xNN>}, or -1. */
    private final int[] byteIds = new int[256];
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();
    private volatile float[] scores;

    BpeTokenizer(Spec spec) {
        this.spec = spec;
        this.tokens = spec.tokens;
        this.types = spec.types;
        this.ids = new HashMap<>(tokens.length * 2);
        for (int id = 0; id < tokens.length; id++) {
            Integer earlier = ids.putIfAbsent(tokens[id], id);
            if (earlier != null && types[id] != TokenType.UNUSED) {
                throw new TokenizerFileException(spec.file, "the token " + VocabFile.quote(tokens[id]) + " has two ids, "
                        + earlier + " and " + id + "; each token must appear once. Use the model's original tokenizer files.");
            }
        }
        this.added = new AddedTokens(spec.added);
        this.scores = spec.scores;
        this.tokenBytes = new byte[tokens.length][];
        this.isByte = new boolean[tokens.length];
        boolean byteLevel = spec.algorithm == Algorithm.BYTE_LEVEL;
        Arrays.fill(byteIds, -1);
        for (int id = 0; id < tokens.length; id++) {
            TokenType t = types[id];
            String token = tokens[id];
            if (t == TokenType.CONTROL || t == TokenType.USER_DEFINED || t == TokenType.UNUSED) {
                tokenBytes[id] = token.getBytes(StandardCharsets.UTF_8);
            } else if (byteLevel) {
                tokenBytes[id] = ByteLevel.bytesOf(token);
            } else if (t == TokenType.BYTE || t == TokenType.NORMAL && isByteToken(token)) {
                isByte[id] = true;
                int b = Integer.parseInt(token.substring(3, 5), 16);
                tokenBytes[id] = new byte[] {(byte) b};
                if (byteIds[b] < 0) {
                    byteIds[b] = id;
                }
            } else {
                tokenBytes[id] = token.replace('\u2581', ' ').getBytes(StandardCharsets.UTF_8);
            }
        }
        if (byteLevel) {
            for (int b = 0; b < 256; b++) {
                Integer id = ids.get(String.valueOf(ByteLevel.charOf(b)));
                if (id == null) {
                    throw new TokenizerFileException(spec.file, "the vocabulary lacks the byte token "
                            + VocabFile.quote(String.valueOf(ByteLevel.charOf(b))) + " (byte 0x" + String.format("%02X", b)
                            + "); a byte-level BPE vocabulary has all 256. Use the model's original tokenizer files.");
                }
                byteIds[b] = id;
            }
        } else if (spec.unknown < 0) {
            for (int b = 0; b < 256; b++) {
                if (byteIds[b] < 0) {
                    throw new TokenizerFileException(spec.file, "the vocabulary has neither the byte token "
                            + String.format("<0x%02X>", b) + " nor an unknown token, so some text could not be encoded; "
                            + "use the model's original tokenizer files.");
                }
            }
        }
    }

    static boolean isByteToken(String token) {
        return token.length() == 6 && token.startsWith("<0x") && token.endsWith(">")
                && Character.digit(token.charAt(3), 16) >= 0 && Character.digit(token.charAt(4), 16) >= 0;
    }

    Algorithm algorithm() {
        return spec.algorithm;
    }

    @Override
    public int[] encode(String text) {
        Objects.requireNonNull(text, "text");
        String s = Gpt2Tokenizer.replaceLoneSurrogates(text);
        IntList out = new IntList(Math.max(16, s.length() / 3));
        for (AddedTokens.Piece p : added.split(s)) {
            if (p.id() >= 0) {
                out.add(p.id());
            } else {
                encodeText(s.substring(p.from(), p.to()), p.from() == 0, out);
            }
        }
        return out.toArray();
    }

    private void encodeText(String text, boolean first, IntList out) {
        if (spec.algorithm == Algorithm.SENTENCEPIECE_SCORES) {
            String escaped = (spec.addSpacePrefix ? " " + text : text).replace(' ', '\u2581');
            Spm.encode(escaped, ids, scores, byteIds, spec.unknown, out);
            return;
        }
        String normalized = spec.normalizer.apply(text);
        for (String piece : PreTokenizers.run(spec.preSteps, normalized, first)) {
            int[] pieceIds = cache.get(piece);
            if (pieceIds == null) {
                pieceIds = spec.algorithm == Algorithm.BYTE_LEVEL ? byteLevelPiece(piece) : sentencePiecePiece(piece);
                if (piece.length() <= CACHE_PIECE_CHARS) {
                    if (cache.size() >= CACHE_ENTRIES) {
                        cache.clear();
                    }
                    cache.put(piece, pieceIds);
                }
            }
            out.addAll(pieceIds);
        }
    }

    private int[] byteLevelPiece(String piece) {
        byte[] bytes = piece.getBytes(StandardCharsets.UTF_8);
        if (spec.ignoreMerges) {
            char[] chars = new char[bytes.length];
            for (int i = 0; i < bytes.length; i++) {
                chars[i] = ByteLevel.charOf(bytes[i]);
            }
            Integer whole = ids.get(new String(chars));
            if (whole != null) {
                return new int[] {whole};
            }
        }
        int[] symbols = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            symbols[i] = byteIds[bytes[i] & 0xFF];
        }
        return Bpe.merge(symbols, spec.merges);
    }

    private int[] sentencePiecePiece(String piece) {
        if (spec.ignoreMerges) {
            Integer whole = ids.get(piece);
            if (whole != null) {
                return new int[] {whole};
            }
        }
        IntList symbols = new IntList(piece.length());
        boolean lastUnknown = false;
        for (int i = 0; i < piece.length(); ) {
            int cp = piece.codePointAt(i);
            String ch = piece.substring(i, i + Character.charCount(cp));
            i += ch.length();
            Integer id = ids.get(ch);
            if (id != null) {
                symbols.add(id);
                lastUnknown = false;
                continue;
            }
            byte[] bytes = ch.getBytes(StandardCharsets.UTF_8);
            boolean allBytes = true;
            for (byte b : bytes) {
                allBytes &= byteIds[b & 0xFF] >= 0;
            }
            if (allBytes) {
                for (byte b : bytes) {
                    symbols.add(byteIds[b & 0xFF]);
                }
                lastUnknown = false;
            } else if (!(spec.fuseUnknown && lastUnknown)) {
                symbols.add(spec.unknown);
                lastUnknown = true;
            }
        }
        return Bpe.merge(symbols.toArray(), spec.merges);
    }

    @Override
    public String decode(int[] ids) {
        if (spec.algorithm == Algorithm.BYTE_LEVEL) {
            return Utf8.decode(decodeBytes(ids));
        }
        // Hugging Face's ByteFallback: a run of byte tokens is its UTF-8 text, or one U+FFFD per byte when invalid.
        StringBuilder out = new StringBuilder();
        ByteArrayOutputStream run = new ByteArrayOutputStream();
        for (int id : ids) {
            checkId(id);
            if (isByte[id]) {
                run.write(tokenBytes[id][0]);
                continue;
            }
            flushByteRun(run, out);
            out.append(new String(tokenBytes[id], StandardCharsets.UTF_8));
        }
        flushByteRun(run, out);
        if (spec.stripLeadingSpace && out.length() > 0 && out.charAt(0) == ' ') {
            out.deleteCharAt(0);
        }
        return out.toString();
    }

    private static void flushByteRun(ByteArrayOutputStream run, StringBuilder out) {
        if (run.size() == 0) {
            return;
        }
        byte[] bytes = run.toByteArray();
        run.reset();
        try {
            out.append(StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes)));
        } catch (java.nio.charset.CharacterCodingException e) {
            out.append(String.valueOf(Utf8.REPLACEMENT).repeat(bytes.length));
        }
    }

    @Override
    public byte[] decodeBytes(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length * 4);
        for (int id : ids) {
            byte[] b = bytesOf(id);
            if (out.size() == 0 && spec.stripLeadingSpace && b.length > 0 && b[0] == ' ') {
                out.write(b, 1, b.length - 1);
            } else {
                out.writeBytes(b);
            }
        }
        return out.toByteArray();
    }

    byte[] bytesOf(int id) {
        checkId(id);
        return tokenBytes[id];
    }

    @Override
    public StreamingDecoder streamingDecoder() {
        return new StreamingDecoder(this::bytesOf, spec.stripLeadingSpace);
    }

    @Override
    public StreamingDecoder continuationDecoder() {
        return new StreamingDecoder(this::bytesOf, false);
    }

    @Override
    public int vocabSize() {
        return tokens.length;
    }

    @Override
    public String tokenString(int id) {
        checkId(id);
        return tokens[id];
    }

    @Override
    public String[] tokens() {
        return tokens.clone();
    }

    @Override
    public OptionalInt idOf(String token) {
        Integer id = ids.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    private static OptionalInt optional(int id) {
        return id >= 0 ? OptionalInt.of(id) : OptionalInt.empty();
    }

    @Override
    public OptionalInt bosId() {
        return optional(spec.bos);
    }

    @Override
    public OptionalInt eosId() {
        return optional(spec.eos);
    }

    @Override
    public OptionalInt eotId() {
        return optional(spec.eot);
    }

    @Override
    public OptionalInt unknownId() {
        return optional(spec.unknown);
    }

    @Override
    public OptionalInt paddingId() {
        return optional(spec.pad);
    }

    @Override
    public boolean addBos() {
        return spec.addBos;
    }

    @Override
    public boolean addEos() {
        return spec.addEos;
    }

    /** Whether a SentencePiece tokenizer puts "▁" in front of text (llama.cpp's add_space_prefix). */
    boolean addSpacePrefix() {
        return spec.algorithm != Algorithm.BYTE_LEVEL && spec.addSpacePrefix;
    }

    @Override
    public TokenType tokenType(int id) {
        checkId(id);
        return types[id];
    }

    @Override
    public String ggufModel() {
        return spec.algorithm == Algorithm.BYTE_LEVEL ? "gpt2" : "llama";
    }

    @Override
    public String ggufPre() {
        if (spec.pre == null) {
            throw new InputException(spec.file + ": its pre-tokenizer has no name that llama.cpp knows (GGUF's "
                    + "tokenizer.ggml.pre is one of " + PreTokenizers.SUPPORTED_GGUF + "), so it cannot be written to a "
                    + "GGUF file.");
        }
        return spec.pre;
    }

    @Override
    public String[] merges() {
        return spec.merges == null ? new String[0] : spec.merges.list(tokens);
    }

    @Override
    public float[] scores() {
        if (spec.algorithm == Algorithm.BYTE_LEVEL) {
            return new float[0];
        }
        float[] s = scores;
        if (s == null) {
            s = SpmScores.fromMerges(tokens.length, spec.merges);
            scores = s;
        }
        return s.clone();
    }

    /**
     * The same tokenizer with llama.cpp's score-based SentencePiece algorithm in place of merges, as a GGUF file of
     * type "llama" written from this tokenizer would load: scores from {@link SpmScores}.
     */
    BpeTokenizer withScores() {
        if (spec.algorithm != Algorithm.SENTENCEPIECE_MERGES) {
            throw new IllegalStateException("only a SentencePiece tokenizer with merges has a score-based twin");
        }
        Spec s = new Spec();
        s.file = spec.file;
        s.algorithm = Algorithm.SENTENCEPIECE_SCORES;
        s.tokens = tokens;
        s.types = types;
        s.scores = scores();
        s.unknown = spec.unknown;
        s.added = spec.added;
        s.pre = spec.pre;
        s.bos = spec.bos;
        s.eos = spec.eos;
        s.eot = spec.eot;
        s.pad = spec.pad;
        s.addBos = spec.addBos;
        s.addEos = spec.addEos;
        s.addSpacePrefix = spec.addSpacePrefix;
        s.stripLeadingSpace = spec.stripLeadingSpace;
        return new BpeTokenizer(s);
    }

    @Override
    public Map<String, GgufValue> ggufMetadata() {
        return GgufTokenizerMetadata.of(this, addSpacePrefix());
    }

    private void checkId(int id) {
        if (id < 0 || id >= tokens.length) {
            throw new InputException("token id " + id + " is not in the vocabulary (ids are 0 to " + (tokens.length - 1)
                    + ").");
        }
    }
}
