package gpuinfer.oclgrind;

import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClException;
import gpuinfer.cl.ClKernel;
import gpuinfer.cl.ClRuntime;
import gpuinfer.cl.KernelSource;
import gpuinfer.cl.LiveObjects;
import gpuinfer.cl.ProgramCache;

/**
 * Three faults that Oclgrind must report, each of a kind the Oclgrind checks rely on: a write one past the end of a
 * buffer (MemCheck), a write-write data race inside a work-group (the race detector, on only with
 * OCLGRIND_DATA_RACES=1) and an OpenCL call that fails (printed only with OCLGRIND_CHECK_API=1). Runs in a child JVM
 * under Oclgrind ({@link OclgrindChecks#PLANTED_FAULTS}); OclgrindCheckTest asserts that the diagnostic matcher finds
 * all three in its output. Exits 0 when it planted all three (the kernels ran and the API call failed as it must).
 */
final class PlantedFaults {
    private PlantedFaults() {
    }

    /** Four floats, and a kernel run over five work-items: the fifth writes one float past the end. */
    static final int FLOATS = 4;

    static final KernelSource SOURCE = KernelSource.of("planted_faults.cl", """
            // out [n]: every work-item writes its own element, with no bounds check: launched over n + 1 items,
            // the last writes one past the end.
            __kernel void write_past_end(__global float* out) {
                out[get_global_id(0)] = 1.0f;
            }

            // out [1]: every work-item of the group writes element 0, a different value each: a write-write race.
            __kernel void same_element(__global float* out) {
                out[0] = (float) get_global_id(0);
            }
            """);

    static int run() {
        ClRuntime runtime = ClRuntime.get(ClRuntime.DEFAULT_BINDING);
        try (ClContext context = runtime.createContext(runtime.select("auto"), ProgramCache.disabled());
             ClBuffer out = context.createBuffer(4L * FLOATS, "out [4]");
             ClKernel pastEnd = context.program(SOURCE, "").kernel("write_past_end");
             ClKernel race = context.program(SOURCE, "").kernel("same_element")) {
            float[] read = new float[FLOATS];
            context.queue().zero(out);
            pastEnd.arg(0, out);
            context.queue().launch(pastEnd, new long[] {FLOATS + 1}, new long[] {1});
            context.queue().read(out, read);
            System.out.println("planted: write_past_end over " + (FLOATS + 1) + " items on a buffer of " + FLOATS);

            race.arg(0, out);
            context.queue().launch(race, new long[] {FLOATS}, new long[] {FLOATS});
            context.queue().read(out, read);
            System.out.println("planted: same_element, " + FLOATS + " work-items of one group writing out[0]");

            try {
                race.arg(7, 0); // same_element has one argument
                System.out.println("NOT planted: setting argument 7 of a one-argument kernel succeeded");
                return 1;
            } catch (ClException expected) {
                System.out.println("planted: setting argument 7 of a one-argument kernel failed: " + expected.getMessage());
            }
        }
        if (LiveObjects.count() != 0) {
            System.out.println("leaked OpenCL objects: " + LiveObjects.describe());
            return 1;
        }
        return 0;
    }
}
