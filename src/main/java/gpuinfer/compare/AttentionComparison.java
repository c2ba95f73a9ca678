package gpuinfer.compare;

import gpuinfer.attention.AttentionBuffers;
import gpuinfer.attention.AttentionImpls;
import gpuinfer.selftest.DeviceSetup;
import gpuinfer.attention.AttentionProblem;
import gpuinfer.attention.AttentionShape;
import gpuinfer.attention.ClAttention;
import gpuinfer.attention.CpuAttention;
import gpuinfer.check.Tolerance;
import gpuinfer.check.Validate;
import gpuinfer.cl.ClBuffer;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClDevice;
import gpuinfer.cl.ClRuntime;
import gpuinfer.cl.ProgramCache;
import gpuinfer.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Attention computed by two executions on the same inputs, compared tensor by tensor: the score matrix and the
 * probabilities (where an execution materialises them and B·H·Sq·Sk is small enough to hold), each row's
 * log-sum-exp, and the output.
 */
public final class AttentionComparison {
    /** Scores and probabilities are captured when B·H·Sq·Sk is at most this (64 MiB of floats per tensor). */
    public static final long MAX_SCORE_ELEMENTS = 1L << 24;

    /** The order tensors are produced in, and so the order of the report. */
    static final List<String> ORDER = List.of("scores", "probabilities", "lse", "out");

    /** Computes the named tensors of one execution. */
    public interface Side {
        Execution execution();

        Map<String, float[]> run(AttentionProblem problem, Tensor q, Tensor k, Tensor v);
    }

    private AttentionComparison() {
    }

    /** The Java CPU reference. */
    public static Side cpu() {
        return new Side() {
            @Override
            public Execution execution() {
                return Execution.cpu();
            }

            @Override
            public Map<String, float[]> run(AttentionProblem problem, Tensor q, Tensor k, Tensor v) {
                AttentionShape s = problem.shape();
                Map<String, float[]> tensors = new LinkedHashMap<>();
                if (s.scoreElements() <= MAX_SCORE_ELEMENTS) {
                    float[] scores = new float[(int) s.scoreElements()];
                    float[] probabilities = new float[scores.length];
                    CpuAttention.scoresAndProbabilities(scores, probabilities, q.data(), k.data(), problem);
                    tensors.put("scores", scores);
                    tensors.put("probabilities", probabilities);
                }
                float[] out = new float[(int) s.queryElements()];
                float[] lse = new float[s.batch() * s.heads() * s.queryLen()];
                CpuAttention.forward(out, lse, q.data(), k.data(), v.data(), problem);
                tensors.put("lse", lse);
                tensors.put("out", out);
                return tensors;
            }
        };
    }

    /** An OpenCL execution of a named implementation. */
    public static Side opencl(Execution execution) {
        return opencl(execution, context -> AttentionImpls.create(execution.impl(), context,
                DeviceSetup.settings(context, execution.kernels()), java.util.Map.of()));
    }

    /** An OpenCL execution of an implementation made by {@code factory} (tests plant faulty variants this way). */
    public static Side opencl(Execution execution, Function<ClContext, ClAttention> factory) {
        return new Side() {
            @Override
            public Execution execution() {
                return execution;
            }

            @Override
            public Map<String, float[]> run(AttentionProblem problem, Tensor q, Tensor k, Tensor v) {
                ClRuntime runtime = ClRuntime.get(execution.binding());
                ClDevice device = runtime.select(execution.device());
                AttentionShape s = problem.shape();
                Map<String, float[]> tensors = new LinkedHashMap<>();
                try (ClContext context = runtime.createContext(device, ProgramCache.defaultCache());
                     ClAttention op = factory.apply(context);
                     ClBuffer qb = context.createBuffer(q.data(), "q");
                     ClBuffer kb = context.createBuffer(k.data(), "k");
                     ClBuffer vb = context.createBuffer(v.data(), "v");
                     ClBuffer out = context.createBuffer(4 * s.queryElements(), "out");
                     ClBuffer lse = context.createBuffer(4L * s.batch() * s.heads() * s.queryLen(), "lse");
                     ClBuffer lens = problem.kvLens() == null ? null : context.createBuffer(4L * s.batch(), "kv_lens")) {
                    op.checkFits(problem);
                    if (lens != null) {
                        context.queue().write(lens, problem.kvLens());
                    }
                    op.enqueue(context.queue(), problem, new AttentionBuffers(qb, kb, vb, out, lse, lens, s.keyLen()),
                            (name, buffer, floats) -> {
                                if (floats <= MAX_SCORE_ELEMENTS) {
                                    float[] values = new float[(int) floats];
                                    context.queue().read(buffer, values);
                                    tensors.put(name, values);
                                }
                            });
                    float[] lseValues = new float[s.batch() * s.heads() * s.queryLen()];
                    context.queue().read(lse, lseValues);
                    tensors.put("lse", lseValues);
                    float[] outValues = new float[(int) s.queryElements()];
                    context.queue().read(out, outValues);
                    tensors.put("out", outValues);
                }
                return tensors;
            }
        };
    }

    /** Runs both sides on the same inputs and compares every tensor both produced. */
    public static CompareReport compare(AttentionProblem problem, Tensor q, Tensor k, Tensor v, Side a, Side b,
                                        Tolerance tolerance) {
        Map<String, float[]> ta = a.run(problem, q, k, v);
        Map<String, float[]> tb = b.run(problem, q, k, v);
        AttentionShape s = problem.shape();
        CompareReport report = new CompareReport("attention " + problem, a.execution(), b.execution());
        for (String name : ORDER) {
            float[] x = ta.get(name);
            float[] y = tb.get(name);
            if (x == null || y == null) {
                if (x != null || y != null) {
                    report.note(name + " is produced by " + (x != null ? "a" : "b") + " only ("
                            + (x != null ? b : a).execution().describe() + " never stores it)");
                } else if (name.equals("scores") && s.scoreElements() > MAX_SCORE_ELEMENTS) {
                    report.note("scores and probabilities are not compared: B*H*Sq*Sk = " + s.scoreElements()
                            + " exceeds " + MAX_SCORE_ELEMENTS);
                }
                continue;
            }
            int[] shape = switch (name) {
                case "scores", "probabilities" -> new int[] {s.batch(), s.heads(), s.queryLen(), s.keyLen()};
                case "lse" -> new int[] {s.batch(), s.heads(), s.queryLen()};
                default -> s.outputShape();
            };
            report.add(new TensorReport(name, shape, Validate.compare(name, y, x, tolerance), null));
        }
        if (problem.rowsWithoutKeys() > 0) {
            report.note(problem.rowsWithoutKeys() + " query rows see no key: their output is zero and lse -inf on both sides");
        }
        return report;
    }
}
