package gpuinfer.testing;

import gpuinfer.cl.LiveObjects;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * Fails a test that leaves more (or fewer) OpenCL objects alive than it found: every buffer, kernel, queue, event
 * and program a test creates must be released by its end. Objects a test class shares across its tests (a context
 * opened in @BeforeAll) are alive before and after, so they do not count. Classes whose shared objects grow
 * caches during tests use {@link NoLeaksInClass} instead.
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
        List<String> before = (List<String>) context.getStore(NAMESPACE).get("live");
        assertSame(before, LiveObjects.describe(), "the test");
    }

    /** Fails with the objects added and removed between two snapshots. */
    static void assertSame(List<String> before, List<String> after, String what) {
        List<String> added = new ArrayList<>(after);
        before.forEach(added::remove);
        List<String> removed = new ArrayList<>(before);
        after.forEach(removed::remove);
        if (!added.isEmpty() || !removed.isEmpty()) {
            fail(what + " changed the live OpenCL objects: still alive (leaked) " + added
                    + (removed.isEmpty() ? "" : "; released although created before it " + removed));
        }
    }
}
