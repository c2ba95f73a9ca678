package gpuinfer.oclgrind;

import gpuinfer.cl.ClDevice;
import gpuinfer.cl.ClRuntime;

/**
 * The child JVM of one {@link Check}: started by {@link OclgrindRunner} with only Oclgrind visible to the ICD loader.
 * Prints the device that {@code --device auto} picks (the runner fails a child whose device is not Oclgrind's),
 * then runs the check's body and exits with its status.
 *
 * <p>Usage: {@code java ... gpuinfer.oclgrind.OclgrindChild "CHECK NAME"}.
 */
public final class OclgrindChild {
    /** Starts every line the child prints about itself. */
    static final String PREFIX = "oclgrind-child: ";
    /** The line that names the device: PREFIX + this + the device and platform. */
    static final String DEVICE = "device ";

    private OclgrindChild() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: OclgrindChild CHECK_NAME");
            System.exit(2);
        }
        Check check = OclgrindChecks.named(args[0])
                .orElseThrow(() -> new IllegalArgumentException("no Oclgrind check named '" + args[0] + "'"));
        ClDevice device = ClRuntime.get(ClRuntime.DEFAULT_BINDING).select("auto");
        System.out.println(PREFIX + DEVICE + device.name() + " (platform " + device.platform().name() + ")");
        System.out.println(PREFIX + "check " + check.name() + ", kernels " + check.family().label());
        System.out.flush();
        int status = check.body().run();
        System.out.flush();
        System.err.flush();
        System.exit(status);
    }
}
