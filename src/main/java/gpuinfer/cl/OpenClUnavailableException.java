package gpuinfer.cl;

import gpuinfer.GpuInferException;

/** No usable OpenCL: the library is missing, or it reports no platform. The message says how to install one. */
public final class OpenClUnavailableException extends GpuInferException {
    public static final String INSTALL_HINT = "Install an OpenCL runtime: your GPU vendor's driver (AMD ROCm/Adrenalin, "
            + "Intel compute-runtime, NVIDIA driver), or on Debian/Ubuntu the CPU runtime PoCL: "
            + "sudo apt-get install pocl-opencl-icd ocl-icd-libopencl1";

    public OpenClUnavailableException(String problem) {
        super(problem + "\n" + INSTALL_HINT);
    }

    public OpenClUnavailableException(String problem, Throwable cause) {
        super(problem + "\n" + INSTALL_HINT, cause);
    }
}
