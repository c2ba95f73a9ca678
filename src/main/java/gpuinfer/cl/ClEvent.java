package gpuinfer.cl;

import static gpuinfer.cl.ClConstants.*;

/** An event of one enqueued command, released when closed; its profiling times are readable once it completed. */
public final class ClEvent extends ClObject {
    ClEvent(ClNative cl, Object handle, String label) {
        super(cl, handle, Kind.EVENT, label);
    }

    public long queuedNs() {
        return cl.eventProfilingInfo(handle, CL_PROFILING_COMMAND_QUEUED);
    }

    public long submitNs() {
        return cl.eventProfilingInfo(handle, CL_PROFILING_COMMAND_SUBMIT);
    }

    public long startNs() {
        return cl.eventProfilingInfo(handle, CL_PROFILING_COMMAND_START);
    }

    public long endNs() {
        return cl.eventProfilingInfo(handle, CL_PROFILING_COMMAND_END);
    }
}
