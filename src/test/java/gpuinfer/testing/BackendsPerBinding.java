package gpuinfer.testing;

import gpuinfer.cl.ClContext;
import gpuinfer.ops.ClBackend;

import java.util.LinkedHashMap;
import java.util.Map;

/** An OpenCL context and a backend on it for each binding, shared by a test class's tests; closing releases all. */
public final class BackendsPerBinding implements AutoCloseable {
    private final Map<String, ClContext> contexts = new LinkedHashMap<>();
    private final Map<String, ClBackend> backends = new LinkedHashMap<>();

    public static BackendsPerBinding open() {
        BackendsPerBinding all = new BackendsPerBinding();
        for (String binding : OpenClTestSupport.bindings()) {
            ClContext context = OpenClTestSupport.context(binding);
            all.contexts.put(binding, context);
            all.backends.put(binding, new ClBackend(context));
        }
        return all;
    }

    public ClBackend get(String binding) {
        return backends.get(binding);
    }

    @Override
    public void close() {
        backends.values().forEach(ClBackend::close);
        contexts.values().forEach(ClContext::close);
    }
}
