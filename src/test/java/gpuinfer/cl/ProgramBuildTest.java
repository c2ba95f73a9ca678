package gpuinfer.cl;

import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Building programs: the build log on failure, the in-memory and on-disk caches. */
@ExtendWith(NoLeaks.class)
class ProgramBuildTest {
    static final KernelSource BROKEN = KernelSource.of("broken.cl",
            "__kernel void broken(__global float* x) { x[get_global_id(0)] = undefined_variable_here; }\n");
    static final KernelSource SCALE = KernelSource.of("scale.cl", """
            #ifndef FACTOR
            #define FACTOR 2.0f
            #endif
            __kernel void scale(__global float* x) { x[get_global_id(0)] *= FACTOR; }
            """);

    @TempDir
    Path cacheDir;

    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void aFailedBuildShowsDeviceOptionsAndTheFullLog(String binding) {
        try (ClContext context = OpenClTestSupport.context(binding)) {
            KernelBuildException e = assertThrows(KernelBuildException.class, () -> context.program(BROKEN, "-DFOO=1 -DBAR=2"));
            String message = e.getMessage();
            assertTrue(message.contains("broken.cl"), message);
            assertTrue(message.contains(context.device().name()), message);
            assertTrue(message.contains("-DFOO=1 -DBAR=2"), message);
            assertTrue(message.contains("CL_BUILD_PROGRAM_FAILURE"), message);
            assertTrue(message.contains("undefined_variable_here"), "the compiler's own words: " + message);
            assertTrue(e.buildLog().contains("undefined_variable_here"));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void definesReachTheKernelAndProgramsAreReusedInMemory(String binding) {
        try (ClContext context = OpenClTestSupport.context(binding)) {
            assertEquals(List.of(3f, 6f), run(context, SCALE, "-DFACTOR=3.0f", 1f, 2f));
            assertEquals(List.of(2f, 4f), run(context, SCALE, "", 1f, 2f));
            ClProgram first = context.program(SCALE, "-DFACTOR=3.0f");
            assertSame(first, context.program(SCALE, "-DFACTOR=3.0f"));
            assertEquals("memory", context.builds().get(context.builds().size() - 1).origin());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"lwjgl", "jocl"})
    void binariesAreCachedOnDiskAndADamagedFileIsRebuilt(String binding) throws IOException {
        ClDevice device = OpenClTestSupport.device(binding);
        ClRuntime runtime = ClRuntime.get(binding);
        ProgramCache cache = ProgramCache.at(cacheDir);
        try (ClContext context = runtime.createContext(device, cache)) {
            context.program(SCALE, "-DFACTOR=5.0f");
            assertEquals("built", context.builds().get(0).origin());
        }
        Path file;
        try (Stream<Path> files = Files.list(cacheDir)) {
            List<Path> all = files.toList();
            assertEquals(1, all.size(), "one binary: " + all);
            file = all.get(0);
        }
        try (ClContext context = runtime.createContext(device, cache)) {
            assertEquals(List.of(10f), run(context, SCALE, "-DFACTOR=5.0f", 2f));
            assertEquals("disk cache", context.builds().get(0).origin());
        }
        // Damage the file: the checksum catches it, the program is rebuilt from source and the file rewritten.
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length / 2] ^= 0x5a;
        Files.write(file, bytes);
        try (ClContext context = runtime.createContext(device, cache)) {
            assertEquals(List.of(10f), run(context, SCALE, "-DFACTOR=5.0f", 2f));
            assertEquals("built", context.builds().get(0).origin());
        }
        Files.write(file, new byte[] {1, 2, 3});
        try (ClContext context = runtime.createContext(device, cache)) {
            assertEquals(List.of(10f), run(context, SCALE, "-DFACTOR=5.0f", 2f));
            assertEquals("built", context.builds().get(0).origin(), "a truncated file is rebuilt too");
        }
        try (ClContext context = runtime.createContext(device, ProgramCache.disabled())) {
            context.program(SCALE, "-DFACTOR=5.0f");
            assertEquals("built", context.builds().get(0).origin(), "--no-cache builds from source");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"lwjgl"})
    void twoProcessesWritingTheCacheAtOnceLeaveAnIntactFile(String binding, @TempDir Path work) throws Exception {
        Path binaryFile = work.resolve("binary.bin");
        Files.write(binaryFile, ProgramCacheWriter.buildBinary(ClRuntime.get(binding), OpenClTestSupport.device(binding)));
        List<Process> writers = List.of(ProgramCacheWriter.start(cacheDir, binding, binaryFile),
                ProgramCacheWriter.start(cacheDir, binding, binaryFile));
        for (Process writer : writers) {
            String output = new String(writer.getInputStream().readAllBytes());
            assertEquals(0, writer.waitFor(), "writer process failed:\n" + output);
        }
        try (Stream<Path> files = Files.list(cacheDir)) {
            List<String> names = files.map(p -> p.getFileName().toString()).toList();
            assertEquals(1, names.size(), "one complete binary and no temporary files left: " + names);
        }
        try (ClContext context = ClRuntime.get(binding).createContext(OpenClTestSupport.device(binding), ProgramCache.at(cacheDir))) {
            assertArrayEquals(new float[] {14f}, toArray(run(context, SCALE, ProgramCacheWriter.OPTIONS, 2f)));
            assertEquals("disk cache", context.builds().get(0).origin());
        }
    }

    static List<Float> run(ClContext context, KernelSource source, String options, float... values) {
        try (ClBuffer buffer = context.createBuffer(values, "x [" + values.length + "]");
             ClKernel kernel = context.program(source, options).kernel("scale")) {
            kernel.arg(0, buffer);
            context.queue().launch(kernel, new long[] {values.length}, null);
            float[] result = new float[values.length];
            context.queue().read(buffer, result);
            Float[] boxed = new Float[values.length];
            for (int i = 0; i < values.length; i++) {
                boxed[i] = result[i];
            }
            return List.of(boxed);
        }
    }

    private static float[] toArray(List<Float> values) {
        float[] array = new float[values.size()];
        for (int i = 0; i < array.length; i++) {
            array[i] = values.get(i);
        }
        return array;
    }
}
