package gpuinfer;

/** Bad usage or bad input (a malformed file, a shape that does not fit, an unknown device): exit status 2. */
public class InputException extends GpuInferException {
    public InputException(String message) {
        super(message);
    }

    public InputException(String message, Throwable cause) {
        super(message, cause);
    }
}
