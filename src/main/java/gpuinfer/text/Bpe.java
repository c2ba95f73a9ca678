package gpuinfer.text;

import java.util.Arrays;

/**
 * Byte-pair merging of one pre-tokenized piece, with exactly the result of GPT-2's {@code Encoder.bpe}: repeatedly
 * take the adjacent pair with the lowest merge rank and merge every occurrence of it, left to right without
 * overlaps, until no adjacent pair has a merge.
 *
 * <p>Done in O(n log n) rather than GPT-2's O(n²) so that long pieces (a page of Chinese has no spaces) stay fast:
 * symbols form a linked list over an array, and a heap holds (rank, position) of every adjacent pair that has a
 * merge. Entries are checked when popped (the pair at that position may have changed since). All entries of one
 * rank are handled together in position order, and the pairs that their merges create are added only afterwards:
 * that is GPT-2's "merge every occurrence, left to right" even for a merges file in which a merged pair ranks lower
 * than the pair that made it.
 */
final class Bpe {
    private Bpe() {
    }

    /** Merges the token ids of a piece's bytes; returns the resulting token ids (the input array when n < 2). */
    static int[] merge(int[] ids, MergeTable merges) {
        int n = ids.length;
        if (n < 2) {
            return ids;
        }
        int[] symbol = ids.clone();
        int[] next = new int[n];
        int[] prev = new int[n];
        boolean[] dead = new boolean[n];
        for (int i = 0; i < n; i++) {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        LongHeap heap = new LongHeap(n);
        for (int i = 0; i + 1 < n; i++) {
            push(heap, merges, symbol, i, i + 1);
        }
        int[] touched = new int[n];
        int alive = n;
        while (!heap.isEmpty()) {
            int rank = (int) (heap.peek() >>> 32);
            int touchedCount = 0;
            while (!heap.isEmpty() && (int) (heap.peek() >>> 32) == rank) {
                int pos = (int) heap.pop();
                int right = next[pos];
                if (dead[pos] || right < 0) {
                    continue;
                }
                long m = merges.find(symbol[pos], symbol[right]);
                if (m == MergeTable.NONE || MergeTable.rank(m) != rank) {
                    continue; // stale: the pair at pos changed after this entry was made
                }
                symbol[pos] = MergeTable.merged(m);
                dead[right] = true;
                alive--;
                next[pos] = next[right];
                if (next[right] >= 0) {
                    prev[next[right]] = pos;
                }
                touched[touchedCount++] = pos;
            }
            for (int t = 0; t < touchedCount; t++) {
                int pos = touched[t];
                if (prev[pos] >= 0) {
                    push(heap, merges, symbol, prev[pos], pos);
                }
                if (next[pos] >= 0) {
                    push(heap, merges, symbol, pos, next[pos]);
                }
            }
        }
        int[] out = new int[alive];
        for (int i = 0, k = 0; i >= 0; i = next[i]) {
            out[k++] = symbol[i];
        }
        return out;
    }

    private static void push(LongHeap heap, MergeTable merges, int[] symbol, int left, int right) {
        long m = merges.find(symbol[left], symbol[right]);
        if (m != MergeTable.NONE) {
            heap.push((long) MergeTable.rank(m) << 32 | left);
        }
    }

    /** A binary min-heap of longs. */
    private static final class LongHeap {
        private long[] items;
        private int size;

        LongHeap(int capacity) {
            items = new long[Math.max(4, capacity)];
        }

        boolean isEmpty() {
            return size == 0;
        }

        long peek() {
            return items[0];
        }

        void push(long item) {
            if (size == items.length) {
                items = Arrays.copyOf(items, size * 2);
            }
            int i = size++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (items[parent] <= item) {
                    break;
                }
                items[i] = items[parent];
                i = parent;
            }
            items[i] = item;
        }

        long pop() {
            long top = items[0];
            long last = items[--size];
            int i = 0;
            while (true) {
                int child = 2 * i + 1;
                if (child >= size) {
                    break;
                }
                if (child + 1 < size && items[child + 1] < items[child]) {
                    child++;
                }
                if (items[child] >= last) {
                    break;
                }
                items[i] = items[child];
                i = child;
            }
            items[i] = last;
            return top;
        }
    }
}
