package gpuinfer.viz;

import gpuinfer.model.Interventions;
import gpuinfer.model.ModelConfig;
import gpuinfer.model.Tap;
import gpuinfer.ops.Backend;
import gpuinfer.ops.Buf;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Captures the attention probabilities of one sequence (batch of 1) from the queries and keys a forward pass
 * computed on its backend: a {@link Tap} with {@link #attentionInputs()}, so the model hands it each layer's rotated
 * queries ("h.i.attn_q") and key cache ("h.i.attn_k"). Flash attention never stores the probabilities; {@link #maps}
 * recomputes them in double: p[j] = softmax_j(scale · q_i·k_j) over the keys j &lt;= i, where query head h reads
 * key head h / (H/Hkv), with the model's attention scale and with the run's {@code --attend-mask} ranges of that head
 * hidden (their weight is 0; the softmax runs over the other keys; a row left with no key is all zeros).
 *
 * <p>The sequence's steps must be forwarded in order from position 0 (a prefill, in chunks or not, then single
 * tokens): the step's query rows are positions {@code captured .. captured + T - 1}. Only the queries of the wanted
 * rows are kept, and of the key cache only the rows below the positions captured: memory is O(S·D) per layer and key
 * head plus the wanted rows, never S×S.
 */
public final class AttentionCapture implements Tap {
    private final Backend backend;
    private final ModelConfig config;
    private final Interventions interventions;
    private final int[] wanted;       // ascending positions, or null for all
    private final int[] positions;    // per layer: query positions captured so far
    private final List<Map<Integer, float[]>> queries = new ArrayList<>(); // per layer: position -> [H, D]
    private final float[][] keys;     // per layer: [Hkv, S, D] of the last step (S = positions captured then)

    /**
     * @param backend       the backend the model runs on (the tapped buffers are read through it)
     * @param interventions the run's interventions (their masks are applied to the recomputed probabilities)
     * @param rows          the query positions wanted, or null for all of them
     */
    public AttentionCapture(Backend backend, ModelConfig config, Interventions interventions, int[] rows) {
        this.backend = backend;
        this.config = config;
        this.interventions = interventions;
        if (rows != null) {
            int[] sorted = Arrays.stream(rows).distinct().sorted().toArray();
            if (sorted.length == 0 || sorted[0] < 0) {
                throw new IllegalArgumentException("attention rows must be non-negative positions: " + Arrays.toString(rows));
            }
            this.wanted = sorted;
        } else {
            this.wanted = null;
        }
        positions = new int[config.nLayer()];
        keys = new float[config.nLayer()][];
        for (int i = 0; i < config.nLayer(); i++) {
            queries.add(new HashMap<>());
        }
    }

    /** The last {@code n} positions of a sequence of {@code length} (all of them when it is shorter). */
    public static int[] lastRows(int length, int n) {
        int from = Math.max(0, length - n);
        int[] rows = new int[length - from];
        Arrays.setAll(rows, i -> from + i);
        return rows;
    }

    @Override
    public boolean attentionInputs() {
        return true;
    }

    @Override
    public void accept(String name, Buf buf, int rows, int cols) {
        if (!name.startsWith("h.") || !(name.endsWith(".attn_q") || name.endsWith(".attn_k"))) {
            return;
        }
        int layer = Integer.parseInt(name.substring(2, name.indexOf('.', 2)));
        int H = config.nHead();
        int Hkv = config.nKvHead();
        int D = config.headDim();
        if (cols != D) {
            throw new IllegalStateException(name + ": rows of " + cols + " values, expected the head size " + D);
        }
        if (name.endsWith(".attn_q")) {
            // q [1, H, T, D]
            if (rows % H != 0) {
                throw new IllegalStateException(name + ": " + rows + " rows are not " + H + " heads of a batch of 1");
            }
            int T = rows / H;
            int start = positions[layer];
            for (int t = 0; t < T; t++) {
                int position = start + t;
                if (wanted != null && Arrays.binarySearch(wanted, position) < 0) {
                    continue;
                }
                float[] q = new float[H * D];
                for (int h = 0; h < H; h++) {
                    backend.read(buf, ((long) h * T + t) * D, q, h * D, D);
                }
                queries.get(layer).put(position, q);
            }
            positions[layer] = start + T;
        } else {
            // k cache [1, Hkv, maxSequence, D]: rows below the positions captured (this step's included)
            if (rows % Hkv != 0) {
                throw new IllegalStateException(name + ": " + rows + " rows are not " + Hkv + " key heads of a batch of 1");
            }
            int maxSequence = rows / Hkv;
            int S = positions[layer];
            if (S > maxSequence) {
                throw new IllegalStateException(name + ": " + S + " positions captured, the cache holds " + maxSequence);
            }
            float[] k = new float[Hkv * S * D];
            for (int h = 0; h < Hkv; h++) {
                backend.read(buf, (long) h * maxSequence * D, k, h * S * D, S * D);
            }
            keys[layer] = k;
        }
    }

    /** Positions captured so far (the sequence length S once every step ran). */
    public int sequenceLength() {
        return positions.length == 0 ? 0 : positions[0];
    }

    /**
     * The probabilities of the wanted rows (those below the sequence length), for every layer and head.
     *
     * @param tokens   the sequence's tokens as text, one per position
     * @param tokenIds the token ids
     */
    public AttentionMaps maps(String model, List<String> tokens, int[] tokenIds) {
        int S = sequenceLength();
        if (tokens.size() != S || tokenIds.length != S) {
            throw new IllegalArgumentException(tokens.size() + " tokens and " + tokenIds.length + " ids for " + S
                    + " captured positions");
        }
        int L = config.nLayer();
        int H = config.nHead();
        int[] rows = wanted == null ? lastRows(S, S) : Arrays.stream(wanted).filter(r -> r < S).toArray();
        float[][][][] weights = new float[L][H][rows.length][];
        for (int layer = 0; layer < L; layer++) {
            if (positions[layer] != S || keys[layer] == null) {
                throw new IllegalStateException("layer " + layer + " captured " + positions[layer] + " positions, layer 0 " + S);
            }
            for (int h = 0; h < H; h++) {
                int[] hidden = hiddenRanges(layer, h);
                for (int r = 0; r < rows.length; r++) {
                    weights[layer][h][r] = row(layer, h, rows[r], S, hidden);
                }
            }
        }
        return new AttentionMaps(model, List.copyOf(tokens), tokenIds.clone(), L, H, rows, weights,
                interventions.describe());
    }

    /** The --attend-mask ranges of one head, [from0, to0, from1, to1, ...]. */
    private int[] hiddenRanges(int layer, int head) {
        return interventions.ofLayer(layer).stream()
                .filter(x -> x.head() == head && x.kind() == Interventions.HeadIntervention.Kind.MASK)
                .flatMapToInt(x -> java.util.stream.IntStream.of(x.maskFrom(), x.maskTo())).toArray();
    }

    /** Row {@code i} of head h: softmax over the shown keys j <= i of scale · q_i·k_j, in double; 0 elsewhere. */
    private float[] row(int layer, int h, int i, int S, int[] hidden) {
        int D = config.headDim();
        int kvHead = h / (config.nHead() / config.nKvHead());
        float[] q = queries.get(layer).get(i);
        float[] k = keys[layer];
        double scale = config.attentionScale();
        double[] score = new double[i + 1];
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j <= i; j++) {
            if (gpuinfer.ops.HeadInterventions.isHidden(j, hidden)) {
                score[j] = Double.NEGATIVE_INFINITY;
                continue;
            }
            double dot = 0;
            int kBase = (kvHead * S + j) * D;
            for (int d = 0; d < D; d++) {
                dot += (double) q[h * D + d] * k[kBase + d];
            }
            score[j] = dot * scale;
            max = Math.max(max, score[j]);
        }
        float[] p = new float[S];
        if (max == Double.NEGATIVE_INFINITY) {
            return p;
        }
        double sum = 0;
        for (int j = 0; j <= i; j++) {
            sum += score[j] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(score[j] - max);
        }
        for (int j = 0; j <= i; j++) {
            p[j] = score[j] == Double.NEGATIVE_INFINITY ? 0f : (float) (Math.exp(score[j] - max) / sum);
        }
        return p;
    }
}
