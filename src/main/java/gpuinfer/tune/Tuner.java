package gpuinfer.tune;

import gpuinfer.GpuInferException;
import gpuinfer.check.Comparison;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.DeviceInfo;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Searches a kernel's -D parameters on the current device. Every candidate is built and validated against the CPU
 * reference on awkward shapes before it is timed: a candidate that fails to build, fails at run time or computes a
 * wrong result is rejected with the reason, and is never selected however fast it is.
 */
public final class Tuner {
    private Tuner() {
    }

    /** One kernel's search. */
    public interface Target {
        /** The key its results are stored under, e.g. "flash/D=64". */
        String key();

        /** What the timing runs on, e.g. "B=1 H=12 S=1024 D=64 causal". */
        String timedShape();

        /** The parameters the kernel uses without tuning, in full. */
        Map<String, String> defaults(DeviceInfo device);

        /** Candidate parameter sets within the device's constraints (register file, local memory). */
        List<Map<String, String>> space(DeviceInfo device);

        /** Builds a candidate; {@code extraOptions} is for tests that plant faulty kernels. */
        Trial open(ClContext context, Map<String, String> params, String extraOptions);

        /** The candidates tried besides the defaults: at most {@code budget}, spread over the space. */
        default List<Candidate> candidates(DeviceInfo device, int budget, long seed) {
            return sample(space(device), budget, seed);
        }

        /**
         * Whether the defaults may be rejected like any candidate: true for a choice between alternatives (kernel
         * variants), where the fastest accepted one is then chosen; false for -D values, whose defaults must work.
         */
        default boolean defaultsMayBeRejected() {
            return false;
        }

        /**
         * Why tuning this target would measure nothing that runs on {@code context}'s device, or null when it
         * applies (the command then says why and moves on).
         */
        default String notApplicable(ClContext context) {
            return null;
        }
    }

    /** A built candidate. */
    public interface Trial extends AutoCloseable {
        /** Results on the validation shapes against the CPU reference; the first failing one, or the last one. */
        Comparison validate();

        /** Median wall time of the timed shape over {@code repeats} runs after {@code warmup}. */
        double millis(int warmup, int repeats);

        @Override
        void close();
    }

    /** A candidate: parameters, plus build options only tests add. */
    public record Candidate(Map<String, String> params, String extraOptions) {
        public static Candidate of(Map<String, String> params) {
            return new Candidate(params, "");
        }

        @Override
        public String toString() {
            StringBuilder s = new StringBuilder();
            params.forEach((k, v) -> s.append(s.length() == 0 ? "" : " ").append(k).append('=').append(v));
            return s + (extraOptions.isEmpty() ? "" : " " + extraOptions);
        }
    }

    /** What happened to one candidate. {@code millis} is NaN when it was rejected. */
    public record Outcome(Candidate candidate, boolean accepted, String reason, double millis) {
    }

    /** The search's result: the defaults' outcome, the best accepted candidate, and every outcome. */
    public record Result(String key, String timedShape, Outcome defaults, Outcome best, List<Outcome> outcomes) {
        /** Time of the defaults over time of the best: 1.0 when the defaults were best. */
        public double speedup() {
            return defaults.millis() / best.millis();
        }

        /** Whether the defaults were rejected (only where the target allows it): then speedup() is NaN. */
        public boolean defaultsRejected() {
            return !defaults.accepted();
        }

        /** What the stored result was measured on, as {@code gpu-infer tune} stores it beside the parameters. */
        public Map<String, Object> evidence() {
            Map<String, Object> evidence = new LinkedHashMap<>();
            evidence.put("timedShape", timedShape);
            evidence.put("bestMs", best.millis());
            evidence.put("defaultMs", defaults.accepted() ? defaults.millis() : null);
            evidence.put("defaults", defaults.candidate().params());
            if (!defaults.accepted()) {
                evidence.put("defaultsRejected", defaults.reason());
            }
            evidence.put("candidates", outcomes.size());
            evidence.put("rejected", outcomes.stream().filter(o -> !o.accepted()).count());
            return evidence;
        }
    }

    /** Finalists (the defaults and the fastest few) re-timed this many rounds, interleaved, before choosing. */
    static final int CONFIRMATION_ROUNDS = 3;
    /** A candidate must beat the defaults by more than this fraction of their time to replace them. */
    static final double MARGIN = 0.02;

    /**
     * Tries the defaults first, then each candidate. The defaults and the three fastest accepted candidates are
     * then timed again in {@link #CONFIRMATION_ROUNDS} interleaved rounds (machines are noisy: one measurement
     * can crown a candidate that was merely lucky); each keeps the median of its measurements, and a candidate
     * replaces the defaults only if it is faster by more than {@link #MARGIN}. Rejected defaults end the search
     * with an error, unless the target allows it ({@link Target#defaultsMayBeRejected()}): then the fastest accepted
     * candidate is chosen (and an error only if every candidate was rejected).
     */
    public static Result tune(ClContext context, Target target, List<Candidate> candidates, int warmup, int repeats,
                              Consumer<Outcome> onOutcome) {
        DeviceInfo device = context.device().info();
        Outcome defaults = attempt(context, target, Candidate.of(target.defaults(device)), warmup, repeats);
        onOutcome.accept(defaults);
        if (!defaults.accepted() && !target.defaultsMayBeRejected()) {
            throw new GpuInferException("The default parameters of " + target.key() + " were rejected on '" + device.name()
                    + "': " + defaults.reason() + ". This is a bug in gpu-infer or the driver; the tuner cannot compare against them.");
        }
        List<Outcome> outcomes = new ArrayList<>(List.of(defaults));
        for (Candidate candidate : candidates) {
            if (candidate.params().equals(defaults.candidate().params()) && candidate.extraOptions().isEmpty()) {
                continue;
            }
            Outcome outcome = attempt(context, target, candidate, warmup, repeats);
            outcomes.add(outcome);
            onOutcome.accept(outcome);
        }
        List<Outcome> finalists = new ArrayList<>();
        if (defaults.accepted()) {
            finalists.add(defaults);
        }
        outcomes.stream().filter(o -> o.accepted() && o != defaults).sorted(Comparator.comparingDouble(Outcome::millis))
                .limit(3).forEach(finalists::add);
        if (finalists.isEmpty()) {
            throw new GpuInferException("Every candidate of " + target.key() + " was rejected on '" + device.name()
                    + "' (the defaults: " + defaults.reason() + "). This is a bug in gpu-infer or the driver.");
        }
        Map<Outcome, List<Double>> times = new LinkedHashMap<>();
        for (Outcome f : finalists) {
            times.put(f, new ArrayList<>(List.of(f.millis())));
        }
        for (int round = 0; round < CONFIRMATION_ROUNDS && finalists.size() > 1; round++) {
            for (Outcome f : finalists) {
                try (Trial trial = target.open(context, f.candidate().params(), f.candidate().extraOptions())) {
                    times.get(f).add(trial.millis(warmup, repeats));
                }
            }
        }
        List<Outcome> confirmed = new ArrayList<>();
        for (Outcome f : finalists) {
            double[] t = times.get(f).stream().mapToDouble(Double::doubleValue).toArray();
            confirmed.add(new Outcome(f.candidate(), true, "", gpuinfer.bench.Stats.median(t)));
        }
        Optional<Outcome> fastest = confirmed.stream().min(Comparator.comparingDouble(Outcome::millis));
        Outcome best;
        Outcome confirmedDefaults;
        if (defaults.accepted()) {
            Outcome kept = confirmed.get(0);
            best = fastest.filter(o -> o.millis() < kept.millis() * (1 - MARGIN)).orElse(kept);
            confirmedDefaults = kept;
        } else {
            best = fastest.orElseThrow(); // rejected defaults: the fastest accepted candidate, whatever the margin
            confirmedDefaults = defaults;
        }
        List<Outcome> all = new ArrayList<>(outcomes);
        all.replaceAll(o -> confirmed.stream().filter(c -> c.candidate().equals(o.candidate())).findFirst().orElse(o));
        return new Result(target.key(), target.timedShape(), confirmedDefaults, best, all);
    }

    static Outcome attempt(ClContext context, Target target, Candidate candidate, int warmup, int repeats) {
        try (Trial trial = target.open(context, candidate.params(), candidate.extraOptions())) {
            Comparison check = trial.validate();
            if (!check.passed()) {
                return new Outcome(candidate, false, "wrong result: " + check.summary(), Double.NaN);
            }
            return new Outcome(candidate, true, "", trial.millis(warmup, repeats));
        } catch (GpuInferException | IllegalArgumentException e) {
            String message = e.getMessage() == null ? e.toString() : e.getMessage();
            return new Outcome(candidate, false, firstLines(message), Double.NaN);
        }
    }

    private static String firstLines(String message) {
        String[] lines = message.strip().split("\n");
        return lines.length <= 2 ? String.join(" ", lines) : lines[0] + " " + lines[1] + " ...";
    }

    /** Every combination of the given values, in order (the first key varies slowest). */
    public static List<Map<String, String>> grid(Map<String, List<Integer>> values) {
        List<Map<String, String>> all = new ArrayList<>(List.of(new LinkedHashMap<>()));
        for (Map.Entry<String, List<Integer>> e : values.entrySet()) {
            List<Map<String, String>> next = new ArrayList<>();
            for (Map<String, String> partial : all) {
                for (int v : e.getValue()) {
                    Map<String, String> m = new LinkedHashMap<>(partial);
                    m.put(e.getKey(), Integer.toString(v));
                    next.add(m);
                }
            }
            all = next;
        }
        return all;
    }

    /** At most {@code budget} candidates, spread over the space by a fixed-seed shuffle (reproducible searches). */
    public static List<Candidate> sample(List<Map<String, String>> space, int budget, long seed) {
        List<Map<String, String>> shuffled = new ArrayList<>(space);
        java.util.Collections.shuffle(shuffled, new java.util.Random(seed));
        return shuffled.subList(0, Math.min(budget, shuffled.size())).stream().map(Candidate::of).toList();
    }
}
