package gpuinfer.selftest;

import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionResult;
import gpuinfer.attention.AttentionShape;
import gpuinfer.attention.ClAttention;
import gpuinfer.attention.CpuAttention;
import gpuinfer.attention.FlashAttention;
import gpuinfer.attention.NaiveAttention;
import gpuinfer.check.Tolerance;
import gpuinfer.cl.ClContext;
import gpuinfer.tensor.RandomTensors;
import gpuinfer.tensor.Tensor;
import gpuinfer.util.Interruption;
import gpuinfer.variants.KernelSettings;

import java.util.ArrayList;
import java.util.List;

/**
 * Attention variants (flash, forced to one variant; the naive path) against {@link CpuAttention} on the output and on
 * each row's log-sum-exp, over problems with grouped heads, key padding, causal masks with Sk &gt; Sq and Sq &gt; Sk
 * (rows that see no key), single keys, and lengths one past a 64-key tile. D = 64, the head size of most models.
 */
final class AttentionCheck {
    private AttentionCheck() {
    }

    /** float32 attention against the double reference (see {@link Tolerance#FP32_ATTENTION}). */
    static final Tolerance TOLERANCE = Tolerance.FP32_ATTENTION;
    static final int HEAD_DIM = 64;

    /**
     * Prefill problems, every one with more query rows than {@code decodeMaxSq} (the flash op splits the keys
     * instead at or below it): grouped heads, key padding and a causal mask with Sk &gt; Sq; Sq = Sk = 65 (one past a
     * tile of 64 keys and a group of 64 rows); Sq &gt; Sk causal, so the first rows see no key; a single key, and a
     * batch entry with none.
     */
    static List<AttentionProblem> prefillProblems(int decodeMaxSq) {
        int sq = decodeMaxSq + 9;
        int pastTile = Math.max(65, decodeMaxSq + 1);
        return List.of(
                AttentionProblem.of(new AttentionShape(2, 2, 1, sq, sq + 23, HEAD_DIM), true).withKvLens(new int[] {sq + 23, sq + 6}),
                AttentionProblem.of(new AttentionShape(1, 1, 1, pastTile, pastTile, HEAD_DIM), true),
                AttentionProblem.of(new AttentionShape(1, 1, 1, sq + 3, 9, HEAD_DIM), true),
                AttentionProblem.of(new AttentionShape(2, 2, 2, sq, 1, HEAD_DIM), false).withKvLens(new int[] {1, 0}));
    }

    /**
     * Decode problems (at most {@code decodeMaxSq} query rows, at least one): one row over 130 keys (one past two
     * tiles of 64) with a batch entry padded to a single key, two query heads sharing one kv head; up to three rows
     * without a mask; one row and one key.
     */
    static List<AttentionProblem> decodeProblems(int decodeMaxSq) {
        int few = Math.max(1, Math.min(3, decodeMaxSq));
        return List.of(
                AttentionProblem.of(new AttentionShape(2, 2, 1, 1, 130, HEAD_DIM), true).withKvLens(new int[] {130, 1}),
                AttentionProblem.of(new AttentionShape(1, 2, 2, few, 65, HEAD_DIM), false),
                AttentionProblem.of(new AttentionShape(1, 3, 3, 1, 1, HEAD_DIM), true));
    }

    /** The problems of one flash decision point: prefill ones for the prefill point, decode ones for the decode point. */
    static VariantResult flash(ClContext context, KernelSettings forced, String variant, String point, boolean prefill) {
        ErrorTally tally = new ErrorTally(variant, point, TOLERANCE);
        try (FlashAttention op = new FlashAttention(context, forced, java.util.Map.of())) {
            int decodeMaxSq = op.config(HEAD_DIM).decodeMaxSq();
            for (AttentionProblem problem : prefill ? prefillProblems(decodeMaxSq) : decodeProblems(decodeMaxSq)) {
                tally.shape(label(problem));
                String ran = op.variant(problem);
                if (!ran.equals(variant)) {
                    tally.notRun("the op runs " + ran + " for " + label(problem) + " here (" + variant
                            + " does not fit this device's kernel limits, or this build does not have it)");
                    break;
                }
                runProblem(op, problem, tally);
            }
        } catch (Interruption.Interrupted e) {
            throw e;
        } catch (RuntimeException e) {
            return tally.result(e);
        }
        return tally.result(null);
    }

    /**
     * The naive path (scores, softmax, P·V), which has no alternative and no separate decode kernels: the prefill
     * problems and the first decode one (a single query row over 130 keys, one padded to a single key).
     */
    static VariantResult naive(ClContext context, String name) {
        ErrorTally tally = new ErrorTally(name, DeviceSelfTest.NO_ALTERNATIVE, TOLERANCE);
        List<AttentionProblem> problems = new ArrayList<>(prefillProblems(8));
        problems.add(decodeProblems(8).get(0));
        try (NaiveAttention op = new NaiveAttention(context)) {
            for (AttentionProblem problem : problems) {
                tally.shape(label(problem));
                runProblem(op, problem, tally);
            }
        } catch (Interruption.Interrupted e) {
            throw e;
        } catch (RuntimeException e) {
            return tally.result(e);
        }
        return tally.result(null);
    }

    private static void runProblem(ClAttention op, AttentionProblem problem, ErrorTally tally) {
        AttentionShape s = problem.shape();
        long seed = s.hashCode();
        Tensor q = RandomTensors.gaussian(seed, 0, s.queryShape());
        Tensor k = RandomTensors.gaussian(seed, 1, s.keyValueShape());
        Tensor v = RandomTensors.gaussian(seed, 2, s.keyValueShape());
        float[] out = new float[(int) s.queryElements()];
        float[] lse = new float[s.batch() * s.heads() * s.queryLen()];
        CpuAttention.forward(out, lse, q.data(), k.data(), v.data(), problem);
        AttentionResult got = op.run(problem, q, k, v);
        tally.compare("out", got.out().data(), out);
        tally.compare("lse", got.lse().data(), lse);
    }

    /** "B=2 H=4/2 Sq=17 Sk=40 causal kv-lens 40,23": one problem, briefly. */
    static String label(AttentionProblem p) {
        AttentionShape s = p.shape();
        StringBuilder text = new StringBuilder("B=" + s.batch() + " H=" + s.heads() + (s.kvHeads() != s.heads()
                ? "/" + s.kvHeads() : "") + " Sq=" + s.queryLen() + " Sk=" + s.keyLen());
        if (p.causal()) {
            text.append(" causal");
        }
        if (p.kvLens() != null) {
            text.append(" kv-lens ");
            for (int i = 0; i < p.kvLens().length; i++) {
                text.append(i == 0 ? "" : ",").append(p.kvLens()[i]);
            }
        }
        return text.toString();
    }
}
