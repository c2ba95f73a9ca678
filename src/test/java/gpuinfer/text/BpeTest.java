package gpuinfer.text;

import gpuinfer.testing.Gpt2Files;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** The heap-based merge against GPT-2's own O(n²) loop, on GPT-2's merges and on random merge tables. */
class BpeTest {
    @TempDir
    static Path dir;
    static String[] tokens;
    static MergeTable gpt2;
    static Map<String, Integer> ids = new HashMap<>();

    @BeforeAll
    static void load() {
        Gpt2Files.writeModelDirectory(dir);
        tokens = VocabFile.read(dir.resolve("vocab.json"));
        for (int i = 0; i < tokens.length; i++) {
            ids.put(tokens[i], i);
        }
        gpt2 = MergesFile.read(dir.resolve("merges.txt"), ids);
    }

    @Test
    void matchesGpt2sLoopOnGpt2sMerges() {
        Random random = new Random(1);
        String[] words = {" the", "ing", " tokenization", "aaaa", "ha", " 中文", "!!", "😀", "\n\n", "  ", "ab", " Über",
            "123", "'s", "é", "xyz"};
        for (int n = 0; n < 3000; n++) {
            StringBuilder s = new StringBuilder();
            int parts = 1 + random.nextInt(n < 2900 ? 4 : 60);
            for (int i = 0; i < parts; i++) {
                s.append(words[random.nextInt(words.length)]);
            }
            int[] symbols = byteIds(s.toString());
            assertArrayEquals(reference(symbols, gpt2), Bpe.merge(symbols, gpt2), s::toString);
        }
    }

    @Test
    void matchesGpt2sLoopOnRandomMergeTablesWhateverTheirRankOrder() {
        Random random = new Random(2);
        for (int table = 0; table < 200; table++) {
            // Tokens: every string of 1 to 4 letters over {a, b, c}; merges: a random set of splits in random order.
            List<String> vocab = new ArrayList<>();
            for (int len = 1; len <= 4; len++) {
                strings("", len, vocab);
            }
            Map<String, Integer> id = new HashMap<>();
            for (int i = 0; i < vocab.size(); i++) {
                id.put(vocab.get(i), i);
            }
            List<String[]> splits = new ArrayList<>();
            for (String t : vocab) {
                for (int cut = 1; cut < t.length(); cut++) {
                    if (random.nextInt(3) == 0) {
                        splits.add(new String[] {t.substring(0, cut), t.substring(cut)});
                    }
                }
            }
            Collections.shuffle(splits, random);
            MergeTable merges = new MergeTable();
            for (String[] m : splits) {
                merges.add(id.get(m[0]), id.get(m[1]), merges.size(), id.get(m[0] + m[1]));
            }
            for (int w = 0; w < 50; w++) {
                int[] word = new int[random.nextInt(25)];
                for (int i = 0; i < word.length; i++) {
                    word[i] = random.nextInt(3); // "a", "b", "c" are ids 0, 1, 2
                }
                assertArrayEquals(reference(word, merges), Bpe.merge(word, merges));
            }
        }
    }

    private static void strings(String prefix, int len, List<String> out) {
        if (prefix.length() == len) {
            out.add(prefix);
            return;
        }
        for (char c = 'a'; c <= 'c'; c++) {
            strings(prefix + c, len, out);
        }
    }

    private static int[] byteIds(String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        int[] out = new int[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = ids.get(String.valueOf(ByteLevel.charOf(bytes[i])));
        }
        return out;
    }

    /** GPT-2's Encoder.bpe: find the lowest-ranked pair, merge all its occurrences left to right, repeat. */
    private static int[] reference(int[] symbols, MergeTable merges) {
        List<Integer> word = new ArrayList<>();
        for (int s : symbols) {
            word.add(s);
        }
        while (word.size() > 1) {
            int best = Integer.MAX_VALUE;
            long bestMerge = MergeTable.NONE;
            for (int i = 0; i + 1 < word.size(); i++) {
                long m = merges.find(word.get(i), word.get(i + 1));
                if (m != MergeTable.NONE && MergeTable.rank(m) < best) {
                    best = MergeTable.rank(m);
                    bestMerge = m;
                }
            }
            if (bestMerge == MergeTable.NONE) {
                break;
            }
            List<Integer> next = new ArrayList<>();
            for (int i = 0; i < word.size(); i++) {
                if (i + 1 < word.size() && merges.find(word.get(i), word.get(i + 1)) == bestMerge) {
                    next.add(MergeTable.merged(bestMerge));
                    i++;
                } else {
                    next.add(word.get(i));
                }
            }
            word = next;
        }
        return word.stream().mapToInt(Integer::intValue).toArray();
    }
}
