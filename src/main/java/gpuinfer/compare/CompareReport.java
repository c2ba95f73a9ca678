package gpuinfer.compare;

import gpuinfer.check.Comparison;
import gpuinfer.tensor.Tensor;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** The tensors of two executions side by side, in the order the computation produced them. */
public final class CompareReport {
    private final String title;
    private final Execution a;
    private final Execution b;
    private final List<TensorReport> tensors = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();

    public CompareReport(String title, Execution a, Execution b) {
        this.title = title;
        this.a = a;
        this.b = b;
    }

    public void add(TensorReport report) {
        tensors.add(report);
    }

    public void note(String note) {
        notes.add(note);
    }

    public List<TensorReport> tensors() {
        return tensors;
    }

    public boolean passed() {
        return tensors.stream().allMatch(TensorReport::passed);
    }

    /** The first tensor, in computation order, outside its tolerance: where the two runs diverge. */
    public Optional<TensorReport> firstDivergence() {
        return tensors.stream().filter(t -> !t.passed()).findFirst();
    }

    public void print(PrintWriter out) {
        out.println(title);
        out.println("a: " + a.describe());
        out.println("b: " + b.describe());
        out.println();
        out.printf("%-22s %-18s %10s %10s %10s %10s %10s %10s %9s %8s  %s%n", "tensor", "shape", "max abs", "max rel",
                "mean abs", "rms", "cosine", "nmse", "over tol", "first", "tolerance");
        for (TensorReport t : tensors) {
            Comparison c = t.comparison();
            String judged = t.nmseLimit() != null ? String.format(Locale.ROOT, "nmse <= %.1e", t.nmseLimit())
                    : c.tolerance().toString();
            out.printf(Locale.ROOT, "%-22s %-18s %10.3e %10.3e %10.3e %10.3e %10.7f %10.3e %9d %8s  %s%s%n", t.name(),
                    Tensor.describe(t.shape()).replace(" ", ""), c.maxAbsError(), c.maxRelError(), c.meanAbsError(),
                    c.rmsError(), c.cosine(), c.nmse(), c.mismatches(),
                    c.firstMismatchIndex() < 0 ? "-" : Long.toString(c.firstMismatchIndex()), judged,
                    t.passed() ? "" : "   FAIL");
            if (t.logits() != null) {
                out.printf(Locale.ROOT, "%-22s argmax agrees on %d of %d rows (%.1f%%), top-%d overlap %.1f%%%n", "",
                        Math.round(t.logits().argmaxAgreement() * t.logits().rows()), t.logits().rows(),
                        100 * t.logits().argmaxAgreement(), t.logits().topK(), 100 * t.logits().topKOverlap());
            }
        }
        for (String note : notes) {
            out.println("note: " + note);
        }
        out.println();
        Optional<TensorReport> first = firstDivergence();
        if (first.isPresent()) {
            TensorReport t = first.get();
            if (t.nmseLimit() != null) {
                out.printf(Locale.ROOT, "FAIL: the runs diverge first at '%s': NMSE %.3e exceeds %.1e%n", t.name(),
                        t.comparison().nmse(), t.nmseLimit());
            } else {
                out.println("FAIL: the runs diverge first at '" + t.name() + "'" + (t.comparison().firstMismatches().isEmpty() ? ""
                        : ", element " + t.comparison().firstMismatches().get(0)));
            }
        } else {
            boolean byNmse = tensors.stream().anyMatch(t -> t.nmseLimit() != null);
            out.println("PASS: all " + tensors.size() + " tensors within " + (byNmse ? "their NMSE limits" : "tolerance"));
        }
    }

    public Map<String, Object> toJson() {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("title", title);
        doc.put("a", a.describe());
        doc.put("b", b.describe());
        doc.put("passed", passed());
        doc.put("firstDivergence", firstDivergence().map(TensorReport::name).orElse(null));
        List<Object> list = new ArrayList<>();
        for (TensorReport t : tensors) {
            Comparison c = t.comparison();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", t.name());
            m.put("shape", t.shape());
            m.put("count", c.count());
            m.put("atol", c.tolerance().atol());
            m.put("rtol", c.tolerance().rtol());
            m.put("maxAbsError", c.maxAbsError());
            m.put("maxRelError", c.maxRelError());
            m.put("meanAbsError", c.meanAbsError());
            m.put("rmsError", c.rmsError());
            m.put("cosine", c.cosine());
            m.put("nmse", c.nmse());
            m.put("nmseLimit", t.nmseLimit());
            m.put("overTolerance", c.mismatches());
            m.put("firstMismatchIndex", c.firstMismatchIndex());
            m.put("firstMismatches", c.firstMismatches().stream().map(Object::toString).toList());
            if (t.logits() != null) {
                m.put("argmaxAgreement", t.logits().argmaxAgreement());
                m.put("topK", t.logits().topK());
                m.put("topKOverlap", t.logits().topKOverlap());
            }
            m.put("passed", t.passed());
            list.add(m);
        }
        doc.put("tensors", list);
        doc.put("notes", notes);
        return doc;
    }
}
