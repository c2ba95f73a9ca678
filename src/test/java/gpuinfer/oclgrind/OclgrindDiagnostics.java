package gpuinfer.oclgrind;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Finds Oclgrind's diagnostics in a process's output. Oclgrind reports on stderr and lets the program go on (the
 * process still exits 0), so its output is the only sign of a fault.
 *
 * <p>The kinds, as Oclgrind 21.10 words them (its sources: plugins/MemCheck.cpp, plugins/RaceDetector.cpp,
 * plugins/Uninitialized.cpp, core/WorkGroup.cpp, core/WorkItem.cpp, core/WorkItemBuiltins.cpp, runtime/runtime.cpp):
 * each kernel diagnostic is a headline followed by an indented {@code Kernel: name} line (and {@code Entity:} or
 * {@code Work-group:}, then the source line); API errors ({@code OCLGRIND_CHECK_API=1}) are a block headed
 * {@code Oclgrind - OpenCL runtime error detected}; Oclgrind's own failures start with {@code OCLGRIND FATAL ERROR},
 * {@code Oclgrind:} or {@code [Oclgrind]}. The indented {@code Kernel:} line also catches a kind this list does not
 * name (a later Oclgrind's), with the headline above it.
 */
final class OclgrindDiagnostics {
    private OclgrindDiagnostics() {
    }

    /** Headlines of every diagnostic kind; found anywhere in a line (Java's and Oclgrind's output interleave). */
    static final List<Pattern> HEADLINES = List.of(
            // MemCheck: out-of-bounds accesses, access-qualifier violations, misaligned pointers, static arrays
            Pattern.compile("Invalid (read|write) of size \\d+ at \\w+ memory address"),
            Pattern.compile("Invalid (read from|write to) [\\w -]*buffer"),
            Pattern.compile("Invalid memory (load|store)"),
            Pattern.compile("Index \\(\\d+\\) exceeds static array size"),
            Pattern.compile("Unaligned address on "),
            // RaceDetector (OCLGRIND_DATA_RACES=1): "Read-write data race at global memory address 0x..."
            Pattern.compile("data race", Pattern.CASE_INSENSITIVE),
            // Uninitialized (OCLGRIND_UNINITIALIZED=1): "Uninitialized value written to ...", "... address used to ..."
            Pattern.compile("uninitiali[sz]ed (value|address|index)", Pattern.CASE_INSENSITIVE),
            Pattern.compile("Controlflow depends on uninitiali[sz]ed"),
            // Work-group semantics: barriers and async copies not reached by every work-item
            Pattern.compile("Work-group divergence detected"),
            Pattern.compile("Work-item finished without waiting for events"),
            Pattern.compile("Invalid wait event"),
            // OCLGRIND_CHECK_API=1: an OpenCL call that returned an error
            Pattern.compile("Oclgrind - OpenCL runtime error detected"),
            // Oclgrind failing itself (an instruction it cannot simulate, an unusable setting, too many errors)
            Pattern.compile("OCLGRIND FATAL ERROR"),
            Pattern.compile("Oclgrind: "),
            Pattern.compile("\\[Oclgrind\\]"),
            Pattern.compile("Loading Oclgrind plugin failed"));

    /** The second line of every kernel diagnostic, whatever its kind: {@code "\tKernel: linear_rows"}. */
    private static final Pattern KERNEL_LINE = Pattern.compile("^\\s+Kernel:\\s*\\S");

    /**
     * The lines of {@code output} that are, or belong to, an Oclgrind diagnostic, in order, each with its line number
     * ("12: Invalid write of size 4 at global memory address 0x1000000000010"); empty when there is none. For an
     * indented {@code Kernel:} line the headline above it is included, so each diagnostic names its kind and kernel.
     */
    static List<String> find(List<String> output) {
        boolean[] flagged = new boolean[output.size()];
        for (int i = 0; i < output.size(); i++) {
            String line = output.get(i);
            if (HEADLINES.stream().anyMatch(p -> p.matcher(line).find())) {
                flagged[i] = true;
            }
            if (KERNEL_LINE.matcher(line).find()) {
                flagged[i] = true;
                if (i > 0) {
                    flagged[i - 1] = true;
                }
            }
        }
        List<String> found = new ArrayList<>();
        for (int i = 0; i < output.size(); i++) {
            if (flagged[i]) {
                found.add((i + 1) + ": " + output.get(i));
            }
        }
        return found;
    }
}
