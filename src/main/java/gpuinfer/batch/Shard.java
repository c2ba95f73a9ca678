package gpuinfer.batch;

import gpuinfer.InputException;

import java.nio.charset.StandardCharsets;

/**
 * Shard {@code index} of {@code count}: the requests whose key (the id's text, see {@link RequestFile#keyOf}) hashes
 * to {@code index}. The hash is FNV-1a 64 of the key's UTF-8 bytes (offset basis 0xcbf29ce484222325, prime
 * 0x100000001b3), taken as an unsigned number modulo {@code count}: stable across runs, machines and Java versions,
 * and independent of the order or the number of lines in the file.
 */
public record Shard(int index, int count) {
    public static final Shard ALL = new Shard(0, 1);

    public Shard {
        if (count < 1 || index < 0 || index >= count) {
            throw new InputException("--shard " + index + "/" + count + ": the index must be 0.." + (count - 1)
                    + " of a count of at least 1 (e.g. --shard 0/4 .. --shard 3/4)");
        }
    }

    /** "i/n", e.g. "2/8". */
    public static Shard parse(String text) {
        String[] parts = text.trim().split("/");
        try {
            if (parts.length == 2) {
                return new Shard(Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim()));
            }
        } catch (NumberFormatException ignored) {
            // the message below
        }
        throw new InputException("--shard '" + text + "': give it as INDEX/COUNT, e.g. --shard 0/4 (shards 0..3 of 4)");
    }

    /** Whether the request with this key belongs to this shard. */
    public boolean contains(String key) {
        return Long.remainderUnsigned(fnv1a64(key), count) == index;
    }

    /** FNV-1a 64 of the UTF-8 bytes of {@code text}. */
    public static long fnv1a64(String text) {
        long hash = 0xcbf29ce484222325L;
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            hash ^= b & 0xff;
            hash *= 0x100000001b3L;
        }
        return hash;
    }

    @Override
    public String toString() {
        return index + "/" + count;
    }
}
