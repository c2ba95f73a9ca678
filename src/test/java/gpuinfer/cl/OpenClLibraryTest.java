package gpuinfer.cl;

import gpuinfer.InputException;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OpenClLibraryTest {
    @Test
    void bothLinuxNamesAreCandidatesAndFoundFilesComeFirst() {
        assertEquals(List.of("libOpenCL.so", "libOpenCL.so.1"), OpenClLibrary.fileNames("linux"));
        assertEquals(List.of("OpenCL.dll"), OpenClLibrary.fileNames("windows 11"));
        assertTrue(OpenClLibrary.fileNames("mac os x").get(0).contains("OpenCL.framework"));
        List<String> candidates = OpenClLibrary.candidates();
        assertTrue(candidates.containsAll(List.of("libOpenCL.so", "libOpenCL.so.1")), candidates.toString());
        int firstBare = candidates.indexOf("libOpenCL.so");
        for (int i = 0; i < firstBare; i++) {
            assertTrue(candidates.get(i).startsWith("/"), "absolute paths before bare names: " + candidates);
        }
    }

    @Test
    void theOverrideIsTriedFirst() {
        System.setProperty(OpenClLibrary.OVERRIDE_PROPERTY, "/opt/vendor/lib/libOpenCL.so.1");
        try {
            assertEquals("/opt/vendor/lib/libOpenCL.so.1", OpenClLibrary.candidates().get(0));
        } finally {
            System.clearProperty(OpenClLibrary.OVERRIDE_PROPERTY);
        }
    }

    @Test
    void joclLoadsThroughGpuInfersCandidatesNotJustLibOpenClSo() {
        OpenClTestSupport.device("jocl");
        String library = ClRuntime.get("jocl").library();
        assertTrue(OpenClLibrary.candidates().contains(library),
                "JOCL was initialised by gpu-infer's org.jocl.LibInitializer, which records the library: " + library);
        assertFalse(library.contains("JOCL's own"), library);
    }

    @Test
    void anUnknownBindingIsAUsageError() {
        InputException e = assertThrows(InputException.class, () -> ClRuntime.get("opencl4j"));
        assertTrue(e.getMessage().contains("lwjgl, jocl"), e.getMessage());
    }
}
