package gpuinfer.cli;

import picocli.CommandLine.Option;

/**
 * {@code --a EXEC} and {@code --b EXEC}: the two executions a {@code compare} command runs side by side (a picocli
 * mixin; one description of each option). The defaults come in two fixed kinds, one nested class each, because what
 * is worth comparing by default differs: a model's CPU reference against the default device ({@link ForModel}), and
 * attention's CPU reference against the flash kernel ({@link ForAttention}).
 *
 * <p>How a command uses it: {@code @Mixin ExecutionOptions.ForModel executions;} then
 * {@code Execution.parse(executions.a(), "opencl")} and the same for {@code b()}.
 */
public abstract class ExecutionOptions {
    static final String A = "Execution a: cpu (the Java reference), or comma-separated device=SPEC, binding=NAME, "
            + "impl=flash|naive (attention), weights=FORMAT (a model) (default: ${DEFAULT-VALUE}).";
    static final String B = "Execution b, in the same form (default: ${DEFAULT-VALUE}).";

    abstract String a();

    abstract String b();

    /** A model: the CPU reference against the default OpenCL device. */
    public static final class ForModel extends ExecutionOptions {
        @Option(names = "--a", defaultValue = "cpu", paramLabel = "EXEC", description = A)
        String a;

        @Option(names = "--b", defaultValue = "device=auto", paramLabel = "EXEC", description = B)
        String b;

        @Override
        String a() {
            return a;
        }

        @Override
        String b() {
            return b;
        }
    }

    /** Attention: the CPU reference against the flash kernel on the default OpenCL device. */
    public static final class ForAttention extends ExecutionOptions {
        @Option(names = "--a", defaultValue = "cpu", paramLabel = "EXEC", description = A)
        String a;

        @Option(names = "--b", defaultValue = "impl=flash", paramLabel = "EXEC", description = B)
        String b;

        @Override
        String a() {
            return a;
        }

        @Override
        String b() {
            return b;
        }
    }
}
