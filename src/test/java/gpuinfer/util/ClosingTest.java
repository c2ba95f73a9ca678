package gpuinfer.util;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

class ClosingTest {
    @Test
    void closesWhatWasMadeLastFirstAndKeepsTheFirstCause() {
        List<String> closed = new ArrayList<>();
        RuntimeException cause = new IllegalStateException("the third could not be made");
        IllegalArgumentException closeFailure = new IllegalArgumentException("closing b failed");
        AutoCloseable a = () -> closed.add("a");
        AutoCloseable b = () -> {
            closed.add("b");
            throw closeFailure;
        };
        RuntimeException thrown = Closing.afterFailure(cause, a, b, null);
        assertSame(cause, thrown);
        assertEquals(List.of("b", "a"), closed, "every made resource closed, last made first; nulls skipped");
        assertArrayEquals(new Throwable[] {closeFailure}, thrown.getSuppressed());
    }
}
