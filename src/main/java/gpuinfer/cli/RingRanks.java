package gpuinfer.cli;

import gpuinfer.InputException;
import gpuinfer.attention.ring.Rank;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClDevice;
import gpuinfer.cl.SubDevices;

import java.util.ArrayList;
import java.util.List;

/**
 * The ranks of {@code --ring N --ring-ranks KIND} on a device: {@code queues} (N queue pairs on one context),
 * {@code contexts} (a context each) or {@code subdevices} (the device split into N sub-devices, a context each).
 * Close to release the ranks' queues, the contexts and the sub-devices.
 */
final class RingRanks implements AutoCloseable {
    static final String KINDS = "queues, contexts or subdevices";

    private final List<ClContext> opened = new ArrayList<>();
    private final List<Rank> ranks = new ArrayList<>();
    private SubDevices subDevices;

    RingRanks(OpenClOptions opencl, ClDevice device, int count, String kind) {
        try {
            List<ClContext> perRank = new ArrayList<>();
            switch (kind) {
                case "queues" -> {
                    opened.add(opencl.openContext(device));
                    for (int r = 0; r < count; r++) {
                        perRank.add(opened.get(0));
                    }
                }
                case "contexts" -> {
                    for (int r = 0; r < count; r++) {
                        opened.add(opencl.openContext(device));
                    }
                    perRank.addAll(opened);
                }
                case "subdevices" -> {
                    subDevices = device.partitionEqually(count);
                    for (ClDevice sub : subDevices) {
                        opened.add(opencl.openContext(sub));
                    }
                    perRank.addAll(opened);
                }
                default -> throw new InputException("Unknown --ring-ranks '" + kind + "': use " + KINDS + ".");
            }
            ranks.addAll(Rank.onContexts(perRank));
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** A rank on each device listed (--ring-devices), a context each. */
    RingRanks(OpenClOptions opencl, List<ClDevice> devices) {
        try {
            for (ClDevice d : devices) {
                opened.add(opencl.openContext(d));
            }
            ranks.addAll(Rank.onContexts(opened));
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    List<Rank> ranks() {
        return ranks;
    }

    /** The first rank's context (its settings and program builds stand for all). */
    ClContext first() {
        return opened.get(0);
    }

    int contexts() {
        return opened.size();
    }

    @Override
    public void close() {
        ranks.forEach(Rank::close);
        ranks.clear();
        for (int i = opened.size() - 1; i >= 0; i--) {
            opened.get(i).close();
        }
        opened.clear();
        if (subDevices != null) {
            subDevices.close();
            subDevices = null;
        }
    }
}
