package gpuinfer.ops;

import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClKernel;
import gpuinfer.cl.ClQueue;
import gpuinfer.weights.WeightType;

/**
 * Token plus position embedding: {@code y[r] = wte[tokens[r]] + wpe[positions[r]]}; wte [V, C], wpe [P, C], y [R, C].
 * The tables may be stored in any weight format; a row is dequantised exactly, then the two are added in float32.
 * Models without a position table (rotary embeddings) pass none: {@code y[r] = wte[tokens[r]]}.
 */
public final class Embedding {
    private Embedding() {
    }

    /** The CPU reference (ids are checked by the caller). */
    public static void reference(float[] y, float[] wte, float[] wpe, int[] tokens, int[] positions, int C) {
        reference(y, WeightRows.of(wte, C), WeightRows.of(wpe, C), tokens, positions, C);
    }

    /** The CPU reference for tables in any stored format; wpe null for a model without a position table. */
    public static void reference(float[] y, WeightRows wte, WeightRows wpe, int[] tokens, int[] positions, int C) {
        float[] token = new float[C];
        float[] position = new float[C];
        for (int r = 0; r < tokens.length; r++) {
            wte.row(tokens[r], token);
            if (wpe == null) {
                System.arraycopy(token, 0, y, r * C, C);
                continue;
            }
            wpe.row(positions[r], position);
            for (int c = 0; c < C; c++) {
                y[r * C + c] = (float) ((double) token[c] + position[c]);
            }
        }
    }

    /**
     * Enqueues {@code embed} with float32 tables; tokens and positions are int32 device buffers of R entries (wpe and
     * positions null for no position table).
     */
    public static void enqueue(TransformerKernels kernels, ClQueue queue, ClBuffer y, ClBuffer wte, ClBuffer wpe,
                               ClBuffer tokens, ClBuffer positions, int R, int C) {
        enqueue(kernels, queue, y, wte, WeightType.F32, wpe, wpe == null ? null : WeightType.F32, tokens, positions, R, C);
    }

    /**
     * Enqueues {@code embed} with tables stored in {@code wteType} and {@code wpeType}; wpe, wpeType and positions
     * null for a model without a position table (the kernel variant then reads neither).
     */
    public static void enqueue(TransformerKernels kernels, ClQueue queue, ClBuffer y, ClBuffer wte, WeightType wteType,
                               ClBuffer wpe, WeightType wpeType, ClBuffer tokens, ClBuffer positions, int R, int C) {
        BufferChecks.positive("embed", "R, C", R, C);
        boolean hasPositions = wpe != null;
        if (hasPositions != (wpeType != null) || hasPositions != (positions != null)) {
            throw new IllegalArgumentException("embed: a position table needs its format and the positions, and no table"
                    + " needs neither; got table " + (wpe != null) + ", format " + wpeType + ", positions "
                    + (positions != null));
        }
        wteType.checkRow("token embedding", C);
        if (hasPositions) {
            wpeType.checkRow("position embedding", C);
        }
        BufferChecks.holdsFloats("embed", "y [R, C]", y, (long) R * C);
        ClKernel embed = kernels.embed(wteType, wpeType);
        embed.arg(0, wte).arg(1, wpe).arg(2, tokens).arg(3, positions).arg(4, y).arg(5, R).arg(6, C);
        double tableBytes = wteType.rowBytes(C) + (hasPositions ? wpeType.rowBytes(C) : 0);
        queue.launch(embed, kernels.copyGlobal(C, R), kernels.copyLocal(),
                new gpuinfer.cl.Cost(hasPositions ? (double) R * C : 0, 4.0 * R * C + R * tableBytes
                        + (hasPositions ? 8.0 : 4.0) * R));
    }
}
