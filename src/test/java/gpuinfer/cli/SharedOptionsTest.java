package gpuinfer.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An option name means one thing on every command: where two commands take an option of the same name, both take it
 * from one shared option class (ModelOptions, OpenClOptions, JsonOutputOptions, RepeatOptions, ...), so its type and
 * description are the same everywhere and cannot drift apart again.
 */
class SharedOptionsTest {
    /**
     * Names whose meaning is each command's own, declared by each command with its own description: a file or
     * folder the command writes, what its seed makes random, the length and default of its generation.
     */
    private static final Map<String, String> PER_COMMAND = Map.of(
            "--out", "convert's GGUF file, job schema's output file, viz's folder",
            "--seed", "the sampler's seed (run, chat) or the tuner's candidate sampling (tune)",
            "--prompt", "each command's own default prompt (viz's shows attention patterns)",
            "--max-tokens", "each command's own length: a chat reply, a compared generation, a profiled one",
            "--impl", "what runs: a model's backend (auto, opencl, cpu) or attention's algorithm (auto, cpu, naive, flash)",
            "--shape", "attention's random inputs, profile attention's sweep base",
            "--heads", "viz's heads to draw, bench attention's head count",
            "--head-dim", "bench attention's D, tune's head size to tune",
            "--anchor", "each benchmark's own anchor script's JSON (attention, GPT-2)",
            "--prompt-tokens", "each benchmark's prompt length, its default fitting what it measures");

    /** One option of one command, and the field that declares it (null for the options Main adds itself). */
    private record Use(String command, OptionSpec option, Field field) {
        /** The top-level class: RepeatOptions.Single and RepeatOptions.Measured are one declaration. */
        Class<?> declaringFile() {
            if (field == null) {
                return Main.class;
            }
            Class<?> c = field.getDeclaringClass();
            while (c.getEnclosingClass() != null) {
                c = c.getEnclosingClass();
            }
            return c;
        }

        String declaredIn() {
            return declaringFile().getSimpleName();
        }

        /**
         * The description as written, before picocli fills in ${DEFAULT-VALUE}: the defaults of one declaration may
         * differ by kind (RepeatOptions.Single and Measured).
         */
        List<String> description() {
            return List.of(field != null ? field.getAnnotation(CommandLine.Option.class).description()
                    : option.description());
        }

        boolean checked() {
            return true;
        }
    }

    private static Map<String, List<Use>> usesByName() {
        Map<String, List<Use>> byName = new TreeMap<>();
        walk(Main.commandLine(), byName);
        return byName;
    }

    private static void walk(CommandLine command, Map<String, List<Use>> byName) {
        for (OptionSpec option : command.getCommandSpec().options()) {
            if (option.usageHelp() || option.versionHelp()) {
                continue; // picocli's own -h and -V
            }
            Object element = option.userObject();
            Field field = element instanceof Field f ? f : null;
            byName.computeIfAbsent(option.longestName(), n -> new ArrayList<>())
                    .add(new Use(command.getCommandSpec().qualifiedName(), option, field));
        }
        for (CommandLine sub : command.getSubcommands().values()) {
            walk(sub, byName);
        }
    }

    @Test
    void theWalkSeesEveryCommandAndTheirMixins() {
        Map<String, List<Use>> byName = usesByName();
        // mixins show up under the class that declares them, not the command
        assertEquals("BindingOption", byName.get("--binding").stream()
                .filter(u -> u.command().equals("gpu-infer devices")).findFirst().orElseThrow().declaredIn());
        assertEquals("ModelPathOption", byName.get("--model").stream()
                .filter(u -> u.command().equals("gpu-infer compare")).findFirst().orElseThrow().declaredIn());
        assertTrue(byName.get("--save-job").size() > 10, "every command a job names takes --save-job");
    }

    @Test
    void anOptionNameTakenByTwoCommandsComesFromOneSharedDeclaration() {
        List<String> problems = new ArrayList<>();
        usesByName().forEach((name, uses) -> {
            List<Use> checked = uses.stream().filter(Use::checked).toList();
            if (checked.size() < 2 || PER_COMMAND.containsKey(name)) {
                return;
            }
            List<String> declarations = checked.stream().map(Use::declaredIn).distinct().toList();
            if (declarations.size() > 1) {
                problems.add(name + " is declared in " + declarations + " (" + checked.stream().map(Use::command).toList()
                        + "): move it into one shared option class and use that as a @Mixin");
            }
        });
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    @Test
    void anOptionNameHasOneTypeAndDescriptionEverywhere() {
        List<String> problems = new ArrayList<>();
        usesByName().forEach((name, uses) -> {
            List<Use> checked = uses.stream().filter(Use::checked).toList();
            if (PER_COMMAND.containsKey(name)) {
                return;
            }
            for (Use use : checked) {
                Use first = checked.get(0);
                if (!use.option().type().equals(first.option().type())) {
                    problems.add(name + ": " + use.option().type().getSimpleName() + " in " + use.command() + " but "
                            + first.option().type().getSimpleName() + " in " + first.command());
                }
                if (!use.description().equals(first.description())) {
                    problems.add(name + ": described differently in " + use.command() + " and " + first.command());
                }
            }
        });
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    @Test
    void repeatAndWarmupAreCheckedBeforeAnyWorkAndTheirHelpShowsTheKindsDefaults() {
        for (String[] args : List.of(new String[] {"tune", "--warmup", "-1"}, new String[] {"profile", "run", "--repeat", "0"})) {
            CliRunner r = CliRunner.run(args);
            assertEquals(ExitCodes.USAGE, r.status(), r::toString);
            assertTrue(r.err().contains("--repeat must be at least 1 and --warmup at least 0"), r::toString);
        }
        CliRunner help = CliRunner.run("tune", "--help");
        assertTrue(help.out().contains("medians are reported (default: 5)")
                && help.out().contains("driver's compilation (default: 1)"), help::toString);
    }

    @Test
    void theCommandsWithOwnDeclarationsOfAPerCommandNameStillDescribeIt() {
        // a per-command name is no excuse for help without a description
        usesByName().forEach((name, uses) -> {
            if (PER_COMMAND.containsKey(name)) {
                for (Use use : uses) {
                    assertTrue(use.option().description().length > 0, name + " in " + use.command());
                }
            }
        });
    }
}
