package gpuinfer.ops;

import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClKernel;
import gpuinfer.cl.ClProgram;
import gpuinfer.cl.KernelSource;
import gpuinfer.util.Closing;

/** The kernels of {@code kernels/transformer.cl} on one context, with their work-group sizes; close to release. */
public final class TransformerKernels implements AutoCloseable {
    final int lnGroup;
    final int copyGroup;
    final ClKernel layernorm;
    final ClKernel embed;
    final ClKernel qkvToHeads;
    final ClKernel mergeHeads;
    final ClKernel gatherRows;

    public TransformerKernels(ClContext context) {
        long maxGroup = context.device().info().maxWorkGroupSize();
        lnGroup = (int) Math.min(context.device().info().isGpu() ? 256 : 16, Integer.highestOneBit((int) Math.min(maxGroup, 1 << 20)));
        copyGroup = (int) Math.min(64, maxGroup);
        ClProgram program = context.program(KernelSource.load("transformer.cl"), "-DLN_WG=" + lnGroup + " -DCOPY_WG=" + copyGroup);
        ClKernel[] made = new ClKernel[5];
        String[] names = {"layernorm", "embed", "qkv_to_heads", "merge_heads", "gather_rows"};
        try {
            for (int i = 0; i < names.length; i++) {
                made[i] = program.kernel(names[i]);
            }
        } catch (RuntimeException e) {
            throw Closing.afterFailure(e, made);
        }
        layernorm = made[0];
        embed = made[1];
        qkvToHeads = made[2];
        mergeHeads = made[3];
        gatherRows = made[4];
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
        layernorm.close();
        embed.close();
        qkvToHeads.close();
        mergeHeads.close();
        gatherRows.close();
    }
}
