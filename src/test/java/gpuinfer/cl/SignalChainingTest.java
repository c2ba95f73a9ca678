package gpuinfer.cl;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SignalChainingTest {
    @Test
    void recognisesTheLibraryInAMapsListing() {
        String without = """
                7f1a45d00000-7f1a45d28000 r--p 00000000 08:01 1234   /usr/lib/x86_64-linux-gnu/libc.so.6
                7f1a44e00000-7f1a45c00000 r-xp 00200000 08:01 5678   /usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so
                """;
        assertFalse(SignalChaining.loadedIn(without));
        assertTrue(SignalChaining.loadedIn(without
                + "7f1a46000000-7f1a46001000 r-xp 00001000 08:01 91011  /usr/lib/jvm/java-17-openjdk-amd64/lib/libjsig.so\n"));
    }

    /**
     * The test JVM must run with signal chaining (pom.xml preloads libjsig for surefire on Linux): without it PoCL's
     * LLVM takes the JVM's deliberate SIGSEGVs and the test run dies at random while kernels compile.
     */
    @Test
    void theTestJvmRunsWithSignalChaining() {
        if (SignalChaining.applies()) {
            assertTrue(Files.isRegularFile(SignalChaining.library()), "this JDK ships " + SignalChaining.library());
            assertTrue(SignalChaining.active(), "libjsig is not preloaded into the test JVM: "
                    + SignalChaining.warning().orElse(""));
        }
        assertTrue(SignalChaining.warning().isEmpty());
    }
}
