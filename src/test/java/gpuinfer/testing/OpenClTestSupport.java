package gpuinfer.testing;

import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClDevice;
import gpuinfer.cl.ClRuntime;
import gpuinfer.cl.OpenClUnavailableException;
import gpuinfer.cl.ProgramCache;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

import java.util.List;

/**
 * Opens OpenCL for tests. Where no OpenCL device exists, tests that need one are skipped on a developer machine
 * and FAIL when the environment variable CI is "true": CI must never pass by skipping the device tests.
 */
public final class OpenClTestSupport {
    private OpenClTestSupport() {
    }

    /** Both bindings, for parameterised tests. */
    public static List<String> bindings() {
        return ClRuntime.BINDINGS;
    }

    /** Each case on the CPU reference and on both bindings, for parameterised tests: (case, "cpu" or a binding). */
    public static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> onEveryBackend(List<?> cases) {
        java.util.List<org.junit.jupiter.params.provider.Arguments> all = new java.util.ArrayList<>();
        for (Object c : cases) {
            all.add(org.junit.jupiter.params.provider.Arguments.of(c, "cpu"));
            for (String binding : bindings()) {
                all.add(org.junit.jupiter.params.provider.Arguments.of(c, binding));
            }
        }
        return all.stream();
    }

    public static boolean inCi() {
        return "true".equalsIgnoreCase(System.getenv("CI"));
    }

    /** The device tests run on: {@code GPU_INFER_TEST_DEVICE} if set, else auto. */
    public static ClDevice device(String binding) {
        String spec = System.getenv().getOrDefault("GPU_INFER_TEST_DEVICE", "auto");
        try {
            return ClRuntime.get(binding).select(spec);
        } catch (OpenClUnavailableException e) {
            String message = "no OpenCL device for binding " + binding + ": " + e.getMessage();
            if (inCi()) {
                Assertions.fail("CI=true requires an OpenCL device, but there is " + message);
            }
            Assumptions.abort(message);
            throw e;
        }
    }

    /** A context on the test device, with the test program cache (target/test-cache); the caller closes it. */
    public static ClContext context(String binding) {
        return ClRuntime.get(binding).createContext(device(binding), ProgramCache.defaultCache());
    }
}
