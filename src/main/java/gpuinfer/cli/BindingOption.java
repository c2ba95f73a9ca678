package gpuinfer.cli;

import gpuinfer.cl.ClRuntime;
import picocli.CommandLine.Option;

/**
 * {@code --binding lwjgl|jocl}: the Java OpenCL binding (a picocli mixin; the one declaration of the option).
 * {@link OpenClOptions} holds it for the commands that run OpenCL; a command that only lists devices uses it alone:
 * {@code @Mixin BindingOption binding;} then {@code binding.runtime()}.
 */
public final class BindingOption {
    @Option(names = "--binding", defaultValue = ClRuntime.DEFAULT_BINDING, paramLabel = "NAME",
            description = "Java OpenCL binding: lwjgl or jocl (default: ${DEFAULT-VALUE}).")
    String binding;

    /** The OpenCL runtime of this binding. */
    ClRuntime runtime() {
        return ClRuntime.get(binding);
    }
}
