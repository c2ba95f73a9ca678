package gpuinfer.cli;

import gpuinfer.GpuInferException;
import gpuinfer.InputException;
import gpuinfer.check.NonFiniteException;
import gpuinfer.cl.LiveObjects;
import gpuinfer.util.Interruption;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** The {@code gpu-infer} command line. */
@Command(name = "gpu-infer", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"Transformer attention and GPT-style models on any OpenCL device, checked against a CPU reference.",
                "",
                "Examples:",
                "  gpu-infer run --prompt \"The meaning of life is\" --max-tokens 40",
                "  gpu-infer chat --model tinyllama.Q8_0.gguf",
                "  gpu-infer devices",
                "  gpu-infer attention --shape 2,8,2,77,300,64 --causal --check",
                "  gpu-infer attention --q q.npy --k k.npy --v v.npy --out o.npy --device gpu",
                "  gpu-infer tokenize --model models/gpt2-brown \"Hello world\"",
                "  gpu-infer convert --model models/gpt2-brown --type q8_0 --out brown.Q8_0.gguf",
                ""},
        footer = {"", "Exit status: 0 success, 1 a --check mismatch, 2 bad usage or input, 3 OpenCL/device failure, "
                + "70 internal error, 130 interrupted."})
public final class Main implements Runnable {
    /** The subcommands, in the order the usage lists them. */
    private static final List<Class<?>> COMMANDS = List.of(RunCommand.class, ChatCommand.class, DevicesCommand.class, AttentionCommand.class,
            TokenizeCommand.class, ConvertCommand.class, CompareCommand.class, VizCommand.class, ProfileCommand.class, TuneCommand.class,
            SelftestCommand.class, BenchCommand.class, JobCommand.class, CommandLine.HelpCommand.class);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        // Generated text is UTF-8 whatever the platform's default charset (Java 17 would print '?' under LANG=C).
        PrintWriter out = new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), true);
        PrintWriter err = new PrintWriter(new OutputStreamWriter(System.err, StandardCharsets.UTF_8), true);
        Thread main = Thread.currentThread();
        java.util.concurrent.atomic.AtomicBoolean finished = new java.util.concurrent.atomic.AtomicBoolean();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (finished.get() || !main.isAlive()) {
                return; // a normal exit
            }
            // Ctrl-C or kill: let the command unwind at its next launch (its try-with-resources release every
            // OpenCL object), then say what was left. A command stuck inside one long kernel gets 10 seconds.
            Interruption.request();
            try {
                main.join(10_000);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
            int live = LiveObjects.count();
            err.println(live == 0 ? "gpu-infer: interrupted; every OpenCL object was released and no partial output was left"
                    : "gpu-infer: interrupted; " + live + " OpenCL objects were still in use (the driver frees them with the process)");
            err.flush();
        }, "gpu-infer interruption"));
        int status = execute(out, err, args);
        if (!Interruption.requested()) {
            finished.set(true);
            System.exit(status);
        }
    }

    /** Runs one command line with the given streams and returns its exit status (tests call this in-process). */
    public static int execute(PrintWriter out, PrintWriter err, String... args) {
        CommandLine commandLine = commandLine(args);
        commandLine.setOut(out);
        commandLine.setErr(err);
        commandLine.setExecutionExceptionHandler((exception, cmd, parseResult) -> {
            PrintWriter e = cmd.getErr();
            if (exception instanceof Interruption.Interrupted) {
                return ExitCodes.INTERRUPTED;
            }
            if (exception instanceof NonFiniteException) {
                e.println("error: " + exception.getMessage());
                e.flush();
                return ExitCodes.MISMATCH;
            }
            if (exception instanceof InputException) {
                e.println("error: " + exception.getMessage());
                e.flush();
                return ExitCodes.USAGE;
            }
            if (exception instanceof GpuInferException) {
                e.println("error: " + exception.getMessage());
                e.flush();
                return ExitCodes.DEVICE_FAILURE;
            }
            e.println("internal error (please report it with the command line that caused it):");
            exception.printStackTrace(e);
            e.flush();
            return ExitCodes.INTERNAL_ERROR;
        });
        int status = commandLine.execute(args);
        out.flush();
        err.flush();
        return status;
    }

    /**
     * The command line for these arguments. Picocli reads a command's annotations (and its subcommands') when the
     * command is registered, which in a cold JVM costs a tenth of a second for all of them before any command can
     * start; so a command line that begins with a subcommand's name registers just that one. Anything else (no
     * arguments, {@code help}, {@code --version}, a misspelt name, an {@code @file}) registers them all, for the
     * usage, the help and picocli's suggestions.
     */
    static CommandLine commandLine(String... args) {
        CommandLine commandLine = new CommandLine(new Main());
        String first = args.length > 0 ? args[0] : "";
        List<Class<?>> named = COMMANDS.stream()
                .filter(c -> c != CommandLine.HelpCommand.class && c.getAnnotation(Command.class).name().equals(first))
                .toList();
        for (Class<?> command : named.isEmpty() ? COMMANDS : named) {
            commandLine.addSubcommand(command);
        }
        return commandLine;
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = Main.class.getPackage().getImplementationVersion();
            return new String[] {"gpu-infer " + (version != null ? version : "(development build)"),
                    "Java " + System.getProperty("java.version") + " (" + System.getProperty("java.vendor") + ")"};
        }
    }
}
