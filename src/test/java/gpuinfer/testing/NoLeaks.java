package gpuinfer.testing;

import gpuinfer.cl.LiveObjects;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Fails a test that leaves more (or fewer) OpenCL objects alive than it found: every buffer, kernel, queue, event
 * and program a test creates must be released by its end. Objects a test class shares across its tests (a context
 * opened in @BeforeAll) are alive before and after, so they do not count.
 */
public final class NoLeaks implements BeforeEachCallback, AfterEachCallback {
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(NoLeaks.class);

    @Override
    public void beforeEach(ExtensionContext context) {
        context.getStore(NAMESPACE).put("live", LiveObjects.describe());
    }

    @Override
    public void afterEach(ExtensionContext context) {
        @SuppressWarnings("unchecked")
        java.util.List<String> before = (java.util.List<String>) context.getStore(NAMESPACE).get("live");
        java.util.List<String> after = LiveObjects.describe();
        assertEquals(before, after, "OpenCL objects alive before and after the test differ (leak or double release)");
    }
}
