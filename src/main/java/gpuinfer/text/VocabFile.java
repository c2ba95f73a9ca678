package gpuinfer.text;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads a GPT-2 {@code vocab.json} ({@code encoder.json} in OpenAI's release): one JSON object mapping each token
 * string to its id. The ids must be exactly 0 to N-1 for N entries, each used once, and the 256 single-byte tokens
 * must be there. The file is decoded as strict UTF-8 (a leading byte order mark is allowed) and parsed with Jackson's
 * streaming parser, which sees duplicate keys that a tree would silently merge; nothing is sized from an id before
 * the ids are checked against the number of entries actually read.
 */
final class VocabFile {
    /** GPT-2's is 1 MB; a file far larger is something else, and is refused before it is read into memory. */
    static final long MAX_BYTES = 256L << 20;
    /** Field names are tokens: 50,000 distinct ones, each seen once, gain nothing from Jackson's name table. */
    private static final JsonFactory JSON = JsonFactory.builder()
            .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
            .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
            .build();

    private VocabFile() {
    }

    /** The token strings indexed by id. */
    static String[] read(Path file) {
        Map<String, Integer> ids = new LinkedHashMap<>();
        String text;
        try {
            long size = Files.size(file);
            if (size > MAX_BYTES) {
                throw fail(file, "is " + size + " bytes; a vocab.json is a few megabytes (GPT-2's is 1 MB), so this "
                        + "is not one.");
            }
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (CharacterCodingException e) {
            throw new TokenizerFileException(file, "is not valid UTF-8 text; use the model's original vocab.json.", e);
        } catch (IOException e) {
            throw TokenizerFiles.unreadable(file, e);
        }
        if (text.startsWith("\uFEFF")) {
            text = text.substring(1);
        }
        try (JsonParser parser = JSON.createParser(text)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                throw fail(file, "is not a JSON object; vocab.json maps each token to its id, like "
                        + "{\"!\": 0, \"\\\"\": 1, ...}.");
            }
            JsonToken t;
            while ((t = parser.nextToken()) == JsonToken.FIELD_NAME) {
                String token = parser.currentName();
                JsonToken value = parser.nextToken();
                if (value != JsonToken.VALUE_NUMBER_INT || parser.getNumberType() != JsonParser.NumberType.INT) {
                    throw fail(file, "token " + quote(token) + " has the value " + parser.getText() + " at line "
                            + parser.currentLocation().getLineNr() + "; ids must be integers from 0 to 2147483647.");
                }
                int id = parser.getIntValue();
                if (id < 0) {
                    throw fail(file, "token " + quote(token) + " has the negative id " + id + "; ids must be 0 to N-1 "
                            + "for N tokens.");
                }
                if (token.isEmpty()) {
                    throw fail(file, "the empty string is a token (id " + id + "); every token must have at least "
                            + "one character.");
                }
                Integer earlier = ids.putIfAbsent(token, id);
                if (earlier != null) {
                    throw fail(file, "token " + quote(token) + " appears twice (ids " + earlier + " and " + id
                            + "); each token must appear once.");
                }
            }
            if (t != JsonToken.END_OBJECT) {
                throw fail(file, "is not a flat JSON object of token -> id.");
            }
            if (parser.nextToken() != null) {
                throw fail(file, "has more JSON after the object (line " + parser.currentLocation().getLineNr()
                        + "); the file must hold one object.");
            }
        } catch (JsonProcessingException e) {
            throw new TokenizerFileException(file, "is not valid JSON: " + e.getOriginalMessage() + " (line "
                    + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + "). Use the "
                    + "model's original vocab.json.", e);
        } catch (IOException e) {
            throw TokenizerFiles.unreadable(file, e);
        }
        if (ids.isEmpty()) {
            throw fail(file, "has no tokens.");
        }
        String[] tokens = new String[ids.size()];
        for (Map.Entry<String, Integer> e : ids.entrySet()) {
            int id = e.getValue();
            if (id >= tokens.length) {
                throw fail(file, "token " + quote(e.getKey()) + " has id " + id + " but there are only "
                        + tokens.length + " tokens; ids must be 0 to " + (tokens.length - 1) + " with none missing.");
            }
            if (tokens[id] != null) {
                throw fail(file, "tokens " + quote(tokens[id]) + " and " + quote(e.getKey()) + " both have id " + id
                        + "; each id must belong to one token.");
            }
            tokens[id] = e.getKey();
        }
        requireByteTokens(file, ids::containsKey, "");
        return tokens;
    }

    /**
     * Checks a token list given in memory (a GGUF file's {@code tokenizer.ggml.tokens}, named by {@code where}): every
     * token non-empty and listed once, and the 256 single-byte tokens present.
     */
    static java.util.Map<String, Integer> checkList(Path file, String[] tokens, String where) {
        if (tokens.length == 0) {
            throw fail(file, where + " has no tokens.");
        }
        Map<String, Integer> ids = new java.util.HashMap<>(tokens.length * 2);
        for (int id = 0; id < tokens.length; id++) {
            if (tokens[id].isEmpty()) {
                throw fail(file, where + ": token " + id + " is the empty string; every token must have at least one character.");
            }
            Integer earlier = ids.putIfAbsent(tokens[id], id);
            if (earlier != null) {
                throw fail(file, where + ": token " + quote(tokens[id]) + " appears twice (ids " + earlier + " and " + id + ").");
            }
        }
        requireByteTokens(file, ids::containsKey, where + " ");
        return ids;
    }

    private static void requireByteTokens(Path file, java.util.function.Predicate<String> has, String where) {
        int missing = 0;
        int firstMissing = -1;
        for (int b = 0; b < 256; b++) {
            if (!has.test(String.valueOf(ByteLevel.charOf(b)))) {
                missing++;
                firstMissing = firstMissing < 0 ? b : firstMissing;
            }
        }
        if (missing > 0) {
            throw fail(file, where + "lacks " + missing + " of the 256 single-byte tokens (the first: "
                    + quote(String.valueOf(ByteLevel.charOf(firstMissing))) + " for byte 0x"
                    + String.format("%02X", firstMissing) + "); it is not a byte-level BPE vocabulary like GPT-2's.");
        }
    }

    private static TokenizerFileException fail(Path file, String problem) {
        return new TokenizerFileException(file, problem);
    }

    /** A token in quotes, with characters that would not print escaped. */
    static String quote(String token) {
        StringBuilder s = new StringBuilder("\"");
        token.codePoints().forEach(cp -> {
            if (cp == '"' || cp == '\\') {
                s.append('\\').appendCodePoint(cp);
            } else if (Character.isISOControl(cp) || Character.getType(cp) == Character.FORMAT
                    || Character.isWhitespace(cp) && cp != ' ' || Character.getType(cp) == Character.SURROGATE) {
                s.append(cp > 0xFFFF ? String.format("\\U%08X", cp) : String.format("\\u%04X", cp));
            } else {
                s.appendCodePoint(cp);
            }
        });
        return s.append('"').toString();
    }
}
