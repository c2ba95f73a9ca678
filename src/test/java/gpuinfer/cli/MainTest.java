package gpuinfer.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MainTest {
    private static final List<String> ALL = List.of("run", "chat", "devices", "attention", "tokenize", "convert", "compare", "viz", "profile",
            "tune", "selftest", "bench", "job", "help");

    @Test
    void aNamedSubcommandIsTheOnlyOneRegistered() {
        assertEquals(List.of("run"), List.copyOf(Main.commandLine("run", "--prompt", "x").getSubcommands().keySet()));
        CommandLine compare = Main.commandLine("compare", "--a", "device=auto").getSubcommands().get("compare");
        assertEquals(List.of("attention"), List.copyOf(compare.getSubcommands().keySet()));
    }

    @Test
    void everythingElseRegistersEverySubcommandInUsageOrder() {
        for (String[] args : List.of(new String[0], new String[] {"help", "run"}, new String[] {"--version"},
                new String[] {"runn"}, new String[] {"@args.txt"})) {
            assertEquals(ALL, List.copyOf(Main.commandLine(args).getSubcommands().keySet()), String.join(" ", args));
        }
    }

    @Test
    void theUsageListsEveryCommandAndAMisspeltOneIsAnswered() {
        CliRunner usage = CliRunner.run();
        for (String command : ALL) {
            assertTrue(usage.out().contains("  " + command + " "), command + " missing:\n" + usage);
        }
        CliRunner help = CliRunner.run("help", "convert");
        assertEquals(0, help.status(), help::toString);
        assertTrue(help.out().contains("--type"), help::toString);
        CliRunner misspelt = CliRunner.run("runn");
        assertEquals(2, misspelt.status(), misspelt::toString);
        assertTrue(misspelt.err().contains("Did you mean") && misspelt.err().contains("run"), misspelt::toString);
    }
}
