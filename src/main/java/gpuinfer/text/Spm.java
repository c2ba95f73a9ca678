package gpuinfer.text;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * llama.cpp's SentencePiece tokenizer ({@code llm_tokenizer_spm}), the one a GGUF file with
 * {@code tokenizer.ggml.model = "llama"} gets: every character starts as a symbol; repeatedly the adjacent pair whose
 * concatenation is a token with the highest score is merged (ties: the leftmost pair), until no adjacent pair
 * concatenates to a token; each final symbol is its token, or, for a character that is not in the vocabulary, the
 * {@code <0xNN>} tokens of its UTF-8 bytes (the unknown token where a byte token is missing).
 *
 * <p>The text given here is already escaped: spaces are "▁" and the prefix "▁" is there when wanted.
 */
final class Spm {
    private Spm() {
    }

    private record Bigram(int left, int right, float score, int size) {
    }

    static void encode(String text, Map<String, Integer> ids, float[] scores, int[] byteTokens, int unknown, IntList out) {
        int n = text.codePointCount(0, text.length());
        if (n == 0) {
            return;
        }
        int[] start = new int[n];
        int[] length = new int[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0, at = 0; i < n; i++) {
            int cp = text.codePointAt(at);
            start[i] = at;
            length[i] = Character.charCount(cp);
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
            at += length[i];
        }
        // Highest score first; among equal scores the leftmost pair.
        PriorityQueue<Bigram> queue = new PriorityQueue<>((a, b) -> a.score != b.score
                ? Float.compare(b.score, a.score) : Integer.compare(a.left, b.left));
        for (int i = 1; i < n; i++) {
            tryAdd(text, ids, scores, start, length, i - 1, i, queue);
        }
        while (!queue.isEmpty()) {
            Bigram b = queue.poll();
            int left = b.left;
            int right = b.right;
            // Stale when either symbol has been merged away or changed since the pair was queued.
            if (length[left] == 0 || length[right] == 0 || length[left] + length[right] != b.size) {
                continue;
            }
            length[left] += length[right];
            length[right] = 0;
            next[left] = next[right];
            if (next[right] >= 0) {
                prev[next[right]] = left;
            }
            tryAdd(text, ids, scores, start, length, prev[left], left, queue);
            tryAdd(text, ids, scores, start, length, left, next[left], queue);
        }
        for (int i = 0; i >= 0; i = next[i]) {
            String piece = text.substring(start[i], start[i] + length[i]);
            Integer id = ids.get(piece);
            if (id != null) {
                out.add(id);
                continue;
            }
            for (byte b : piece.getBytes(StandardCharsets.UTF_8)) {
                int t = byteTokens[b & 0xFF];
                out.add(t >= 0 ? t : unknown);
            }
        }
    }

    private static void tryAdd(String text, Map<String, Integer> ids, float[] scores, int[] start, int[] length,
                               int left, int right, PriorityQueue<Bigram> queue) {
        if (left < 0 || right < 0) {
            return;
        }
        int size = length[left] + length[right];
        Integer id = ids.get(text.substring(start[left], start[left] + size));
        if (id != null) {
            queue.add(new Bigram(left, right, scores[id], size));
        }
    }
}
