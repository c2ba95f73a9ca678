package gpuinfer.attention.ring;

import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClQueue;

import java.util.ArrayList;
import java.util.List;

/**
 * One participant of a ring: a context, a queue for its attention and merge kernels, and a queue for the key/value
 * blocks it sends and receives. Ranks on one context share its device memory; ranks on different contexts (the same
 * or different devices) exchange blocks through host memory. Close to release the two queues (not the context).
 */
public record Rank(int index, ClContext context, ClQueue compute, ClQueue transfer) implements AutoCloseable {
    /** N ranks as N queue pairs on one context. The caller closes each rank. */
    public static List<Rank> onOneContext(ClContext context, int ranks) {
        List<ClContext> same = new ArrayList<>();
        for (int i = 0; i < ranks; i++) {
            same.add(context);
        }
        return onContexts(same);
    }

    /**
     * One rank per context of the list, in ring order (the same context may appear several times: those ranks get
     * their own queues on it). This is all a caller with other contexts (separate devices, sub-devices) needs.
     */
    public static List<Rank> onContexts(List<ClContext> contexts) {
        List<Rank> made = new ArrayList<>();
        try {
            for (int i = 0; i < contexts.size(); i++) {
                ClContext c = contexts.get(i);
                ClQueue compute = c.createQueue("ring rank " + i + " compute");
                try {
                    made.add(new Rank(i, c, compute, c.createQueue("ring rank " + i + " transfer")));
                } catch (RuntimeException e) {
                    compute.close();
                    throw e;
                }
            }
        } catch (RuntimeException e) {
            made.forEach(Rank::close);
            throw e;
        }
        return made;
    }

    @Override
    public void close() {
        try {
            compute.close();
        } finally {
            transfer.close();
        }
    }
}
