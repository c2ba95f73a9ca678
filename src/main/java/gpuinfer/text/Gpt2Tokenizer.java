package gpuinfer.text;

import gpuinfer.InputException;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;

/**
 * GPT-2's byte-level BPE tokenizer, exact: the ids are those of OpenAI's {@code encoder.py} and Hugging Face's
 * {@code GPT2Tokenizer}, for GPT-2 and every model that reuses its {@code vocab.json} and {@code merges.txt}.
 *
 * <p>Encoding: text is split on the literal {@code <|endoftext|>} (when the vocabulary has it), which becomes its
 * one special id, as Hugging Face's tokenizer and tiktoken (with the token allowed) do; each part between is cut by
 * GPT-2's regex ({@code PreTokenizer}), each piece's UTF-8 bytes become single-byte tokens ({@code ByteLevel}), and
 * those are merged by rank ({@code Bpe}). Pieces' results are cached (bounded), so common words cost a lookup.
 * A Java string can hold lone surrogates, which UTF-8 cannot: each one is encoded as U+FFFD (the replacement
 * character, as Java's and JavaScript's UTF-8 encoders do; Python's encoder.py would raise), so decode(encode(s))
 * returns s with its lone surrogates replaced.
 *
 * <p>Decoding: the tokens' bytes are concatenated and decoded as UTF-8 with invalid sequences replaced by U+FFFD
 * exactly as Python's {@code bytes.decode('utf-8', errors='replace')} does ({@code Utf8}); token by token through
 * {@link #streamingDecoder()}.
 *
 * <p>Instances are immutable apart from the cache and safe to use from several threads.
 */
public final class Gpt2Tokenizer implements Tokenizer {
    /** The special token GPT-2 puts between documents, and the only one it has. */
    public static final String END_OF_TEXT = "<|endoftext|>";

    private static final int CACHE_ENTRIES = 1 << 16;
    private static final int CACHE_PIECE_CHARS = 64;

    private final String[] tokens;
    private final byte[][] tokenBytes;
    private final int[] byteIds = new int[256];
    private final MergeTable merges;
    private final int endOfText;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();
    private final Map<String, Integer> ids;

    private Gpt2Tokenizer(String[] tokens, MergeTable merges) {
        this.tokens = tokens;
        this.merges = merges;
        this.tokenBytes = new byte[tokens.length][];
        this.ids = new HashMap<>(tokens.length * 2);
        int eot = -1;
        Map<String, Integer> singleChars = new HashMap<>();
        for (int id = 0; id < tokens.length; id++) {
            tokenBytes[id] = ByteLevel.bytesOf(tokens[id]);
            ids.putIfAbsent(tokens[id], id);
            if (tokens[id].length() == 1) {
                singleChars.put(tokens[id], id);
            }
            if (tokens[id].equals(END_OF_TEXT)) {
                eot = id;
            }
        }
        for (int b = 0; b < 256; b++) {
            byteIds[b] = singleChars.get(String.valueOf(ByteLevel.charOf(b))); // VocabFile checked they exist
        }
        this.endOfText = eot;
    }

    /**
     * Loads a tokenizer from its two files; any defect is an {@link InputException} naming the file, the problem and
     * the fix.
     *
     * @param vocabJson {@code vocab.json}: a JSON object token -> id, ids 0 to N-1
     * @param mergesTxt {@code merges.txt}: optional {@code #version} line, then "left right" per line by priority
     */
    public static Gpt2Tokenizer load(Path vocabJson, Path mergesTxt) {
        String[] tokens = VocabFile.read(vocabJson);
        Map<String, Integer> ids = new HashMap<>(tokens.length * 2);
        for (int id = 0; id < tokens.length; id++) {
            ids.put(tokens[id], id);
        }
        return new Gpt2Tokenizer(tokens, MergesFile.read(mergesTxt, ids));
    }

    /**
     * A tokenizer from lists held in a model file (a GGUF file's {@code tokenizer.ggml.tokens} and
     * {@code tokenizer.ggml.merges}: tokens in the byte alphabet, merges as "left right"), checked as the files are.
     *
     * @param file the model file, for messages
     */
    public static Gpt2Tokenizer of(Path file, String[] tokens, String[] merges) {
        Map<String, Integer> ids = VocabFile.checkList(file, tokens, "tokenizer.ggml.tokens");
        return new Gpt2Tokenizer(tokens.clone(), MergesFile.of(file, merges, ids, "tokenizer.ggml.merges"));
    }

    /** The token strings by id, in the byte alphabet (" the" is "Ġthe"), as vocab.json and GGUF files hold them. */
    public String[] tokens() {
        return tokens.clone();
    }

    /** The merges by rank, "left right", as merges.txt and GGUF files hold them. */
    public String[] merges() {
        return merges.list(tokens);
    }

    /** Loads {@code dir/vocab.json} and {@code dir/merges.txt}, the files of a Hugging Face GPT-2 model directory. */
    public static Gpt2Tokenizer fromModelDirectory(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new InputException(dir + ": " + (Files.exists(dir) ? "is not a directory" : "no such directory")
                    + "; give the model's directory, the one holding vocab.json and merges.txt.");
        }
        return load(dir.resolve("vocab.json"), dir.resolve("merges.txt"));
    }

    /** The token ids of {@code text}, exactly as GPT-2 encodes it. */
    public int[] encode(String text) {
        Objects.requireNonNull(text, "text");
        String s = replaceLoneSurrogates(text);
        IntList out = new IntList(Math.max(16, s.length() / 3));
        int from = 0;
        if (endOfText >= 0) {
            for (int at = s.indexOf(END_OF_TEXT); at >= 0; at = s.indexOf(END_OF_TEXT, from)) {
                encodeOrdinary(s, from, at, out);
                out.add(endOfText);
                from = at + END_OF_TEXT.length();
            }
        }
        encodeOrdinary(s, from, s.length(), out);
        return out.toArray();
    }

    private void encodeOrdinary(String text, int from, int to, IntList out) {
        for (int start = from; start < to; ) {
            int end = PreTokenizer.next(text, start, to);
            String piece = text.substring(start, end);
            int[] ids = cache.get(piece);
            if (ids == null) {
                ids = Bpe.merge(byteIds(piece), merges);
                if (piece.length() <= CACHE_PIECE_CHARS) {
                    if (cache.size() >= CACHE_ENTRIES) {
                        cache.clear();
                    }
                    cache.put(piece, ids);
                }
            }
            out.addAll(ids);
            start = end;
        }
    }

    private int[] byteIds(String piece) {
        int[] ids = new int[piece.length() * 3];
        int n = 0;
        for (int i = 0; i < piece.length(); i++) {
            int c = piece.charAt(i);
            if (c < 0x80) {
                ids[n++] = byteIds[c];
            } else if (c < 0x800) {
                ids[n++] = byteIds[0xC0 | c >> 6];
                ids[n++] = byteIds[0x80 | c & 0x3F];
            } else if (Character.isHighSurrogate((char) c)) { // paired: lone ones were replaced
                int cp = Character.toCodePoint((char) c, piece.charAt(++i));
                ids[n++] = byteIds[0xF0 | cp >> 18];
                ids[n++] = byteIds[0x80 | cp >> 12 & 0x3F];
                ids[n++] = byteIds[0x80 | cp >> 6 & 0x3F];
                ids[n++] = byteIds[0x80 | cp & 0x3F];
            } else {
                ids[n++] = byteIds[0xE0 | c >> 12];
                ids[n++] = byteIds[0x80 | c >> 6 & 0x3F];
                ids[n++] = byteIds[0x80 | c & 0x3F];
            }
        }
        return Arrays.copyOf(ids, n);
    }

    /** {@code text} with every unpaired surrogate replaced by U+FFFD (the same string when it has none). */
    static String replaceLoneSurrogates(String text) {
        StringBuilder fixed = null;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (!Character.isSurrogate(c)) {
                continue;
            }
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                i++;
                continue;
            }
            if (fixed == null) {
                fixed = new StringBuilder(text);
            }
            fixed.setCharAt(i, Utf8.REPLACEMENT);
        }
        return fixed == null ? text : fixed.toString();
    }

    /** The text of {@code ids}: their bytes decoded as UTF-8, invalid sequences replaced as Python's errors='replace'. */
    public String decode(int[] ids) {
        return Utf8.decode(decodeBytes(ids));
    }

    /** The bytes of {@code ids}, concatenated. */
    public byte[] decodeBytes(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(ids.length * 4);
        for (int id : ids) {
            out.writeBytes(bytesOf(id));
        }
        return out.toByteArray();
    }

    /** A decoder for ids that arrive one at a time, as in generation; see {@link StreamingDecoder}. */
    public StreamingDecoder streamingDecoder() {
        return new StreamingDecoder(this);
    }

    /** The bytes of one token (not a copy: callers must not change it). */
    byte[] bytesOf(int id) {
        checkId(id);
        return tokenBytes[id];
    }

    /** The number of tokens: ids are 0 to vocabSize() - 1. */
    public int vocabSize() {
        return tokens.length;
    }

    /** The id of {@code <|endoftext|>}, if the vocabulary has it (50256 in GPT-2). */
    public OptionalInt endOfTextId() {
        return endOfText >= 0 ? OptionalInt.of(endOfText) : OptionalInt.empty();
    }

    /** The token as vocab.json writes it, in the byte alphabet (" the" is "Ġthe"): for diagnostics. */
    public String tokenString(int id) {
        checkId(id);
        return tokens[id];
    }

    @Override
    public StreamingDecoder continuationDecoder() {
        return streamingDecoder();
    }

    @Override
    public OptionalInt idOf(String token) {
        Integer id = ids.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** {@code <|endoftext|>}: GPT-2 uses its one special token for BOS, EOS and end of turn. */
    @Override
    public OptionalInt bosId() {
        return endOfTextId();
    }

    @Override
    public OptionalInt eosId() {
        return endOfTextId();
    }

    @Override
    public OptionalInt eotId() {
        return endOfTextId();
    }

    @Override
    public OptionalInt unknownId() {
        return OptionalInt.empty();
    }

    @Override
    public OptionalInt paddingId() {
        return OptionalInt.empty();
    }

    /** False: GPT-2 prompts start with no special token. */
    @Override
    public boolean addBos() {
        return false;
    }

    @Override
    public boolean addEos() {
        return false;
    }

    @Override
    public TokenType tokenType(int id) {
        checkId(id);
        return id == endOfText ? TokenType.CONTROL : TokenType.NORMAL;
    }

    @Override
    public String ggufModel() {
        return "gpt2";
    }

    @Override
    public String ggufPre() {
        return "gpt-2";
    }

    @Override
    public float[] scores() {
        return new float[0];
    }

    @Override
    public Map<String, gpuinfer.gguf.GgufValue> ggufMetadata() {
        return GgufTokenizerMetadata.of(this, false);
    }

    private void checkId(int id) {
        if (id < 0 || id >= tokens.length) {
            throw new InputException("token id " + id + " is not in the vocabulary (ids are 0 to " + (tokens.length - 1)
                    + ").");
        }
    }

    /** A growable int array. */
    private static final class IntList {
        private int[] items;
        private int size;

        IntList(int capacity) {
            items = new int[capacity];
        }

        void add(int value) {
            if (size == items.length) {
                items = Arrays.copyOf(items, size * 2);
            }
            items[size++] = value;
        }

        void addAll(int[] values) {
            if (size + values.length > items.length) {
                items = Arrays.copyOf(items, Math.max(items.length * 2, size + values.length));
            }
            System.arraycopy(values, 0, items, size, values.length);
            size += values.length;
        }

        int[] toArray() {
            return Arrays.copyOf(items, size);
        }
    }
}
