package gpuinfer.cl;

/**
 * One kernel launch as the device's profiling events saw it, with the build options of its program (tuning values
 * travel with every measurement).
 *
 * @param queuedNs  CL_PROFILING_COMMAND_QUEUED, device clock
 * @param submitNs  CL_PROFILING_COMMAND_SUBMIT
 * @param startNs   CL_PROFILING_COMMAND_START
 * @param endNs     CL_PROFILING_COMMAND_END
 */
public record KernelTiming(String kernel, String options, long[] global, long[] local,
                           long queuedNs, long submitNs, long startNs, long endNs, Cost cost) {
    /** Execution time on the device. */
    public long durationNs() {
        return endNs - startNs;
    }

    public double millis() {
        return durationNs() / 1e6;
    }
}
