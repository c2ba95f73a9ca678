package gpuinfer.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code gpu-infer job check}: validates job files without running them. */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = {"Check job files without running them: each problem is printed as FILE:LINE:COLUMN: field:",
                "what was expected and what was found (unknown fields, wrong types, missing required fields, values",
                "the command rejects). Exit status 0 when every file is valid, 2 otherwise.", ""})
final class JobCheckCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "JOB.json", arity = "1..*", description = "Job files to check.")
    List<Path> files;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        int status = ExitCodes.OK;
        for (Path file : files) {
            List<JobFiles.Problem> problems = new ArrayList<>();
            JobFiles.Job job = JobRunCommand.read(file, problems);
            if (job == null) {
                for (JobFiles.Problem p : problems) {
                    err.println(file + ":" + p);
                }
                status = ExitCodes.USAGE;
            } else {
                out.println(file + ": a valid " + job.kind() + " job: gpu-infer " + String.join(" ", job.arguments()
                        .stream().map(JobCheckCommand::quoted).toList()));
            }
        }
        out.flush();
        err.flush();
        return status;
    }

    /** An argument as a shell would need it. */
    static String quoted(String arg) {
        return arg.matches("[A-Za-z0-9_./:=,+@%-]+") ? arg : "'" + arg.replace("'", "'\\''") + "'";
    }
}
