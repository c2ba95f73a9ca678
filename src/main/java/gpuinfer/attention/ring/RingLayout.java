package gpuinfer.attention.ring;

import gpuinfer.InputException;

import java.util.ArrayList;
import java.util.List;

/**
 * How a sequence is cut into chunks and which chunks each rank holds. {@code zigzag}: 2N chunks, rank r holds chunks r
 * and 2N-1-r, so that under causal masking every rank has the same amount of visible work. {@code contiguous}: N
 * chunks, rank r holds chunk r. Lengths that do not divide give chunks whose sizes differ by one (the first ones are
 * longer). Query and key chunks share the cut when Sq = Sk; otherwise (non-causal only) each is cut on its own.
 */
public enum RingLayout {
    ZIGZAG, CONTIGUOUS;

    public static RingLayout parse(String text) {
        return switch (text.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "zigzag" -> ZIGZAG;
            case "contiguous" -> CONTIGUOUS;
            default -> throw new InputException("--ring-layout '" + text + "' must be zigzag or contiguous.");
        };
    }

    /** One chunk: positions start .. start + length - 1, index in sequence order. */
    public record Chunk(int index, int start, int length) {
    }

    /** Chunks in sequence order for a length cut over {@code ranks}. */
    public List<Chunk> chunks(int length, int ranks) {
        int count = this == ZIGZAG ? 2 * ranks : ranks;
        List<Chunk> chunks = new ArrayList<>(count);
        int base = length / count;
        int extra = length % count;
        int start = 0;
        for (int i = 0; i < count; i++) {
            int len = base + (i < extra ? 1 : 0);
            chunks.add(new Chunk(i, start, len));
            start += len;
        }
        return chunks;
    }

    /** The chunk indices rank {@code r} of {@code ranks} holds, in sequence order. */
    public int[] chunksOf(int r, int ranks) {
        return this == ZIGZAG ? new int[] {r, 2 * ranks - 1 - r} : new int[] {r};
    }

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
