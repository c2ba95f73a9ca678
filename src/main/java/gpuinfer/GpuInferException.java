package gpuinfer;

/**
 * Base of every error gpu-infer raises on purpose. The message names the problem and, where there is one, the fix;
 * the command line prints it without a stack trace.
 */
public class GpuInferException extends RuntimeException {
    public GpuInferException(String message) {
        super(message);
    }

    public GpuInferException(String message, Throwable cause) {
        super(message, cause);
    }
}
