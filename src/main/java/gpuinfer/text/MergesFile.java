package gpuinfer.text;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Reads a GPT-2 {@code merges.txt} ({@code vocab.bpe} in OpenAI's release): an optional first line
 * {@code #version: ...}, then one merge per line, two tokens separated by one space ({@code Ġ t}), highest priority
 * first. Blank lines may end the file. Both parts and their concatenation must be vocab tokens.
 */
final class MergesFile {
    private MergesFile() {
    }

    /** The merges, ranked by line order; {@code ids} maps each vocab token to its id. */
    static MergeTable read(Path file, Map<String, Integer> ids) {
        MergeTable table = new MergeTable();
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int lineNumber = 0;
            int blankLine = 0;
            while ((line = reader.readLine()) != null) {
                lineNumber++;
                if (line.endsWith("\r")) {
                    line = line.substring(0, line.length() - 1);
                }
                if (lineNumber == 1 && line.startsWith("#version")) {
                    continue;
                }
                if (line.isEmpty()) {
                    blankLine = blankLine == 0 ? lineNumber : blankLine;
                    continue;
                }
                if (blankLine != 0) {
                    throw fail(file, "line " + blankLine + " is blank but merges follow it (line " + lineNumber
                            + "); only the end of the file may have blank lines.");
                }
                add(table, ids, line, file, "line ", lineNumber, "the file", "vocab.json and merges.txt");
            }
        } catch (CharacterCodingException e) {
            throw new TokenizerFileException(file, "is not valid UTF-8 text; use the model's original merges.txt.", e);
        } catch (IOException e) {
            throw TokenizerFiles.unreadable(file, e);
        }
        return table;
    }

    /** The merges of a GGUF file's {@code tokenizer.ggml.merges} (named by {@code where}), ranked by position. */
    static MergeTable of(Path file, String[] merges, Map<String, Integer> ids, String where) {
        MergeTable table = new MergeTable();
        String entry = where + " entry ";
        for (int i = 0; i < merges.length; i++) {
            add(table, ids, merges[i], file, entry, i, where, "the tokens and merges");
        }
        return table;
    }

    /**
     * Checks one merge "left right" and adds it with the next rank; {@code place + number} says where it is in an
     * error (joined only then: a tokenizer's fifty thousand merges are read at every start).
     */
    private static void add(MergeTable table, Map<String, Integer> ids, String line, Path file, String place, long number,
                            String container, String sources) {
        int space = line.indexOf(' ');
        if (space <= 0 || space == line.length() - 1 || line.indexOf(' ', space + 1) >= 0) {
            throw fail(file, place + number + " is " + VocabFile.quote(line) + ", not a merge: a merge "
                    + "is two tokens separated by one space, like \"Ġ t\".");
        }
        String left = line.substring(0, space);
        String right = line.substring(space + 1);
        Integer leftId = ids.get(left);
        Integer rightId = ids.get(right);
        Integer mergedId = ids.get(left + right);
        if (leftId == null || rightId == null || mergedId == null) {
            String absent = leftId == null ? left : rightId == null ? right : left + right;
            throw fail(file, place + number + " merges " + VocabFile.quote(left) + " and " + VocabFile.quote(right) + " but "
                    + VocabFile.quote(absent) + " is not in the vocabulary; " + sources + " must come from the same model.");
        }
        int earlier = table.add(leftId, rightId, table.size(), mergedId);
        if (earlier >= 0) {
            throw fail(file, place + number + " repeats the merge " + VocabFile.quote(line) + " (merge " + (earlier + 1)
                    + " of " + container + "); each pair may be merged once.");
        }
    }

    private static TokenizerFileException fail(Path file, String problem) {
        return new TokenizerFileException(file, problem);
    }
}
