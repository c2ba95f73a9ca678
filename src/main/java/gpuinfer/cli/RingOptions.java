package gpuinfer.cli;

import gpuinfer.InputException;
import gpuinfer.attention.ring.RingLayout;
import gpuinfer.attention.ring.RingMemory;
import gpuinfer.cl.ClDevice;
import picocli.CommandLine.Option;

import java.util.List;

/**
 * {@code --ring N} and how the ring runs ({@code --ring-layout}, {@code --ring-ranks}, {@code --ring-memory}): one
 * declaration for {@code attention} and {@code profile attention}.
 */
final class RingOptions {
    @Option(names = "--ring", paramLabel = "N",
            description = "Ring attention: split the sequence over N ranks, each computing flash attention of its query "
                    + "chunks against the key/value block it holds, continuing from its running output and "
                    + "log-sum-exp, and passing the block on. Reports per-rank work, skipped blocks, compute, transfers "
                    + "and peak device memory. Causal needs Sq = Sk.")
    Integer ring;

    @picocli.CommandLine.Mixin
    RingPlacementOptions placement;

    @Option(names = "--ring-memory", defaultValue = "overlap", paramLabel = "MODE",
            description = "overlap (two key/value slots per rank: the next block arrives while the kernels read the "
                    + "current one) or low (one slot: blocks rotate through host memory after each step's kernels, "
                    + "no overlap; half the single-device memory per rank at --ring 2) (default: ${DEFAULT-VALUE}).")
    String memory;

    boolean on() {
        return ring != null;
    }

    /** Refuses a ring that cannot run with {@code impl}, and ring settings without --ring. */
    void check(String impl) {
        if (ring != null) {
            if (ring < 1) {
                throw new InputException("--ring must be at least 1, not " + ring + ".");
            }
            if (!impl.equals("auto") && !impl.equals("flash")) {
                throw new InputException("--ring runs flash attention on each block; it cannot be combined with --impl "
                        + impl + ".");
            }
            placement.check(ring, List.of("queues", "contexts", "subdevices"));
        } else if (placement.given() || !memory.equals("overlap")) {
            throw new InputException("--ring-layout, --ring-ranks, --ring-devices and --ring-memory need --ring N.");
        }
    }

    /** The layout asked for, or null for the default (zigzag when causal). */
    RingLayout layout() {
        return placement.layout();
    }

    /** The kind of rank: queues by default, "devices" when --ring-devices lists them. */
    String kind() {
        return placement.devices != null ? "devices" : placement.kind == null ? "queues" : placement.kind;
    }

    RingMemory memory() {
        return RingMemory.parse(memory);
    }

    /** The N ranks of the kind asked for, on {@code device}. */
    RingRanks open(OpenClOptions opencl, ClDevice device) {
        java.util.List<ClDevice> listed = placement.listed(opencl, ring);
        return listed != null ? new RingRanks(opencl, listed) : new RingRanks(opencl, device, ring, kind());
    }
}
