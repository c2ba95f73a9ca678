package gpuinfer.attention;

import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClKernel;
import gpuinfer.cl.ClProgram;
import gpuinfer.cl.ClQueue;
import gpuinfer.cl.KernelSource;
import gpuinfer.util.Closing;
import gpuinfer.variants.KernelSettings;
import gpuinfer.variants.Variants;

import java.util.HashMap;
import java.util.Map;

/**
 * {@code --impl flash}: fused attention that never stores the score matrix ({@code kernels/attention_flash.cl}).
 * Device memory is Q, K, V, the output, one float per query row (log-sum-exp), and for decode shapes a split-K
 * workspace of B·H·Sq·splits·(D+2) floats, kept between calls and released on {@link #close()}.
 *
 * <p>Two decision points ({@link Variants#FLASH_PREFILL}, {@link Variants#FLASH_DECODE}) pick the kernel per head
 * size. Prefill shapes run {@code flash_attention_tiled} (CPU-shaped: each work-item owns whole query rows) or
 * {@code flash_dsplit} (GPU-shaped: the work-items of a group share rows and split D). When Sq is at most
 * {@link FlashConfig#decodeMaxSq()} the keys are split instead, because one query row alone cannot fill a device:
 * {@code flash_decode_split} (a work-item per split) or {@code flash_decode_dsplit} (a work-group per split whose
 * work-items split keys and D), both followed by {@code flash_decode_merge}, which combines the splits by their
 * log-sum-exp. A variant is used only when its kernels fit the device's limits (work-group size, local memory);
 * otherwise the other one runs, with a warning. Each variant's program gets that variant's extra build options from
 * the settings (the device self-test plants faults that way); kernels are cached per variant and head size.
 */
public final class FlashAttention extends ClAttention {
    private final Map<String, String> overrides;
    private final KernelSettings settings;
    /** Kernels by "variant/D=d". */
    private final Map<String, VariantKernels> kernels = new HashMap<>();
    /** The chosen variant by "decision point/D=d". */
    private final Map<String, String> chosen = new HashMap<>();
    private ClBuffer workspaceOut;
    private ClBuffer workspaceStats;

    /** One variant's kernels for one head size: the main kernel, and for decode variants the shared merge. */
    private record VariantKernels(String variant, FlashConfig config, ClKernel main, ClKernel merge) {
        void close() {
            main.close();
            if (merge != null) {
                merge.close();
            }
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
     * With the device's settings (tuned values, variants the self-test disabled, preferred family, per-variant build
     * options) and some tuning values replaced ({@code --kernel-define NAME=VALUE}; see {@link FlashConfig#NAMES}).
     */
    public FlashAttention(ClContext context, KernelSettings settings, Map<String, String> overrides) {
        super(context);
        this.settings = settings;
        this.overrides = Map.copyOf(overrides);
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

    /**
     * Which kernel a problem runs: "flash_tiled" or "flash_dsplit" for prefill shapes, "flash_decode_split" or
     * "flash_decode_dsplit" for decode shapes (Sq at most DECODE_MAX_SQ). The first call for a head size builds the
     * candidate kernels to check them against the device's limits.
     */
    public String variant(AttentionProblem problem) {
        int d = problem.shape().headDim();
        Variants.Point point = decode(problem) ? Variants.FLASH_DECODE : Variants.FLASH_PREFILL;
        return chosen.computeIfAbsent(point.name() + "/D=" + d,
                key -> point.choose(settings, context.device().info(), variant -> fits(variant, d)));
    }

    private boolean decode(AttentionProblem problem) {
        return problem.shape().queryLen() <= config(problem.shape().headDim()).decodeMaxSq();
    }

    /**
     * Whether a variant's kernels for head size {@code d} run on this device: built (a build that fails counts as
     * not fitting, and is reported), then their work-group within CL_KERNEL_WORK_GROUP_SIZE and the device's sizes
     * per dimension (ClKernel.fits, which also checks a reqd_work_group_size) and their local memory within the
     * device's. The reason a variant does not fit is reported once, with the kernel's limits (private memory per
     * work-item included: drivers lower CL_KERNEL_WORK_GROUP_SIZE when a kernel needs many registers).
     */
    boolean fits(String variant, int d) {
        VariantKernels built;
        try {
            built = kernels(variant, d);
        } catch (gpuinfer.cl.KernelBuildException e) {
            settings.warn(variant + " (D=" + d + ") does not build on " + context.device().name() + ": "
                    + e.getMessage().lines().findFirst().orElse(""));
            return false;
        }
        String why = whyNot(built.main(), groupSize(variant, built.config()));
        if (why == null && built.merge() != null) {
            why = whyNot(built.merge(), built.config().splitWg());
        }
        if (why != null) {
            settings.warn(variant + " (D=" + d + ", " + built.config().options(d) + ") does not fit on "
                    + context.device().name() + ": " + why);
            return false;
        }
        return true;
    }

    private String whyNot(ClKernel kernel, long groupSize) {
        String why = kernel.whyNot(groupSize);
        return why == null ? null : kernel.name() + " with work-groups of " + groupSize + ": " + why + " ("
                + kernel.limits() + ")";
    }

    /** Work-items per group of a variant's main kernel. */
    private static long groupSize(String variant, FlashConfig config) {
        return switch (variant) {
            case "flash_tiled" -> config.wg();
            case "flash_dsplit" -> (long) config.qr() * config.dt();
            case "flash_decode_split" -> config.splitWg();
            case "flash_decode_dsplit" -> (long) config.decKl() * config.decDt();
            default -> throw new IllegalArgumentException("not a flash variant: " + variant);
        };
    }

    /**
     * How the keys of a decode call are split: every split covers the same number of keys, whatever the batch, the
     * other sequences' lengths and Sk, so that a row's split boundaries, and with them its partial sums and their
     * merge, are the same when the row decodes alone as beside others (a batch's extra splits past a row's keys are
     * empty and add exact zeros): continuous batching gives each request what running it alone gives
     * (gpuinfer.batch.BatchInvarianceTest). flash_decode_split: 64 keys per work-item, a multiple of KB;
     * flash_decode_dsplit: two steps of DEC_KL·KB keys per work-group. A split count fitted to the device (as before
     * this was batch-invariant: enough splits for 32 work-items per compute unit over all B·H·Sq rows) depended on B
     * and Sk and changed a row's rounding with the batch. KEYS_PER_SPLIT, when tuned, replaces the default.
     */
    Split split(AttentionProblem problem) {
        AttentionShape s = problem.shape();
        FlashConfig config = config(s.headDim());
        boolean perGroup = variant(problem).equals("flash_decode_dsplit");
        int granule = perGroup ? config.decKl() * config.kb() : config.kb();
        int keysPerSplit = config.keysPerSplit() > 0 ? config.keysPerSplit() : perGroup ? 2 * granule : 64;
        keysPerSplit = (int) roundUp(Math.max(1, keysPerSplit), granule);
        int splits = (s.keyLen() + keysPerSplit - 1) / keysPerSplit;
        return new Split(splits, keysPerSplit);
    }

    @Override
    public long workspaceBytes(AttentionProblem problem) {
        if (!decode(problem)) {
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
        enqueue(queue, problem, buffers, false);
    }

    /**
     * Enqueues attention of {@code problem}'s keys merged into the running result that {@code buffers.out()} and
     * {@code buffers.lse()} already hold (attention over other keys, or nothing: output 0 and lse negative infinity):
     * the kernels continue their online softmax from it (see "Accumulate" in {@code kernels/attention_flash.cl}). The
     * result equals {@link #enqueue} into separate buffers followed by a log-sum-exp merge ({@code LseMerge}),
     * without the memory of a second output. Ring attention adds one key/value block per step this way.
     */
    public void enqueueAccumulate(ClQueue queue, AttentionProblem problem, AttentionBuffers buffers) {
        enqueue(queue, problem, buffers, true);
    }

    private void enqueue(ClQueue queue, AttentionProblem problem, AttentionBuffers buffers, boolean accumulate) {
        AttentionShape s = problem.shape();
        String variant = variant(problem);
        VariantKernels chosenKernels = kernels(variant, s.headDim());
        FlashConfig config = chosenKernels.config();
        int bh = s.batch() * s.heads();
        ClBuffer lens = buffers.kvLens() != null ? buffers.kvLens() : buffers.lse();
        int useLens = buffers.kvLens() != null ? 1 : 0;
        int causal = problem.causal() ? 1 : 0;
        ClKernel k = chosenKernels.main();
        k.arg(0, buffers.q()).arg(1, buffers.k()).arg(2, buffers.v()).arg(5, lens)
                .arg(6, s.heads()).arg(7, s.kvHeads()).arg(8, s.queryLen()).arg(9, s.keyLen())
                .arg(10, buffers.kvStride()).arg(11, problem.scale()).arg(12, causal).arg(13, useLens);
        if (!decode(problem)) {
            k.arg(3, buffers.out()).arg(4, buffers.lse()).arg(14, accumulate ? 1 : 0);
            long rowsPerGroup = variant.equals("flash_dsplit") ? config.qr() : (long) config.wg() * config.qb();
            long groupSize = groupSize(variant, config);
            long groups = (s.queryLen() + rowsPerGroup - 1) / rowsPerGroup;
            queue.launch(k, new long[] {groups * groupSize, bh}, new long[] {groupSize, 1}, cost(problem));
            return;
        }
        Split split = split(problem);
        long rows = (long) bh * s.queryLen();
        ClBuffer partOut = workspaceOut(4 * rows * split.splits() * s.headDim());
        ClBuffer partStats = workspaceStats(4 * rows * split.splits() * 2);
        k.arg(3, partOut).arg(4, partStats).arg(14, split.splits()).arg(15, split.keysPerSplit());
        if (variant.equals("flash_decode_dsplit")) {
            long groupSize = groupSize(variant, config);
            queue.launch(k, new long[] {split.splits() * groupSize, s.queryLen(), bh}, new long[] {groupSize, 1, 1},
                    cost(problem));
        } else {
            queue.launch(k, new long[] {roundUp(split.splits(), config.splitWg()), s.queryLen(), bh},
                    new long[] {config.splitWg(), 1, 1}, cost(problem));
        }
        ClKernel m = chosenKernels.merge();
        m.arg(0, partOut).arg(1, partStats).arg(2, buffers.out()).arg(3, buffers.lse()).arg(4, (int) rows)
                .arg(5, split.splits()).arg(6, accumulate ? 1 : 0);
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

    /** The kernel each variant launches (decode variants also launch flash_decode_merge). */
    private static String kernelName(String variant) {
        return switch (variant) {
            case "flash_tiled" -> "flash_attention_tiled";
            case "flash_dsplit", "flash_decode_split", "flash_decode_dsplit" -> variant;
            default -> throw new IllegalArgumentException("not a flash variant: " + variant);
        };
    }

    /**
     * A variant's kernels for a head size, built on first use from the file with this head size's tuning values
     * plus the variant's extra build options (variants without any share one program).
     */
    private VariantKernels kernels(String variant, int headDim) {
        String key = variant + "/D=" + headDim;
        VariantKernels built = kernels.get(key);
        if (built != null) {
            return built;
        }
        FlashConfig config = config(headDim);
        ClProgram program = context.program(KernelSource.load("attention_flash.cl"),
                (config.options(headDim) + " " + settings.buildOptions(variant)).trim());
        ClKernel main = program.kernel(kernelName(variant));
        ClKernel merge = null;
        try {
            if (variant.startsWith("flash_decode_")) {
                merge = program.kernel("flash_decode_merge");
            }
            built = new VariantKernels(variant, config, main, merge);
        } catch (RuntimeException e) {
            throw Closing.afterFailure(e, main, merge);
        }
        kernels.put(key, built);
        return built;
    }

    @Override
    public void close() {
        kernels.values().forEach(VariantKernels::close);
        kernels.clear();
        chosen.clear();
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
