package gpuinfer.attention.ring;

import gpuinfer.cl.KernelTiming;

import java.util.List;

/**
 * Everything one rank did in a ring run, in time, for a trace: its kernels (device profiling events) and its
 * transfers (host-timed blocking calls; or, when the queues are ordered by events, its copies' device times moved to
 * the host clock by {@code deviceToHostNs}).
 *
 * @param rank           index in the ring
 * @param kernels        its attention and merge launches, device clock
 * @param deviceToHostNs add to a device timestamp to place it on the host clock ({@link System#nanoTime()}): the
 *                       largest, over the steps, of the host time just before the rank's first launch of the step
 *                       minus that launch's CL_PROFILING_COMMAND_QUEUED. The launch is queued after the host time
 *                       was taken, so this is a lower bound on the true offset, short of it by at most the host cost
 *                       of one enqueue (microseconds)
 * @param transfers      its sends and receives, host clock
 */
public record RankTimeline(int rank, List<KernelTiming> kernels, long deviceToHostNs, List<Transfer> transfers) {
    /**
     * One transfer on the rank's transfer queue: a blocking call, or a copy ordered by events.
     *
     * @param what    e.g. "send k chunk 3 to rank 1"
     * @param startNs host clock when the call began (a copy: when the device started it)
     * @param endNs   host clock when it returned, the data having arrived (a copy: when the device ended it)
     * @param bytes   bytes moved
     */
    public record Transfer(String what, long startNs, long endNs, long bytes) {
        public double millis() {
            return (endNs - startNs) / 1e6;
        }
    }
}
