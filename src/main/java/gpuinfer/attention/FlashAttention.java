package gpuinfer.attention;

import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClKernel;
import gpuinfer.cl.ClProgram;
import gpuinfer.cl.ClQueue;
import gpuinfer.cl.DeviceInfo;
import gpuinfer.cl.KernelSource;
import gpuinfer.util.Closing;
import gpuinfer.variants.KernelSettings;

import java.util.HashMap;
import java.util.Map;

/**
 * {@code --impl flash}: fused attention that never stores the score matrix ({@code kernels/attention_flash.cl}).
 * Device memory is Q, K, V, the output, one float per query row (log-sum-exp), and for decode shapes a split-K
 * workspace of B·H·Sq·splits·(D+2) floats, kept between calls and released on {@link #close()}.
 *
 * <p>Prefill shapes run {@code flash_attention_tiled}. When Sq is at most {@link FlashConfig#decodeMaxSq()} the keys
 * are split across work-items instead ({@code flash_decode_split}) and the partial results merged by their
 * log-sum-exp ({@code flash_decode_merge}): one query row alone cannot fill a device.
 */
public final class FlashAttention extends ClAttention {
    private final Map<String, String> overrides;
    private final KernelSettings settings;
    private final String extraOptions;
    private final Map<Integer, Kernels> kernelsByHeadDim = new HashMap<>();
    private ClBuffer workspaceOut;
    private ClBuffer workspaceStats;

    private record Kernels(FlashConfig config, ClKernel tiled, ClKernel split, ClKernel merge) {
        void close() {
            tiled.close();
            split.close();
            merge.close();
        }
    }

    /** The split-K layout of one decode call. */
    record Split(int splits, int keysPerSplit) {
    }

    /** With default settings: nothing tuned or disabled (tests). */
    public FlashAttention(ClContext context) {
        this(context, KernelSettings.defaults(), Map.of());
    }

    /**
     * With the device's settings (tuned values, variants the self-test disabled) and some tuning values replaced
     * ({@code --kernel-define NAME=VALUE}; see {@link FlashConfig#NAMES}).
     */
    public FlashAttention(ClContext context, KernelSettings settings, Map<String, String> overrides) {
        this(context, settings, overrides, "");
    }

    /**
     * With extra build options appended. Package-private: tests build deliberately faulty variants with it (e.g.
     * -DPLANTED_CAUSAL_OFF_BY_ONE) to prove that comparisons and the tuner catch them; no command reaches it.
     */
    FlashAttention(ClContext context, KernelSettings settings, Map<String, String> overrides, String extraOptions) {
        super(context);
        this.settings = settings;
        this.overrides = Map.copyOf(overrides);
        this.extraOptions = extraOptions;
        config(64); // validate the overrides now, not at the first call
    }

    @Override
    public String name() {
        return "flash";
    }

    /** config(headDim) by head size: defaults, stored tuning and overrides are fixed for this op's life. */
    private final java.util.Map<Integer, FlashConfig> configs = new java.util.HashMap<>();

    /** The tuning values used for a head size: defaults, then stored tuning values, then this op's overrides. */
    public FlashConfig config(int headDim) {
        return configs.computeIfAbsent(headDim, this::configFor);
    }

    private FlashConfig configFor(int headDim) {
        FlashConfig config = FlashConfig.defaults(context.device().info(), headDim);
        Map<String, String> stored = settings.tuned(tuningKey(headDim));
        try {
            config = config.with(stored);
            config.options(headDim);
        } catch (gpuinfer.InputException stale) {
            settings.warn("stored tuning of " + tuningKey(headDim) + " " + stored + " is not valid in this version ("
                    + stale.getMessage() + "); using the defaults: run gpu-infer tune again");
            config = FlashConfig.defaults(context.device().info(), headDim);
        }
        return config.with(overrides);
    }

    /** The key tuned values are stored under: "flash/D=64". */
    public static String tuningKey(int headDim) {
        return "flash/D=" + headDim;
    }

    /** "tiled" or "split-k": which kernel a problem runs. */
    public String variant(AttentionProblem problem) {
        return useSplit(problem) ? "split-k" : "tiled";
    }

    private boolean useSplit(AttentionProblem problem) {
        return problem.shape().queryLen() <= config(problem.shape().headDim()).decodeMaxSq();
    }

    /** How many splits a decode call uses: enough work-items to fill the device, at least 64 keys each. */
    Split split(AttentionProblem problem) {
        AttentionShape s = problem.shape();
        FlashConfig config = config(s.headDim());
        int keysPerSplit = config.keysPerSplit();
        if (keysPerSplit == 0) {
            DeviceInfo device = context.device().info();
            long rows = (long) s.batch() * s.heads() * s.queryLen();
            long wantedItems = (long) device.computeUnits() * (device.isGpu() ? 256 : 32);
            long splits = Math.max(1, Math.min((wantedItems + rows - 1) / rows, (s.keyLen() + 63) / 64));
            keysPerSplit = (int) ((s.keyLen() + splits - 1) / splits);
        }
        keysPerSplit = (int) roundUp(Math.max(1, keysPerSplit), config.kb());
        int splits = (s.keyLen() + keysPerSplit - 1) / keysPerSplit;
        return new Split(splits, keysPerSplit);
    }

    @Override
    public long workspaceBytes(AttentionProblem problem) {
        if (!useSplit(problem)) {
            return 0;
        }
        AttentionShape s = problem.shape();
        return 4L * s.batch() * s.heads() * s.queryLen() * split(problem).splits() * (s.headDim() + 2);
    }

    @Override
    protected long largestWorkspaceBuffer(AttentionProblem problem) {
        return workspaceBytes(problem);
    }

    @Override
    protected String whenTooLarge() {
        return "Flash attention needs only the inputs, the output and per-row statistics: use a smaller shape or "
                + "batch, or a device with more memory.";
    }

    @Override
    public void enqueue(ClQueue queue, AttentionProblem problem, AttentionBuffers buffers) {
        AttentionShape s = problem.shape();
        Kernels kernels = kernels(s.headDim());
        FlashConfig config = kernels.config();
        int bh = s.batch() * s.heads();
        ClBuffer lens = buffers.kvLens() != null ? buffers.kvLens() : buffers.lse();
        int useLens = buffers.kvLens() != null ? 1 : 0;
        int causal = problem.causal() ? 1 : 0;
        if (!useSplit(problem)) {
            ClKernel k = kernels.tiled();
            k.arg(0, buffers.q()).arg(1, buffers.k()).arg(2, buffers.v()).arg(3, buffers.out()).arg(4, buffers.lse())
                    .arg(5, lens).arg(6, s.heads()).arg(7, s.kvHeads()).arg(8, s.queryLen()).arg(9, s.keyLen())
                    .arg(10, buffers.kvStride()).arg(11, problem.scale()).arg(12, causal).arg(13, useLens);
            long groups = (s.queryLen() + (long) config.wg() * config.qb() - 1) / ((long) config.wg() * config.qb());
            queue.launch(k, new long[] {groups * config.wg(), bh}, new long[] {config.wg(), 1}, cost(problem));
            return;
        }
        Split split = split(problem);
        long rows = (long) bh * s.queryLen();
        ClBuffer partOut = workspaceOut(4 * rows * split.splits() * s.headDim());
        ClBuffer partStats = workspaceStats(4 * rows * split.splits() * 2);
        ClKernel k = kernels.split();
        k.arg(0, buffers.q()).arg(1, buffers.k()).arg(2, buffers.v()).arg(3, partOut).arg(4, partStats).arg(5, lens)
                .arg(6, s.heads()).arg(7, s.kvHeads()).arg(8, s.queryLen()).arg(9, s.keyLen())
                .arg(10, buffers.kvStride()).arg(11, problem.scale()).arg(12, causal).arg(13, useLens)
                .arg(14, split.splits()).arg(15, split.keysPerSplit());
        queue.launch(k, new long[] {roundUp(split.splits(), config.splitWg()), s.queryLen(), bh},
                new long[] {config.splitWg(), 1, 1}, cost(problem));
        ClKernel m = kernels.merge();
        m.arg(0, partOut).arg(1, partStats).arg(2, buffers.out()).arg(3, buffers.lse()).arg(4, (int) rows)
                .arg(5, split.splits());
        queue.launch(m, new long[] {roundUp(rows, config.splitWg())}, new long[] {config.splitWg()},
                new gpuinfer.cl.Cost(3.0 * rows * split.splits() * s.headDim(),
                        4.0 * rows * (split.splits() * (s.headDim() + 2.0) + s.headDim() + 1)));
    }

    /**
     * Useful work of attention: 4 FLOPs per visible (query, key) pair and dimension (Q·Kᵀ and P·V); compulsory
     * traffic: q, k, v read once, out and lse written once.
     */
    static gpuinfer.cl.Cost cost(AttentionProblem problem) {
        AttentionShape s = problem.shape();
        return new gpuinfer.cl.Cost(4.0 * problem.visiblePairs() * s.headDim(),
                4.0 * (2.0 * s.queryElements() + 2.0 * s.keyValueElements() + (double) s.batch() * s.heads() * s.queryLen()));
    }

    private ClBuffer workspaceOut(long bytes) {
        if (workspaceOut == null || workspaceOut.bytes() < bytes) {
            if (workspaceOut != null) {
                workspaceOut.close();
            }
            workspaceOut = context.createBuffer(bytes, "flash split-k partial outputs");
        }
        return workspaceOut;
    }

    private ClBuffer workspaceStats(long bytes) {
        if (workspaceStats == null || workspaceStats.bytes() < bytes) {
            if (workspaceStats != null) {
                workspaceStats.close();
            }
            workspaceStats = context.createBuffer(bytes, "flash split-k partial max and sum");
        }
        return workspaceStats;
    }

    private Kernels kernels(int headDim) {
        return kernelsByHeadDim.computeIfAbsent(headDim, d -> {
            FlashConfig config = config(d);
            String options = config.options(d) + " " + extraOptions;
            // a variant's planted-fault options (KernelSettings.withBuildOptions) go into its own program only; without
            // them both requests are the same program, built once
            ClProgram tiledProgram = context.program(KernelSource.load("attention_flash.cl"),
                    (options + " " + settings.buildOptions("flash_tiled")).trim());
            ClProgram splitProgram = context.program(KernelSource.load("attention_flash.cl"),
                    (options + " " + settings.buildOptions("flash_decode_split")).trim());
            ClKernel tiled = tiledProgram.kernel("flash_attention_tiled");
            ClKernel split = null;
            try {
                split = splitProgram.kernel("flash_decode_split");
                return new Kernels(config, tiled, split, splitProgram.kernel("flash_decode_merge"));
            } catch (RuntimeException e) {
                throw Closing.afterFailure(e, tiled, split);
            }
        });
    }

    @Override
    public void close() {
        kernelsByHeadDim.values().forEach(Kernels::close);
        kernelsByHeadDim.clear();
        if (workspaceOut != null) {
            workspaceOut.close();
            workspaceOut = null;
        }
        if (workspaceStats != null) {
            workspaceStats.close();
            workspaceStats = null;
        }
    }
}
