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

    public TransformerKernels(ClContext context) {
        long maxGroup = context.device().info().maxWorkGroupSize();
        lnGroup = (int) Math.min(context.device().info().isGpu() ? 256 : 16, Integer.highestOneBit((int) Math.min(maxGroup, 1 << 20)));
        copyGroup = (int) Math.min(64, maxGroup);
        this.context = context;
        this.options = "-DLN_WG=" + lnGroup + " -DCOPY_WG=" + copyGroup;
        ClProgram program = context.program(KernelSource.load("transformer.cl"), options);
        String[] names = {"layernorm", "rmsnorm", "swiglu", "embed", "heads", "merge_heads", "gather_rows"};
        ClKernel[] made = new ClKernel[names.length];
        try {
            for (int i = 0; i < names.length; i++) {
                made[i] = program.kernel(names[i]);
            }
        } catch (RuntimeException e) {
            throw Closing.afterFailure(e, made);
        }
        layernorm = made[0];
        rmsnorm = made[1];
        swiglu = made[2];
        embed = made[3];
        heads = made[4];
        mergeHeads = made[5];
        gatherRows = made[6];
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
