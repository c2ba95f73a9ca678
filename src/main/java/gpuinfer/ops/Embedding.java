package gpuinfer.ops;

import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClQueue;

/** Token plus position embedding: {@code y[r] = wte[tokens[r]] + wpe[positions[r]]}; wte [V, C], wpe [P, C], y [R, C]. */
public final class Embedding {
    private Embedding() {
    }

    /** The CPU reference (ids are checked by the caller). */
    public static void reference(float[] y, float[] wte, float[] wpe, int[] tokens, int[] positions, int C) {
        for (int r = 0; r < tokens.length; r++) {
            for (int c = 0; c < C; c++) {
                y[r * C + c] = (float) ((double) wte[tokens[r] * C + c] + wpe[positions[r] * C + c]);
            }
        }
    }

    /** Enqueues {@code embed}; tokens and positions are int32 device buffers of R entries. */
    public static void enqueue(TransformerKernels kernels, ClQueue queue, ClBuffer y, ClBuffer wte, ClBuffer wpe,
                               ClBuffer tokens, ClBuffer positions, int R, int C) {
        kernels.embed.arg(0, wte).arg(1, wpe).arg(2, tokens).arg(3, positions).arg(4, y).arg(5, R).arg(6, C);
        queue.launch(kernels.embed, kernels.copyGlobal(C, R), kernels.copyLocal(),
                new gpuinfer.cl.Cost((double) R * C, 12.0 * R * C + 8.0 * R));
    }
}
