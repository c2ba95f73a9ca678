package gpuinfer.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import gpuinfer.testing.NoLeaks;
import gpuinfer.testing.OpenClTestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Job files: the schema is made from the commands' options and the copy in docs/ is kept equal to it; a saved job
 * is the command line it came from; every invalid example is explained with its line, column and field; the
 * examples in examples/jobs are valid; job run runs what the command line would.
 */
@ExtendWith(NoLeaks.class)
class JobFilesTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Path INVALID = Path.of("src/test/resources/jobs/invalid");

    @TempDir
    Path dir;

    @Test
    void theSchemaInTheRepositoryIsTheOneTheOptionsMake() throws IOException {
        String generated = JobFiles.write(JobFiles.schema(Main.commandLine()));
        assertEquals(generated, Files.readString(Path.of("docs/job.schema.json")),
                "docs/job.schema.json is out of date: regenerate it with 'gpu-infer job schema --out docs/job.schema.json'");
    }

    @Test
    void theOptionTablesInTheRepositoryAreTheOnesTheOptionsMake() throws IOException {
        String generated = JobFiles.optionTables(Main.commandLine());
        assertEquals(generated, Files.readString(Path.of("docs/options.md")),
                "docs/options.md is out of date: regenerate it with 'gpu-infer job schema --markdown --out docs/options.md'");
        assertTrue(generated.contains("| `--max-tokens` | integer | `40` |"), generated);
        assertTrue(generated.contains("## `gpu-infer profile attention` (job kind `profile-attention`)"), generated);
    }

    @Test
    void everyOptionOfEveryCommandIsAFieldOfItsKindWithItsType() throws IOException {
        JsonNode schema = MAPPER.readTree(JobFiles.write(JobFiles.schema(Main.commandLine())));
        Map<String, CommandLine> kinds = JobFiles.kinds(Main.commandLine());
        for (String kind : List.of("generate", "attention", "compare", "profile-attention", "profile-run", "bench-run",
                "bench-attention")) {
            assertTrue(kinds.containsKey(kind), kind);
        }
        assertFalse(kinds.containsKey("run"), "run is the kind generate");
        assertFalse(kinds.containsKey("profile"), "a command that only lists its subcommands is no kind");
        int checked = 0;
        for (JsonNode rule : schema.get("allOf")) {
            String kind = rule.at("/if/properties/kind/const").asText();
            JsonNode properties = rule.at("/then/properties");
            CommandLine command = kinds.get(kind);
            assertNotNull(command, kind);
            for (OptionSpec option : command.getCommandSpec().options()) {
                if (option.usageHelp() || option.versionHelp() || option.longestName().equals("--save-job")) {
                    continue;
                }
                JsonNode field = properties.get(option.longestName().substring(2));
                assertNotNull(field, kind + ": " + option.longestName());
                String type = field.get("type").asText();
                Class<?> t = option.type();
                String want = option.typeInfo().isMap() ? "object" : option.typeInfo().isMultiValue() ? "array"
                        : t == boolean.class || t == Boolean.class ? "boolean"
                        : t == int.class || t == Integer.class || t == long.class || t == Long.class ? "integer"
                        : t == double.class || t == Double.class || t == float.class || t == Float.class ? "number" : "string";
                assertEquals(want, type, kind + ": " + option.longestName());
                checked++;
            }
            assertFalse(rule.at("/then/additionalProperties").asBoolean(true), kind + ": unknown fields are errors");
        }
        assertTrue(checked > 150, checked + " options");
    }

    /** Each command line, saved as a job and read back, is the same command line. */
    @ParameterizedTest
    @ValueSource(strings = {
            "run --prompt Hello --prompt 'Two words' --max-tokens 5 --temperature 0.5 --seed 3 --json --kernels cpu",
            "run --prompt-ids 1,2,3 --context-parallel 2 --ring-ranks subdevices --logits-out l.npy",
            "run --ablate 0.1 --scale-head 1.0=0.5 --check-finite --impl cpu",
            "attention --shape 1,2,2,33,33,16 --causal --ring 2 --kernel-define NB=8 --kernel-define QB=4 --check",
            "attention --q q.npy --k k.npy --v v.npy --out o.npy --lse-out l.npy --kv-lens 3,4",
            "tokenize --model models/gpt2-brown 'Hello world' again",
            "compare --a cpu --b device=auto --prompt Hi --atol 1e-4 --json-out r.json",
            "profile attention --shape 1,1,1,8,8,16 --sweep S=8,16 --repeat 2 --trace t.json",
            "bench run --prompt-tokens 8 --decode-tokens 2 --gemm-anchor none"})
    void aSavedJobIsTheCommandLineItCameFrom(String line) {
        String[] args = split(line);
        CommandLine.ParseResult parsed = Main.commandLine(args).parseArgs(args);
        String saved = JobFiles.write(JobFiles.fromCommandLine(parsed));
        List<JobFiles.Problem> problems = new ArrayList<>();
        JobFiles.Job job = JobFiles.check(saved, Main.commandLine(), problems);
        assertTrue(problems.isEmpty(), problems::toString);
        String[] again = job.arguments().toArray(String[]::new);
        assertEquals(values(parsed), values(Main.commandLine(again).parseArgs(again)), saved);
    }

    /** The leaf command's given options and positional values, by name. */
    private static Map<String, String> values(CommandLine.ParseResult parsed) {
        CommandLine.ParseResult leaf = parsed;
        while (leaf.hasSubcommand()) {
            leaf = leaf.subcommand();
        }
        Map<String, String> values = new TreeMap<>();
        values.put("command", JobFiles.commandPath(leaf.commandSpec().commandLine()));
        for (OptionSpec option : leaf.matchedOptions()) {
            Object v = option.getValue();
            values.put(option.longestName(), v != null && v.getClass().isArray() ? arrayText(v) : String.valueOf(v));
        }
        List<String> positional = new ArrayList<>();
        leaf.matchedPositionals().stream().distinct().forEach(p -> positional.add(String.valueOf((Object) p.getValue())));
        values.put("arguments", positional.toString());
        return values;
    }

    private static String arrayText(Object array) {
        List<Object> items = new ArrayList<>();
        for (int i = 0; i < java.lang.reflect.Array.getLength(array); i++) {
            items.add(java.lang.reflect.Array.get(array, i));
        }
        return items.toString();
    }

    private static String[] split(String line) {
        List<String> args = new ArrayList<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("'([^']*)'|(\\S+)").matcher(line);
        while (m.find()) {
            args.add(m.group(1) != null ? m.group(1) : m.group(2));
        }
        return args.toArray(String[]::new);
    }

    /** What job check says of each invalid example: where, which field, what was expected, what was found. */
    private static final Map<String, String> EXPLAINED = new LinkedHashMap<>();

    static {
        EXPLAINED.put("arguments-not-array.json", ":3:3: arguments: expected an array of strings, found the string \"Hello\"");
        EXPLAINED.put("array-element-type.json", ":3:21: prompt-ids[1]: expected an integer, found the string \"two\"");
        EXPLAINED.put("boolean-as-string.json", ":5:3: causal: expected a boolean (true or false), found the string \"yes\"");
        EXPLAINED.put("duplicate-field.json", ":4:3: seed: given twice; give each field once");
        EXPLAINED.put("empty.json", ":1:1: the file is empty; a job is a JSON object such as {\"kind\": \"generate\", \"prompt\": [\"Hello\"]}");
        EXPLAINED.put("exclusive-options.json", ": the command rejects it: Missing required argument(s): \"k\", \"v\"");
        EXPLAINED.put("fraction-for-integer.json", ":3:3: seed: expected an integer, found the number 1.5");
        EXPLAINED.put("missing-required.json", ":1:1: shape: missing; profile-attention jobs need it (The shape (the sweep's base).)");
        EXPLAINED.put("misspelt-kind.json", ":2:3: kind: expected one of generate, chat, devices, attention, tokenize, convert, "
                + "compare, compare-attention, viz, viz-positions, profile-attention, profile-run, tune, selftest, "
                + "bench-attention, bench-run, bench-batch, found the string \"atention\"; did you mean \"attention\"?");
        EXPLAINED.put("nested-wrong-type.json", ":4:21: kernel-define.VEC: expected a string, found an array");
        EXPLAINED.put("no-kind.json", ":1:1: kind: missing; name the command to run, one of generate, chat, devices, "
                + "attention, tokenize, convert, compare, compare-attention, viz, viz-positions, profile-attention, "
                + "profile-run, tune, selftest, bench-attention, bench-run, bench-batch");
        EXPLAINED.put("not-an-object.json", ":1:1: expected a JSON object (a job), found an array");
        EXPLAINED.put("null-value.json", ":3:3: max-tokens: expected an integer, found null; leave the field out for the default");
        EXPLAINED.put("scalar-for-array.json", ":3:3: prompt: expected an array of strings, found the string \"Hello\"");
        EXPLAINED.put("string-for-number.json", ":3:3: temperature: expected a number, found the string \"hot\"");
        EXPLAINED.put("trailing-comma.json", ":3:18: malformed JSON: Unexpected character (']' (code 93)): expected a "
                + "valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')");
        EXPLAINED.put("underscore-field.json", ":3:3: max_tokens: not a field of generate jobs; did you mean \"max-tokens\"?");
        EXPLAINED.put("unknown-field.json", ":5:3: nonsense: not a field of generate jobs; the fields are listed by "
                + "'gpu-infer job schema' (and in docs/job.schema.json)");
    }

    @Test
    void jobCheckExplainsEveryInvalidExample() throws IOException {
        List<String> files;
        try (Stream<Path> s = Files.list(INVALID)) {
            files = s.map(p -> p.getFileName().toString()).sorted().toList();
        }
        assertEquals(new ArrayList<>(new java.util.TreeSet<>(EXPLAINED.keySet())), files,
                "every invalid example needs its explanation in this test");
        for (String name : files) {
            Path file = INVALID.resolve(name);
            CliRunner r = CliRunner.run("job", "check", file.toString());
            assertEquals(2, r.status(), r::toString);
            assertEquals(file + EXPLAINED.get(name), r.err().strip(), name);
            assertTrue(r.out().isEmpty(), r::toString);
        }
    }

    @Test
    void theExampleJobsAreValid() throws IOException {
        List<String> args = new ArrayList<>(List.of("job", "check"));
        try (Stream<Path> s = Files.list(Path.of("examples/jobs"))) {
            s.filter(p -> p.toString().endsWith(".json")).sorted().forEach(p -> args.add(p.toString()));
        }
        assertTrue(args.size() >= 7, args::toString);
        CliRunner r = CliRunner.run(args.toArray(String[]::new));
        assertEquals(0, r.status(), r::toString);
        for (String kind : List.of("generate", "attention", "compare", "profile-attention", "bench-run")) {
            assertTrue(r.out().contains("a valid " + kind + " job"), kind + "\n" + r);
        }
    }

    @Test
    void aSavedJobRunsAgainAsItsCommandLineDid() throws IOException {
        OpenClTestSupport.device("lwjgl");
        Path job = dir.resolve("hello.json");
        CliRunner direct = CliRunner.run("run", "--prompt", "Hello there", "--max-tokens", "6", "--temperature", "0",
                "--save-job", job.toString());
        assertEquals(0, direct.status(), direct::toString);
        assertTrue(direct.err().contains("saved the job to " + job), direct::toString);
        JsonNode saved = MAPPER.readTree(job.toFile());
        assertEquals("generate", saved.get("kind").asText());
        assertEquals(6, saved.get("max-tokens").asInt());
        assertNull(saved.get("save-job"));
        CliRunner again = CliRunner.run("job", "run", job.toString());
        assertEquals(0, again.status(), again::toString);
        assertEquals(direct.out(), again.out());
        assertTrue(again.err().contains("job " + job + ": gpu-infer run --prompt 'Hello there' --max-tokens 6"), again::toString);

        // a job with a problem runs nothing and names the problem
        Path bad = dir.resolve("bad.json");
        Files.writeString(bad, "{\"kind\": \"generate\", \"max-tokens\": \"six\"}");
        CliRunner refused = CliRunner.run("job", "run", bad.toString());
        assertEquals(2, refused.status(), refused::toString);
        assertTrue(refused.err().contains(bad + ":1:22: max-tokens: expected an integer, found the string \"six\""), refused::toString);
        assertTrue(refused.out().isEmpty(), refused::toString);
        CliRunner missing = CliRunner.run("job", "run", dir.resolve("none.json").toString());
        assertEquals(2, missing.status(), missing::toString);
        assertTrue(missing.err().contains("no such file"), missing::toString);
        Files.writeString(dir.resolve("a-file"), "");
        CliRunner unwritable = CliRunner.run("tokenize", "--save-job", dir.resolve("a-file/j.json").toString(), "hi");
        assertEquals(2, unwritable.status(), unwritable::toString);
        assertTrue(unwritable.err().contains("--save-job") && unwritable.err().contains("cannot write"), unwritable::toString);
    }
}
