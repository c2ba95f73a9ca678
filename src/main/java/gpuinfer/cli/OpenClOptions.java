package gpuinfer.cli;

import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClDevice;
import gpuinfer.cl.ClRuntime;
import gpuinfer.cl.ProgramCache;
import gpuinfer.selftest.DeviceSetup;
import gpuinfer.variants.KernelSettings;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The options every command that runs OpenCL shares: --binding ({@link BindingOption}), --device, --kernels,
 * --no-cache. A command takes {@code @Mixin OpenClOptions opencl;} and opens its context with
 * {@code opencl.openContext(opencl.selectDevice())}.
 */
public final class OpenClOptions {
    @Mixin
    BindingOption binding;

    @Option(names = "--device", defaultValue = "auto", paramLabel = "SPEC",
            description = "auto (first GPU, else first device), an index P:D, a type (gpu, cpu, accelerator) or part "
                    + "of the device name (default: ${DEFAULT-VALUE}). 'gpu-infer devices' lists them.")
    String device;

    @Option(names = "--kernels", defaultValue = "${env:GPU_INFER_KERNELS:-auto}", paramLabel = "FAMILY",
            description = "Kernel variants to prefer: auto (GPU-shaped on GPUs, CPU-shaped elsewhere), gpu or cpu "
                    + "(default: ${DEFAULT-VALUE}; environment GPU_INFER_KERNELS).")
    String kernels;

    @Option(names = "--no-cache", description = "Build OpenCL programs from source; neither read nor write the "
            + "on-disk program cache.")
    boolean noCache;

    ClRuntime runtime() {
        return binding.runtime();
    }

    ClDevice selectDevice() {
        return runtime().select(device);
    }

    /** The settings the ops on this context are built with: tuning, self-test results, the chosen family. */
    KernelSettings settings(ClContext context) {
        return DeviceSetup.settings(context, KernelSettings.Family.parse(kernels));
    }

    ClContext openContext(ClDevice selected) {
        return runtime().createContext(selected, noCache ? ProgramCache.disabled() : ProgramCache.defaultCache());
    }
}
