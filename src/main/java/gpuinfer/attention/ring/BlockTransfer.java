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
     * Through host memory: read on the sender's transfer queue, write on the receiver's. Works between any two
     * contexts. {@code gpuinfer.cl.ClQueue} has no device-to-device copy (clEnqueueCopyBuffer) yet, so ranks on one
     * context also use it; a shared-context path (sub-devices of one device) will copy on the device instead.
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
