package gpuinfer.cl;

import gpuinfer.GpuInferException;

/** A request for more device memory than the device can give; the message names the sizes and the ways out. */
public final class DeviceMemoryException extends GpuInferException {
    public DeviceMemoryException(String message) {
        super(message);
    }
}
