package gpuinfer.testing;

import gpuinfer.cl.LiveObjects;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.List;

/**
 * Fails a test class that leaves OpenCL objects alive after its @AfterAll ran: for classes that share contexts and
 * ops across tests, whose caches (programs, kernels, workspace per head size) legitimately grow during a test and
 * are released when the op and the context close.
 */
public final class NoLeaksInClass implements BeforeAllCallback, AfterAllCallback {
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(NoLeaksInClass.class);

    @Override
    public void beforeAll(ExtensionContext context) {
        context.getStore(NAMESPACE).put("live", LiveObjects.describe());
    }

    @Override
    public void afterAll(ExtensionContext context) {
        @SuppressWarnings("unchecked")
        List<String> before = (List<String>) context.getStore(NAMESPACE).get("live");
        NoLeaks.assertSame(before, LiveObjects.describe(), "the test class");
    }
}
