package gpuinfer.cli;

import gpuinfer.InputException;
import gpuinfer.util.AtomicFiles;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * {@code --json} and {@code --json-out FILE}: a command's result as JSON, on standard output instead of the text, and
 * (or) in a file beside the text. The one declaration of both options (a picocli mixin).
 *
 * <p>How a command uses it:
 * <pre>
 *   &#64;Mixin JsonOutputOptions json;
 *   ...
 *   if (!json.replacesText()) { print the text on out }
 *   json.emit(out, resultAsMapsAndLists);   // prints it under --json, writes --json-out FILE, else nothing
 * </pre>
 * Progress and notes that would spoil the JSON on standard output go to standard error under {@code --json}.
 */
public final class JsonOutputOptions {
    @Option(names = "--json", description = "Print the result as JSON on standard output instead of text.")
    boolean json;

    @Option(names = "--json-out", paramLabel = "FILE",
            description = "Also write the result as JSON to FILE (written whole or not at all).")
    Path jsonOut;

    /** True under {@code --json}: standard output carries the JSON alone, so the command prints no text there. */
    boolean replacesText() {
        return json;
    }

    /** True when the command needs to build its JSON: {@code --json} or {@code --json-out}. */
    boolean wanted() {
        return json || jsonOut != null;
    }

    /**
     * The result as JSON: printed on {@code out} under {@code --json}, written to {@code --json-out FILE} when given
     * (then, in text mode, a line on {@code out} names the file). Does nothing when neither was asked for.
     */
    void emit(PrintWriter out, Object result) {
        if (!wanted()) {
            return;
        }
        String text = Json.write(result);
        if (json) {
            out.println(text);
            out.flush();
        }
        if (jsonOut != null) {
            try {
                AtomicFiles.write(jsonOut, o -> o.write((text + "\n").getBytes(StandardCharsets.UTF_8)));
            } catch (IOException e) {
                throw new InputException("--json-out " + jsonOut + ": cannot write the file (" + e.getMessage()
                        + "); check the folder exists and is writable.", e);
            }
            if (!json) {
                out.println("json: " + jsonOut);
                out.flush();
            }
        }
    }
}
