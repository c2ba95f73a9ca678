package gpuinfer.cli;

import gpuinfer.InputException;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClDevice;
import gpuinfer.cl.SubDevices;
import gpuinfer.attention.ring.RingLayout;
import gpuinfer.model.ContextParallel;
import gpuinfer.model.DecoderModel;
import gpuinfer.model.ModelWeights;
import gpuinfer.ops.Backend;
import gpuinfer.ops.ClBackend;
import gpuinfer.ops.CpuBackend;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code --context-parallel N} and where its ranks run: the prompt's prefill split over N models of the same weights
 * ({@link ContextParallel}); rank 0 decodes afterwards. Close to release the ranks' models, contexts and sub-devices
 * (rank 0 may run on the command's own backend, whose context the command closes).
 */
final class ContextParallelOptions implements AutoCloseable {
    @Option(names = "--context-parallel", paramLabel = "N", defaultValue = "1",
            description = "Prefill the prompt split over N ranks, each layer's attention as a ring; rank 0 gathers "
                    + "the key/value cache and decodes (default: ${DEFAULT-VALUE}, one device).")
    int ranks;

    @picocli.CommandLine.Mixin
    RingPlacementOptions placement;

    private final List<DecoderModel> models = new ArrayList<>();
    private final List<String> rankDevices = new ArrayList<>();
    private final List<ClContext> contexts = new ArrayList<>();
    private SubDevices subDevices;

    boolean enabled() {
        return ranks > 1;
    }

    /** Checks the options against the rest of the command line before anything is loaded. */
    void check(int prompts, boolean interventions) {
        if (ranks < 1) {
            throw new InputException("--context-parallel must be at least 1, not " + ranks + ".");
        }
        if (!enabled()) {
            if (placement.given()) {
                throw new InputException("--ring-ranks, --ring-layout and --ring-devices shape --context-parallel's "
                        + "ranks: give them with --context-parallel N (N >= 2).");
            }
            return;
        }
        placement.check(ranks, List.of("contexts", "subdevices"));
        if (prompts != 1) {
            throw new InputException("--context-parallel splits one prompt's tokens over the ranks; give exactly one "
                    + "prompt (this command line has " + prompts + ").");
        }
        if (interventions) {
            throw new InputException("--context-parallel runs each layer's attention as a ring; head interventions "
                    + "(--ablate, --scale-head, --attend-mask) need the whole attention on one device. Drop one of them.");
        }
    }

    RingLayout layout() {
        return placement.layout() == null ? RingLayout.ZIGZAG : placement.layout();
    }

    /**
     * The ranks' models, sized for their part of the prompt (rank 0 also for the continuation): on the CPU reference
     * when {@code device} is null, else on contexts of {@code device} (or of its sub-devices).
     */
    List<DecoderModel> models(ContextParallel.Plan plan, ModelWeights weights, int maxTokens, boolean allLogits,
                              ClDevice device, Backend first, OpenClOptions opencl, java.util.function.LongConsumer uploaded) {
        List<ClDevice> devices = new ArrayList<>();
        if (device != null && placement.devices != null) {
            devices.addAll(placement.listed(opencl, ranks));
            first = null; // every rank opens its own context on its listed device
        } else if (device != null) {
            if ("subdevices".equals(placement.kind)) {
                subDevices = device.partitionEqually(ranks);
                subDevices.forEach(devices::add);
            } else {
                for (int r = 0; r < ranks; r++) {
                    devices.add(device);
                }
            }
        }
        for (int r = 0; r < ranks; r++) {
            Backend backend;
            rankDevices.add(device == null ? "cpu" : devices.get(r).id() + " " + devices.get(r).name());
            if (device == null) {
                backend = new CpuBackend();
            } else if (r == 0 && first != null && subDevices == null) {
                backend = first; // the command's own context on the device
            } else {
                ClContext context = opencl.openContext(devices.get(r));
                contexts.add(context);
                backend = new ClBackend(context, opencl.settings(context));
            }
            int rows = plan.batch(r) * plan.step(r);
            int positions = r == 0 ? Math.max(plan.promptLength() + maxTokens, plan.positions(0)) : plan.positions(r);
            models.add(new DecoderModel(backend, weights, plan.batch(r), positions, plan.step(r), allLogits ? rows : 1,
                    uploaded));
        }
        return models;
    }

    /** How the ranks were made: contexts, subdevices or devices (listed). */
    String ranksOn() {
        return placement.devices != null ? "devices " + String.join(", ", rankDevices)
                : placement.kind == null ? "contexts" : placement.kind;
    }

    Map<String, Object> report(ContextParallel cp, List<DecoderModel> models) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("ranks", models.size());
        m.put("ranksOn", ranksOn());
        m.put("devices", rankDevices);
        m.put("layout", cp.plan().layout().label());
        m.put("workImbalance", Math.round(cp.workImbalance() * 1000) / 1000.0);
        m.put("transferBytes", cp.transferredBytes());
        m.put("transferMs", Math.round(cp.transferMillis() * 100) / 100.0);
        List<Object> perRank = new ArrayList<>();
        for (ContextParallel.RankWork w : cp.work()) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("rank", w.rank());
            r.put("positions", w.chunks().stream().map(c -> c.start() + ".." + (c.start() + c.length() - 1)).toList());
            r.put("tokens", w.tokens());
            r.put("work", w.work());
            r.put("blocks", w.blocks());
            r.put("skipped", w.skipped());
            r.put("deviceBytes", models.get(w.rank()).backend().deviceBytes());
            perRank.add(r);
        }
        m.put("perRank", perRank);
        return m;
    }

    @Override
    public void close() {
        try {
            models.forEach(DecoderModel::close);
            contexts.forEach(ClContext::close);
        } finally {
            models.clear();
            contexts.clear();
            if (subDevices != null) {
                subDevices.close();
                subDevices = null;
            }
        }
    }
}
