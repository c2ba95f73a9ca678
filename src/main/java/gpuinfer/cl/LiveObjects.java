package gpuinfer.cl;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * Every OpenCL object gpu-infer creates, until it is released. Tests assert that this is empty (or unchanged)
 * after they run: nothing leaked.
 */
public final class LiveObjects {
    private static final Set<ClObject> LIVE = Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));

    private LiveObjects() {
    }

    static void add(ClObject object) {
        LIVE.add(object);
    }

    static void remove(ClObject object) {
        LIVE.remove(object);
    }

    /** How many OpenCL objects are alive now. */
    public static int count() {
        return LIVE.size();
    }

    /** One line per live object ("BUFFER q [B,H,S,D] 1.5 MiB"), for a test failure message. */
    public static List<String> describe() {
        List<String> lines = new ArrayList<>();
        synchronized (LIVE) {
            for (ClObject object : LIVE) {
                lines.add(object.toString());
            }
        }
        Collections.sort(lines);
        return lines;
    }
}
