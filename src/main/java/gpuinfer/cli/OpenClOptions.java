package gpuinfer.cli;

import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClDevice;
import gpuinfer.cl.ClRuntime;
import gpuinfer.cl.ProgramCache;
import picocli.CommandLine.Option;

/** The options every command that runs OpenCL shares. */
public final class OpenClOptions {
    @Option(names = "--binding", defaultValue = ClRuntime.DEFAULT_BINDING, paramLabel = "NAME",
            description = "Java OpenCL binding: lwjgl or jocl (default: ${DEFAULT-VALUE}).")
    String binding;

    @Option(names = "--device", defaultValue = "auto", paramLabel = "SPEC",
            description = "auto (first GPU, else first device), an index P:D, a type (gpu, cpu, accelerator) or part "
                    + "of the device name (default: ${DEFAULT-VALUE}). 'gpu-infer devices' lists them.")
    String device;

    @Option(names = "--no-cache", description = "Build OpenCL programs from source; neither read nor write the "
            + "on-disk program cache.")
    boolean noCache;

    ClRuntime runtime() {
        return ClRuntime.get(binding);
    }

    ClDevice selectDevice() {
        return runtime().select(device);
    }

    ClContext openContext(ClDevice selected) {
        return runtime().createContext(selected, noCache ? ProgramCache.disabled() : ProgramCache.defaultCache());
    }
}
