package gpuinfer.ops;

import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClKernel;
import gpuinfer.cl.ClProgram;
import gpuinfer.cl.KernelSource;
import gpuinfer.util.Closing;
import gpuinfer.weights.WeightType;

/**
 * The kernels of {@code kernels/transformer.cl} on one context, with their work-group sizes; close to release. The
 * embedding kernel has one variant per pair of table formats (and one per token-table format without a position
 * table), built on first use.
 */
public final class TransformerKernels implements AutoCloseable {
    final int lnGroup;
    final int copyGroup;
    private final ClContext context;
    private final String options;
    private final java.util.Map<String, ClKernel> embedVariants = new java.util.HashMap<>();
    final ClKernel layernorm;
    final ClKernel rmsnorm;
    final ClKernel swiglu;
    final ClKernel embed;
    final ClKernel heads;
    final ClKernel mergeHeads;
    final ClKernel gatherRows;

    /** The kernels in the order they are built; the first two run with groups of lnGroup, the rest with copyGroup. */
    private static final String[] NAMES = {"layernorm", "rmsnorm", "swiglu", "embed", "heads", "merge_heads", "gather_rows"};
    private static final int NORM_KERNELS = 2;

    public TransformerKernels(ClContext context) {
        this(context, preferredNormGroup(context), (int) Math.min(64, Integer.highestOneBit(
                (int) Math.min(context.device().info().maxWorkGroupSize(), 1 << 20))));
    }

    private static int preferredNormGroup(ClContext context) {
        long maxGroup = context.device().info().maxWorkGroupSize();
        return (int) Math.min(context.device().info().isGpu() ? 256 : 16, Integer.highestOneBit((int) Math.min(maxGroup, 1 << 20)));
    }

    /** With the work-group sizes to try first (powers of two); tests ask for more than a kernel allows. */
    TransformerKernels(ClContext context, int ln, int copy) {
        this.context = context;
        // Built with the preferred work-group sizes; a kernel whose limits on this device (CL_KERNEL_WORK_GROUP_SIZE:
        // registers, local memory) refuse its group is rebuilt with half the group, instead of failing at launch.
        ClKernel[] made;
        while (true) {
            made = build(context, "-DLN_WG=" + ln + " -DCOPY_WG=" + copy);
            boolean normsFit = true;
            boolean copiesFit = true;
            for (int i = 0; i < made.length; i++) {
                boolean fits = made[i].fits(i < NORM_KERNELS ? ln : copy);
                if (i < NORM_KERNELS) {
                    normsFit &= fits;
                } else {
                    copiesFit &= fits;
                }
            }
            if ((normsFit || ln == 1) && (copiesFit || copy == 1)) {
                break;
            }
            for (ClKernel kernel : made) {
                kernel.close();
            }
            ln = normsFit ? ln : ln / 2;
            copy = copiesFit ? copy : copy / 2;
        }
        lnGroup = ln;
        copyGroup = copy;
        this.options = "-DLN_WG=" + lnGroup + " -DCOPY_WG=" + copyGroup;
        layernorm = made[0];
        rmsnorm = made[1];
        swiglu = made[2];
        embed = made[3];
        heads = made[4];
        mergeHeads = made[5];
        gatherRows = made[6];
    }

    private static ClKernel[] build(ClContext context, String options) {
        ClProgram program = context.program(KernelSource.load("transformer.cl"), options);
        ClKernel[] made = new ClKernel[NAMES.length];
        try {
            for (int i = 0; i < NAMES.length; i++) {
                made[i] = program.kernel(NAMES[i]);
            }
        } catch (RuntimeException e) {
            throw Closing.afterFailure(e, made);
        }
        return made;
    }

    /**
     * The embedding kernel for a token table stored in {@code wte} and a position table stored in {@code wpe}; wpe
     * null for the variant without a position table (it reads neither wpe nor the positions).
     */
    ClKernel embed(WeightType wte, WeightType wpe) {
        if (wte == WeightType.F32 && wpe == WeightType.F32) {
            return embed;
        }
        String defines = " -DWTE_TYPE=" + wte.kernelCode
                + (wpe == null ? " -DEMBED_POSITIONS=0" : " -DWPE_TYPE=" + wpe.kernelCode);
        return embedVariants.computeIfAbsent(defines,
                d -> context.program(KernelSource.load("transformer.cl"), options + d).kernel("embed"));
    }

    /** A 2-D launch over (columns, rows) with groups of {@code copyGroup} along the columns. */
    long[] copyGlobal(int columns, int rows) {
        return new long[] {(columns + copyGroup - 1L) / copyGroup * copyGroup, rows};
    }

    long[] copyLocal() {
        return new long[] {copyGroup, 1};
    }

    @Override
    public void close() {
        embedVariants.values().forEach(ClKernel::close);
        embedVariants.clear();
        layernorm.close();
        rmsnorm.close();
        swiglu.close();
        embed.close();
        heads.close();
        mergeHeads.close();
        gatherRows.close();
    }
}
