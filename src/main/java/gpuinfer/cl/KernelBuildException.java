package gpuinfer.cl;

/** A program that failed to build: the message carries the device, the options and the full build log. */
public final class KernelBuildException extends ClException {
    private final String buildLog;

    KernelBuildException(int status, String sourceName, String deviceName, String options, String buildLog) {
        super(status, "OpenCL program '" + sourceName + "' failed to build on device '" + deviceName + "': "
                + ClErrors.name(status) + firstError(buildLog).map(e -> "\n  first error: " + e).orElse("")
                + "\n  options: " + (options.isBlank() ? "(none)" : options)
                + "\n  build log:\n" + indent(buildLog));
        this.buildLog = buildLog;
    }

    public String buildLog() {
        return buildLog;
    }

    /**
     * A diagnostic's location: {@code file:line[:column]}, with clang's {@code <Spelling=file:line:column>} when the
     * error comes from a macro. The file and line are those of {@code kernels/}, since {@link KernelSource} marks
     * every inlined header with {@code #line} directives.
     */
    private static final String WHERE = "(\\S+?:\\d+(?::\\d+)?(?: <Spelling=[^>]*>)?)";
    /** Clang's own order, {@code weights.h:36:12: error: text} (NVIDIA, AMD, Intel). */
    private static final java.util.regex.Pattern CLANG_ERROR = java.util.regex.Pattern.compile(
            "^" + WHERE + ": (?:fatal )?error: (.*)$");
    /** PoCL's, {@code error: weights.h:36:12: text}. */
    private static final java.util.regex.Pattern POCL_ERROR = java.util.regex.Pattern.compile(
            "^(?:fatal )?error: " + WHERE + ": (.*)$");

    /** The first error of the build log as {@code where: text}, e.g. {@code weights.h:36:12: use of undeclared ...}. */
    static java.util.Optional<String> firstError(String log) {
        if (log == null) {
            return java.util.Optional.empty();
        }
        for (String line : log.split("\n")) {
            for (java.util.regex.Pattern p : new java.util.regex.Pattern[] {CLANG_ERROR, POCL_ERROR}) {
                java.util.regex.Matcher m = p.matcher(line.strip());
                if (m.matches()) {
                    return java.util.Optional.of(m.group(1) + ": " + m.group(2).strip());
                }
            }
        }
        return java.util.Optional.empty();
    }

    private static String indent(String log) {
        String trimmed = log == null ? "" : log.strip();
        if (trimmed.isEmpty()) {
            return "    (the driver returned an empty build log)";
        }
        return "    " + trimmed.replace("\n", "\n    ");
    }
}
