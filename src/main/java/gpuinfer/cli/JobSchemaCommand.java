package gpuinfer.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code gpu-infer job schema}: the JSON Schema of job files, made from the commands' options. */
@Command(name = "schema", mixinStandardHelpOptions = true,
        description = {"Print the JSON Schema (draft 2020-12) of job files, made from the commands' own options (the",
                "repository's docs/job.schema.json is this output; a test keeps them equal).", ""})
final class JobSchemaCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--out", paramLabel = "FILE", description = "Write it to FILE instead of stdout.")
    Path out;

    @Option(names = "--markdown", description = "The options of every command as Markdown tables instead "
            + "(the repository's docs/options.md).")
    boolean markdown;

    @Override
    public Integer call() throws IOException {
        String text = markdown ? JobFiles.optionTables(Main.commandLine()) : JobFiles.write(JobFiles.schema(Main.commandLine()));
        if (out == null) {
            spec.commandLine().getOut().print(text);
            spec.commandLine().getOut().flush();
        } else {
            gpuinfer.util.AtomicFiles.write(out, o -> o.write(text.getBytes(StandardCharsets.UTF_8)));
        }
        return ExitCodes.OK;
    }
}
