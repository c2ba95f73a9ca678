package gpuinfer.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every gpu-infer command line that README.md shows (in code blocks, and in inline code that starts with
 * {@code gpu-infer <command>}) names only options its command has: the README cannot drift from the option classes.
 * Placeholders (N, FILE) and partial lines are fine; an option the command does not know is not.
 */
class ReadmeCommandLinesTest {
    private static final Pattern INLINE = Pattern.compile("`(?:bin/)?gpu-infer ([^`]+)`");

    @Test
    void everyCommandLineInTheReadmeUsesOptionsItsCommandHas() throws IOException {
        List<String> lines = Files.readAllLines(Path.of("README.md"));
        List<String> wrong = new ArrayList<>();
        int checked = 0;
        boolean inCode = false;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.startsWith("```")) {
                inCode = !inCode;
                continue;
            }
            List<String> candidates = new ArrayList<>();
            if (inCode) {
                int at = line.indexOf("bin/gpu-infer ");
                if (at >= 0) {
                    candidates.add(line.substring(at + "bin/gpu-infer ".length()));
                }
            } else {
                Matcher m = INLINE.matcher(line);
                while (m.find()) {
                    candidates.add(m.group(1));
                }
            }
            for (String candidate : candidates) {
                String[] args = words(candidate.split(" \\| | > | 2>| && | #")[0]);
                if (args.length == 0 || !isCommand(args[0])) {
                    continue;
                }
                checked++;
                try {
                    Main.commandLine(args).parseArgs(args);
                } catch (CommandLine.UnmatchedArgumentException e) {
                    wrong.add("README.md:" + (i + 1) + ": gpu-infer " + candidate + "\n    " + e.getMessage());
                } catch (CommandLine.ParameterException e) {
                    // a placeholder value (N, FILE) or a partial command line: the option names are what is checked
                }
            }
        }
        assertTrue(checked > 60, checked + " command lines checked");
        assertTrue(wrong.isEmpty(), "README command lines with options their command does not have:\n"
                + String.join("\n", wrong));
    }

    private static final java.util.Set<String> COMMANDS = Main.commandLine().getSubcommands().keySet();

    private static boolean isCommand(String name) {
        return COMMANDS.contains(name) && !name.equals("help");
    }

    /** Shell-like words: quotes group, and are removed. */
    private static String[] words(String text) {
        List<String> words = new ArrayList<>();
        Matcher m = Pattern.compile("\"([^\"]*)\"|'([^']*)'|(\\S+)").matcher(text);
        while (m.find()) {
            // a usage synopsis marks optional parts with brackets: [--positions P]
            words.add(m.group(1) != null ? m.group(1) : m.group(2) != null ? m.group(2)
                    : m.group(3).replaceAll("^\\[|]$", ""));
        }
        return words.toArray(String[]::new);
    }
}
