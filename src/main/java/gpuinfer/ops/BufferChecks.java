package gpuinfer.ops;

import gpuinfer.cl.ClBuffer;

/**
 * Checks made before a kernel is enqueued: a kernel trusts its shapes, so a buffer smaller than they say would be
 * read or written past its end on the device. Each failure names the op, the buffer and what it should hold.
 */
final class BufferChecks {
    private BufferChecks() {
    }

    /** {@code buffer} holds at least {@code floats} float32 values. */
    static void holdsFloats(String op, String role, ClBuffer buffer, long floats) {
        if (buffer.bytes() < 4 * floats) {
            throw new IllegalArgumentException(op + ": " + role + " buffer '" + buffer.label() + "' holds " + buffer.bytes() / 4
                    + " floats but the shapes need " + floats + "; allocate it with the shapes passed, or pass the"
                    + " shapes it was allocated for");
        }
    }

    /** Every size is at least 1 (an empty launch is an error in OpenCL, and a model never asks for one). */
    static void positive(String op, String names, int... sizes) {
        for (int size : sizes) {
            if (size < 1) {
                throw new IllegalArgumentException(op + ": sizes " + names + " must all be at least 1, not "
                        + java.util.Arrays.toString(sizes));
            }
        }
    }
}
