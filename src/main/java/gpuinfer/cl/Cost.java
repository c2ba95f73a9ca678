package gpuinfer.cl;

/**
 * The work of one kernel launch, as its op declares it: useful floating-point operations, and the bytes it must
 * move at least (each input read once, each output written once). Profiles divide these by device times.
 */
public record Cost(double flops, double bytes) {
    public static final Cost UNKNOWN = new Cost(0, 0);

    /** FLOPs per byte. */
    public double intensity() {
        return bytes == 0 ? 0 : flops / bytes;
    }
}
