package gpuinfer.attention.ring;

import gpuinfer.cl.ClBuffer;

/**
 * Moves the first {@code floats} floats of a buffer of one rank into a buffer of the next rank.
 */
public interface BlockTransfer {
    /** Copies, and returns when the destination holds the values. */
    void send(Rank from, ClBuffer src, Rank to, ClBuffer dst, int floats);

    /** "host-staged" or another name for reports. */
    String name();

    /**
     * Whether this is {@link #deviceCopy()}: blocks that a device copy can move, which a caller may then enqueue
     * itself, ordered by events, instead of calling the blocking {@link #send}.
     */
    default boolean onDevice() {
        return false;
    }

    /**
     * The transfer for these ranks: device copies when they share one context, else through host memory.
     */
    static BlockTransfer forRanks(java.util.List<Rank> ranks) {
        boolean shared = ranks.stream().allMatch(r -> r.context() == ranks.get(0).context());
        return shared ? deviceCopy() : hostStaged();
    }

    /**
     * On the device (clEnqueueCopyBuffer on the sender's transfer queue, then waited for): ranks that share a
     * context, such as queue pairs on one device.
     */
    static BlockTransfer deviceCopy() {
        return new BlockTransfer() {
            @Override
            public void send(Rank from, ClBuffer src, Rank to, ClBuffer dst, int floats) {
                from.transfer().copy(src, 0, dst, 0, 4L * floats);
                from.transfer().finish();
            }

            @Override
            public String name() {
                return "device copy";
            }

            @Override
            public boolean onDevice() {
                return true;
            }
        };
    }

    /**
     * Through host memory: read on the sender's transfer queue, write on the receiver's. Works between any two
     * contexts (ranks on sub-devices or on devices of different platforms each have their own).
     */
    static BlockTransfer hostStaged() {
        return new BlockTransfer() {
            private float[] staging = new float[0];

            @Override
            public void send(Rank from, ClBuffer src, Rank to, ClBuffer dst, int floats) {
                if (staging.length < floats) {
                    staging = new float[floats];
                }
                from.transfer().read(src, 0, staging, 0, floats);
                to.transfer().write(dst, 0, staging, 0, floats);
            }

            @Override
            public String name() {
                return "host-staged";
            }
        };
    }
}
