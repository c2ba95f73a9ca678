package gpuinfer.attention.ring;

import gpuinfer.InputException;

import java.util.Locale;

/**
 * How many key/value slots each rank holds ({@code --ring-memory}). {@code overlap}: two, so that the next block
 * arrives in one while the kernels read the other (transfers overlap compute). {@code low}: one; after a step's
 * kernels have finished, the blocks rotate through host memory (each rank's block is read back and written into
 * the next rank's only slot, one block in flight at a time), so transfers no longer overlap compute but no rank
 * needs room for a second block.
 */
public enum RingMemory {
    OVERLAP(2), LOW(1);

    private final int slots;

    RingMemory(int slots) {
        this.slots = slots;
    }

    /** Key/value slots per rank. */
    public int slots() {
        return slots;
    }

    public static RingMemory parse(String text) {
        return switch (text.trim().toLowerCase(Locale.ROOT)) {
            case "overlap" -> OVERLAP;
            case "low" -> LOW;
            default -> throw new InputException("--ring-memory '" + text + "' must be overlap (two key/value slots per "
                    + "rank, transfers overlap compute) or low (one slot, blocks rotate through host memory between "
                    + "steps).");
        };
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
