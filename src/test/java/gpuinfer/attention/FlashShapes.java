package gpuinfer.attention;

import gpuinfer.check.Comparison;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.attention.ring.LseMerge;
import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClQueue;
import gpuinfer.tensor.RandomTensors;
import gpuinfer.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Attention shapes built around one flash variant's tiles as configured on the device at hand (its
 * {@link FlashConfig.Tiles}: query rows per work-group, keys per tile, work-items per row's D), so that every edge of
 * that variant is crossed whatever the device's tile sizes are: Sq one past a query group and Sk − Sq not a multiple
 * of the key tile (causal), lengths one short of and one past each tile, Sq = 1 and Sk = 1, grouped heads, key
 * padding with a batch entry of length 0 and rows that see no key, and large logits. Used by
 * {@code FlashVariantsTest} (on the test device) and {@code AttentionShapeSweep} (on Oclgrind).
 */
final class FlashShapes {
    private FlashShapes() {
    }

    /** One shape of the matrix, with the factor its q is scaled by (large logits when above 1). */
    record Case(String what, AttentionProblem problem, float qScale) {
        @Override
        public String toString() {
            return what + ": " + problem;
        }
    }

    /**
     * The prefill matrix of a variant with tiles {@code tiles} (run with decode shapes off: DECODE_MAX_SQ=0).
     * {@code small} (for Oclgrind, which interprets every work-item): the same edges with one or two heads per case
     * and the extra shapes left out.
     */
    static List<Case> prefill(FlashConfig.Tiles tiles, int d, boolean small) {
        int rows = tiles.queryRows();
        int keys = tiles.keyTile();
        int heads = small ? 2 : 4;      // grouped: heads / 2 kv heads
        int padHeads = small ? 1 : 4;
        List<Case> cases = new ArrayList<>();
        // Sq one past a query group; Sk - Sq = one past a key tile, not a multiple of it
        cases.add(of("one group and one row, Sk - Sq = tile + 1", 1, heads, heads / 2, rows + 1, rows + 1 + keys + 1, d, true));
        cases.add(of("one row short of a group, one key past a tile", 1, 2, 2, Math.max(1, rows - 1), keys + 1, d, true));
        // Sq > Sk: the first rows see no key when causal
        cases.add(of("one row past a group, one key short of a tile", small ? 1 : 2, 2, 1, rows + 1, Math.max(1, keys - 1), d, true));
        cases.add(of("Sq = 1, Sk = 1", 1, 2, 1, 1, 1, d, true));
        cases.add(new Case("key padding: lengths full, 0 and one short of a tile", AttentionProblem.of(
                new AttentionShape(3, padHeads, Math.max(1, padHeads / 2), rows + 1, 2 * keys + 3, d), true)
                .withKvLens(new int[] {2 * keys + 3, 0, Math.max(1, keys - 1)}), 1f));
        cases.add(new Case("large logits", AttentionProblem.of(new AttentionShape(1, small ? 1 : 2, 1, rows + 1, rows + keys + 2, d),
                true), LARGE_LOGITS));
        if (!small) {
            cases.add(of("Sq = 1 against a tile and one key, not causal", 1, 3, 1, 1, keys + 1, d, false));
            cases.add(of("two groups less a row, grouped heads, not causal", 2, 6, 3, 2 * rows - 1, 2 * keys + 1, d, false));
            cases.add(of("three groups and a row, causal", 1, 2, 2, 3 * rows + 1, 3 * rows + 2 * keys - 1, d, true));
            cases.add(new Case("Sq = Sk + 1 (row 0 sees no key), key padding to 1", AttentionProblem.of(
                    new AttentionShape(2, 2, 1, rows + 2, rows + 1, d), true).withKvLens(new int[] {rows + 1, 1}), 1f));
        }
        return cases;
    }

    /**
     * The decode matrix (Sq at most {@code maxSq}) of a variant whose splits advance {@code tiles.keyTile()} keys per
     * step: run it once with the host's own split and once with one step per split, so that several splits, a partial
     * last one and splits that see no key (early causal rows) all occur. {@code small}: fewer heads and steps.
     */
    static List<Case> decode(FlashConfig.Tiles tiles, int d, int maxSq, boolean small) {
        int keys = tiles.keyTile();
        int heads = small ? 2 : 4;
        int steps = small ? 1 : 3;
        List<Case> cases = new ArrayList<>();
        cases.add(of("Sq = 1, Sk = 1", 1, 2, 1, 1, 1, d, true));
        cases.add(of("one key short of a step", 1, heads, heads / 2, 1, Math.max(1, keys - 1), d, true));
        cases.add(of("Sq at most, " + steps + " steps and five keys", 1, heads, heads / 2, maxSq, steps * keys + 5, d, true));
        cases.add(of("Sq > Sk: rows that see no key", 1, 2, 1, maxSq, Math.max(1, maxSq - 3), d, true));
        int padded = (small ? 1 : 2) * keys + 3;
        cases.add(new Case("key padding: lengths full, 0 and one short of a step", AttentionProblem.of(
                new AttentionShape(3, small ? 1 : 4, small ? 1 : 2, 2, padded, d), true)
                .withKvLens(new int[] {padded, 0, Math.max(1, keys - 1)}), 1f));
        cases.add(new Case("large logits", AttentionProblem.of(new AttentionShape(1, small ? 1 : 2, 1, 1, padded, d), true),
                LARGE_LOGITS));
        if (!small) {
            cases.add(of("one key past a step, grouped heads, not causal", 2, 6, 3, 2, keys + 1, d, false));
            cases.add(of("Sq = 1, many steps", 1, 2, 2, 1, 9 * keys + 7, d, true));
        }
        return cases;
    }

    /** q scaled so that logits are about 1e4: a softmax without max-subtraction would overflow. */
    static final float LARGE_LOGITS = 1e4f / 3;

    private static Case of(String what, int b, int h, int hkv, int sq, int sk, int d, boolean causal) {
        return new Case(what, AttentionProblem.of(new AttentionShape(b, h, hkv, sq, sk, d), causal), 1f);
    }

    /** Runs a case on {@code op} and on the CPU reference; the comparisons of out and lse (in that order). */
    static List<Comparison> compare(Attention op, Case c, long seed) {
        AttentionShape shape = c.problem().shape();
        Tensor q = RandomTensors.gaussian(seed, 0, shape.queryShape());
        if (c.qScale() != 1f) {
            for (int i = 0; i < q.size(); i++) {
                q.data()[i] *= c.qScale();
            }
        }
        Tensor k = RandomTensors.gaussian(seed, 1, shape.keyValueShape());
        Tensor v = RandomTensors.gaussian(seed, 2, shape.keyValueShape());
        AttentionResult got = op.run(c.problem(), q, k, v);
        AttentionResult want = new CpuAttention().run(c.problem(), q, k, v);
        Tolerance tolerance = ClAttentionConformanceTest.largeLogitTolerance(c.qScale(), v);
        return List.of(Validate.compare("out", got.out().data(), want.out().data(), tolerance),
                Validate.compare("lse", got.lse().data(), want.lse().data(), tolerance));
    }

    /**
     * {@link FlashAttention#enqueueAccumulate} on a case, against the CPU reference of the same thing: attention over
     * the case's keys ({@link CpuAttention}) merged by {@link LseMerge#reference} into a running result. The running
     * result is attention of the same queries over other random keys (non-causal, half as many plus one), with every
     * third row reset to "no key yet" (output 0, lse negative infinity); the comparisons of out and lse.
     */
    static List<Comparison> compareAccumulate(FlashAttention op, ClContext context, Case c, long seed) {
        AttentionProblem problem = c.problem();
        AttentionShape s = problem.shape();
        Tensor q = RandomTensors.gaussian(seed, 0, s.queryShape());
        for (int i = 0; i < q.size(); i++) {
            q.data()[i] *= c.qScale();
        }
        Tensor k = RandomTensors.gaussian(seed, 1, s.keyValueShape());
        Tensor v = RandomTensors.gaussian(seed, 2, s.keyValueShape());
        // pass 1: the running result over other keys, some rows reset
        AttentionProblem before = AttentionProblem.of(new AttentionShape(s.batch(), s.heads(), s.kvHeads(), s.queryLen(),
                s.keyLen() / 2 + 1, s.headDim()), false);
        float[] runningOut = new float[(int) s.queryElements()];
        float[] runningLse = new float[s.batch() * s.heads() * s.queryLen()];
        CpuAttention.forward(runningOut, runningLse, q.data(),
                RandomTensors.gaussian(seed, 3, before.shape().keyValueShape()).data(),
                RandomTensors.gaussian(seed, 4, before.shape().keyValueShape()).data(), before);
        for (int row = 0; row < runningLse.length; row += 3) {
            runningLse[row] = Float.NEGATIVE_INFINITY;
            java.util.Arrays.fill(runningOut, row * s.headDim(), (row + 1) * s.headDim(), 0f);
        }
        // pass 2: the reference, this call's attention merged into it in double
        float[] wantOut = runningOut.clone();
        float[] wantLse = runningLse.clone();
        float[] partOut = new float[runningOut.length];
        float[] partLse = new float[runningLse.length];
        CpuAttention.forward(partOut, partLse, q.data(), k.data(), v.data(), problem);
        LseMerge.reference(wantOut, wantLse, partOut, partLse, s.headDim());
        // pass 3: the device, continuing from the running result in place
        float[] gotOut = new float[runningOut.length];
        float[] gotLse = new float[runningLse.length];
        try (ClBuffer qBuf = context.createBuffer(q.data(), "q");
             ClBuffer kBuf = context.createBuffer(k.data(), "k");
             ClBuffer vBuf = context.createBuffer(v.data(), "v");
             ClBuffer outBuf = context.createBuffer(runningOut, "running out");
             ClBuffer lseBuf = context.createBuffer(runningLse, "running lse");
             ClBuffer lensBuf = problem.kvLens() == null ? null : context.createBuffer(4L * s.batch(), "kv_lens")) {
            ClQueue queue = context.queue();
            if (lensBuf != null) {
                queue.write(lensBuf, problem.kvLens());
            }
            op.enqueueAccumulate(queue, problem, new AttentionBuffers(qBuf, kBuf, vBuf, outBuf, lseBuf, lensBuf, s.keyLen()));
            queue.read(outBuf, gotOut);
            queue.read(lseBuf, gotLse);
        }
        Tolerance tolerance = ClAttentionConformanceTest.largeLogitTolerance(c.qScale(), v);
        return List.of(Validate.compare("accumulated out", gotOut, wantOut, tolerance),
                Validate.compare("accumulated lse", gotLse, wantLse, tolerance));
    }

}
