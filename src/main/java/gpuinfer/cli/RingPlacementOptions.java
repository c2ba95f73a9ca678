package gpuinfer.cli;

import gpuinfer.InputException;
import gpuinfer.attention.ring.RingLayout;
import gpuinfer.cl.ClDevice;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;

/**
 * Where a ring's ranks run and how the sequence is laid out over them: {@code --ring-layout}, {@code --ring-ranks},
 * {@code --ring-devices}. The one declaration for {@code attention --ring}, {@code profile attention --ring}
 * ({@link RingOptions}) and {@code run --context-parallel} ({@link ContextParallelOptions}); each command applies
 * its own default kind of rank.
 */
final class RingPlacementOptions {
    @Option(names = "--ring-layout", paramLabel = "LAYOUT",
            description = "zigzag (2N chunks, rank r holds chunks r and 2N-1-r: the same causal work on every rank) or "
                    + "contiguous (rank r holds the r-th of N chunks). Default: zigzag for causal attention and for "
                    + "run --context-parallel, else contiguous.")
    String layout;

    @Option(names = "--ring-ranks", paramLabel = "KIND",
            description = "What a rank is on the one --device: queues (attention's default: a compute and a transfer "
                    + "queue each on one context, ordered by events), contexts (run's default: a context each) or "
                    + "subdevices (the device split into N sub-devices with clCreateSubDevices, a context each).")
    String kind;

    @Option(names = "--ring-devices", paramLabel = "SPEC,SPEC,...", split = ",",
            description = "The N devices the ranks run on instead, in ring order, each as --device takes it (P:D, a "
                    + "type or part of a name; a device may repeat), or 'gpus' for every GPU found: a context each.")
    List<String> devices;

    /** Whether any of the three was given. */
    boolean given() {
        return layout != null || kind != null || devices != null;
    }

    /** The layout asked for, or null for the command's default. */
    RingLayout layout() {
        return layout == null ? null : RingLayout.parse(layout);
    }

    /**
     * Checks the options for {@code ranks} ranks before anything runs: the kind is one of {@code kinds}, the device
     * list names one device per rank, and not both.
     */
    void check(int ranks, List<String> kinds) {
        layout();
        if (devices != null && kind != null) {
            throw new InputException("--ring-devices names each rank's device; --ring-ranks " + kind
                    + " makes the ranks on the one --device instead. Give one of them.");
        }
        if (kind != null && !kinds.contains(kind)) {
            throw new InputException("Unknown --ring-ranks '" + kind + "': use " + String.join(" or ", kinds) + ".");
        }
        if (devices != null && !allGpus() && devices.size() != ranks) {
            throw new InputException("--ring-devices lists " + devices.size() + " device" + (devices.size() == 1 ? "" : "s")
                    + " but the ring has " + ranks + " ranks: list one device per rank.");
        }
    }

    private boolean allGpus() {
        return devices != null && devices.size() == 1 && devices.get(0).trim().equals("gpus");
    }

    /** The devices --ring-devices names, one per rank (every GPU for 'gpus'), or null when it was not given. */
    List<ClDevice> listed(OpenClOptions opencl, int ranks) {
        if (devices == null) {
            return null;
        }
        List<ClDevice> found = new ArrayList<>();
        if (allGpus()) {
            opencl.runtime().devices().stream().filter(d -> d.info().isGpu()).forEach(found::add);
            if (found.size() != ranks) {
                throw new InputException("--ring-devices gpus found " + found.size() + " GPU" + (found.size() == 1 ? "" : "s")
                        + " but the ring has " + ranks + " ranks: use " + Math.max(found.size(), 1)
                        + " ranks or list the devices ('gpu-infer devices').");
            }
            return found;
        }
        for (String spec : devices) {
            found.add(opencl.runtime().select(spec.trim()));
        }
        return found;
    }
}
