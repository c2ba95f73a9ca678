package gpuinfer.attention.ring;

/**
 * What one rank did in a ring run.
 *
 * @param rank            index in the ring
 * @param device          its context's device name
 * @param work            visible (query, key) pairs it computed, over batches and heads
 * @param blocks          (query chunk, key chunk) flash calls it ran
 * @param skipped         pairs of chunks it skipped because every key was masked (causal or key padding)
 * @param computeMillis   device time of its attention kernels (profiling events)
 * @param transferMillis  time of sending its key/value blocks onward: the wall time of its blocking sends (a device
 *                        copy, or read + write through the host), or, with the queues ordered by events, the device
 *                        time of its copies
 * @param deviceBytes     its peak device memory: everything it allocates, all at the start of a run and held to the
 *                        end: Q chunks, output and lse, one or two K/V slots
 *                        ({@link RingMemory}), the key-length buffer, and the flash workspace
 */
public record RankStats(int rank, String device, long work, int blocks, int skipped, double computeMillis,
                        double transferMillis, long deviceBytes) {
}
