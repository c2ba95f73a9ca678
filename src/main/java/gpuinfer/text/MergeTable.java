package gpuinfer.text;

import java.util.Arrays;

/**
 * The BPE merges as a hash table from a pair of token ids (left, right) to the merge's rank (its 0-based line among
 * the merges) and the id of the merged token. Open addressing over primitive arrays: no boxing on the hot path. It
 * grows with what is added, never with a number read from a file.
 */
final class MergeTable {
    /** What {@link #find} returns for a pair that has no merge. */
    static final long NONE = -1L;
    private static final long EMPTY = -1L;

    private long[] keys = new long[1024];
    private long[] values = new long[1024];
    private int size;

    static long key(int left, int right) {
        return (long) left << 32 | (right & 0xFFFFFFFFL);
    }

    /** Rank of a value {@link #find} returned. */
    static int rank(long value) {
        return (int) (value >>> 32);
    }

    /** Merged token id of a value {@link #find} returned. */
    static int merged(long value) {
        return (int) value;
    }

    {
        Arrays.fill(keys, EMPTY);
    }

    int size() {
        return size;
    }

    /** Adds a merge and returns -1, or returns the rank already recorded for this pair (and changes nothing). */
    int add(int left, int right, int rank, int merged) {
        long key = key(left, right);
        int slot = slot(keys, key);
        if (keys[slot] != EMPTY) {
            return rank(values[slot]);
        }
        keys[slot] = key;
        values[slot] = (long) rank << 32 | (merged & 0xFFFFFFFFL);
        if (++size * 2 > keys.length) {
            grow();
        }
        return -1;
    }

    /** The merge of (left, right) packed as rank and merged id (see {@link #rank}, {@link #merged}), or {@link #NONE}. */
    long find(int left, int right) {
        long key = key(left, right);
        int slot = slot(keys, key);
        return keys[slot] == EMPTY ? NONE : values[slot];
    }

    /** Every merge as "left right" (the tokens' strings), by rank. */
    String[] list(String[] tokens) {
        String[] out = new String[size];
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] != EMPTY) {
                out[rank(values[i])] = tokens[(int) (keys[i] >>> 32)] + " " + tokens[(int) keys[i]];
            }
        }
        return out;
    }

    /** For each token id below {@code vocabSize}: the rank of the first merge that makes it, or -1. */
    int[] firstRankOfMerged(int vocabSize) {
        int[] rank = new int[vocabSize];
        Arrays.fill(rank, -1);
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] != EMPTY) {
                int merged = merged(values[i]);
                int r = rank(values[i]);
                if (merged < vocabSize && (rank[merged] < 0 || r < rank[merged])) {
                    rank[merged] = r;
                }
            }
        }
        return rank;
    }

    private static int slot(long[] keys, long key) {
        int mask = keys.length - 1;
        long h = key * 0x9E3779B97F4A7C15L;
        int slot = (int) (h ^ h >>> 29) & mask;
        while (keys[slot] != EMPTY && keys[slot] != key) {
            slot = (slot + 1) & mask;
        }
        return slot;
    }

    private void grow() {
        long[] oldKeys = keys;
        long[] oldValues = values;
        keys = new long[oldKeys.length * 2];
        values = new long[oldKeys.length * 2];
        Arrays.fill(keys, EMPTY);
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldKeys[i] != EMPTY) {
                int slot = slot(keys, oldKeys[i]);
                keys[slot] = oldKeys[i];
                values[slot] = oldValues[i];
            }
        }
    }
}
