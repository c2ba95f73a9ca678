package gpuinfer.cli;

import gpuinfer.InputException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code gpu-infer job run}: runs a job file as the command line it stands for. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Run a job file: it is checked first (as 'gpu-infer job check' does; nothing runs when it has a",
                "problem), then run exactly as its command line, which is printed to stderr. Paths in a job are",
                "relative to the current folder, as on the command line. The exit status is the command's.", ""})
final class JobRunCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "JOB.json", description = "The job file.")
    Path file;

    @Override
    public Integer call() throws IOException {
        List<JobFiles.Problem> problems = new ArrayList<>();
        JobFiles.Job job = read(file, problems);
        if (job == null) {
            throw new InputException(file + " is not a valid job, nothing was run:\n" + String.join("\n",
                    problems.stream().map(p -> "  " + file + ":" + p).toList()));
        }
        var err = spec.commandLine().getErr();
        err.println("job " + file + ": gpu-infer " + String.join(" ", job.arguments().stream()
                .map(JobCheckCommand::quoted).toList()));
        err.flush();
        return Main.execute(spec.commandLine().getOut(), err, job.arguments().toArray(String[]::new));
    }

    /** Reads and checks a job file; null with the problems when it is not a valid job. */
    static JobFiles.Job read(Path file, List<JobFiles.Problem> problems) throws IOException {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new InputException(file + ": no such file.");
        } catch (java.nio.charset.MalformedInputException e) {
            throw new InputException(file + ": not UTF-8 text; a job file is JSON in UTF-8.");
        }
        return JobFiles.check(text, Main.commandLine(), problems);
    }
}
