package gpuinfer.check;

import gpuinfer.GpuInferException;

/** A NaN or infinity found by --check-finite; the message gives the tensor and the element. Exit status 1. */
public final class NonFiniteException extends GpuInferException {
    public NonFiniteException(String message) {
        super(message);
    }
}
