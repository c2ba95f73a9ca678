package gpuinfer.cli;

import gpuinfer.InputException;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.OpenClUnavailableException;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.util.List;

/**
 * {@code --impl auto|opencl|cpu} of the commands that run a model, and what auto does without OpenCL: the Java CPU
 * reference, with a loud warning (a picocli mixin; run, chat and viz share it).
 */
final class ModelImplOption {
    static final List<String> NAMES = List.of("auto", "opencl", "cpu");

    @Option(names = "--impl", defaultValue = "auto", paramLabel = "NAME",
            description = "auto (OpenCL if available, else the CPU reference with a warning), opencl, or cpu (the Java "
                    + "CPU reference, double accumulation) (default: ${DEFAULT-VALUE}).")
    String impl;

    /** Checks the value; call before any work. */
    String checked() {
        if (!NAMES.contains(impl)) {
            throw new InputException("Unknown --impl '" + impl + "': use auto, opencl or cpu.");
        }
        return impl;
    }

    /**
     * The OpenCL context to run on, or null for the CPU reference: --impl cpu, or auto where OpenCL is unavailable
     * (then warned about; {@code what} says what runs on the CPU, e.g. "running the model").
     */
    ClContext openOrFallBack(OpenClOptions opencl, PrintWriter err, String what) {
        if (checked().equals("cpu")) {
            return null;
        }
        try {
            return opencl.openContext(opencl.selectDevice());
        } catch (OpenClUnavailableException e) {
            if (impl.equals("opencl")) {
                throw e;
            }
            warnFallback(err, e, what);
            return null;
        }
    }

    /** The warning when --impl auto finds no OpenCL. */
    static void warnFallback(PrintWriter err, OpenClUnavailableException e, String what) {
        err.println("WARNING: " + e.getMessage().replace("\n", "\nWARNING: "));
        err.println("WARNING: " + what + " on the Java CPU reference (--impl cpu): slow, but the same results.");
        err.flush();
    }
}
