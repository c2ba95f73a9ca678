package gpuinfer.text;

import java.util.Arrays;

/** A growable int array. */
final class IntList {
    private int[] items;
    private int size;

    IntList(int capacity) {
        items = new int[Math.max(4, capacity)];
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

    int size() {
        return size;
    }

    int get(int i) {
        return items[i];
    }

    int[] toArray() {
        return Arrays.copyOf(items, size);
    }
}
