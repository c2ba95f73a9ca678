package gpuinfer.cl;

/** A program that failed to build: the message carries the device, the options and the full build log. */
public final class KernelBuildException extends ClException {
    private final String buildLog;

    KernelBuildException(int status, String sourceName, String deviceName, String options, String buildLog) {
        super(status, "OpenCL program '" + sourceName + "' failed to build on device '" + deviceName + "': "
                + ClErrors.name(status) + "\n  options: " + (options.isBlank() ? "(none)" : options)
                + "\n  build log:\n" + indent(buildLog));
        this.buildLog = buildLog;
    }

    public String buildLog() {
        return buildLog;
    }

    private static String indent(String log) {
        String trimmed = log == null ? "" : log.strip();
        if (trimmed.isEmpty()) {
            return "    (the driver returned an empty build log)";
        }
        return "    " + trimmed.replace("\n", "\n    ");
    }
}
