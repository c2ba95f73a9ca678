package gpuinfer.cli;

import picocli.CommandLine.Option;

/**
 * {@code --system TEXT}: a chat's system message, rendered by the model's chat template before the user's messages.
 * The one declaration of the option (a picocli mixin) for {@code chat} and {@code run --chat}.
 */
final class SystemMessageOption {
    @Option(names = "--system", paramLabel = "TEXT",
            description = "A system message before the user's messages (chat, and run with --chat), rendered by the "
                    + "model's chat template.")
    String system;
}
