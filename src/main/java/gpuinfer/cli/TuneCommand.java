package gpuinfer.cli;

import gpuinfer.InputException;
import gpuinfer.attention.AttentionShape;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClDevice;
import gpuinfer.tune.FlashTarget;
import gpuinfer.tune.LinearTarget;
import gpuinfer.tune.Tuner;
import gpuinfer.tune.TuningStore;
import gpuinfer.tune.VariantTarget;
import gpuinfer.variants.KernelSettings;
import gpuinfer.util.Progress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code gpu-infer tune}: search kernel parameters on this device and keep the fastest correct ones. */
@Command(name = "tune", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Search the -D parameters of the flash attention and linear kernels on the current device, and",
                "(--kernel variants) which kernel variant each decision point runs. Each",
                "candidate is validated against the CPU reference on awkward shapes before it is timed; candidates that",
                "fail to build, fail at run time or compute wrong results are listed with the reason and never chosen.",
                "The defaults and the three fastest candidates are timed again in interleaved rounds; a candidate must",
                "beat the defaults' median by more than 2%%. The result is stored per device and driver in the cache",
                "directory and used automatically afterwards (GPU_INFER_NO_TUNING=1 ignores it).",
                "", "Example: gpu-infer tune --kernel flash --budget 30", ""})
final class TuneCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--kernel", defaultValue = "all", paramLabel = "NAME",
            description = "flash, linear-prefill, linear-decode, variants or all (default: ${DEFAULT-VALUE}). variants "
                    + "times every variant of flash prefill (on --seq), flash decode (Sq=1 against 4*--seq keys), "
                    + "linear prefill and decode (float32 weights) at its default values and stores the fastest "
                    + "correct one, preferred over the --kernels family's choice afterwards.")
    String kernel;

    @Option(names = "--budget", defaultValue = "24", description = "Candidates tried per kernel besides the defaults (default: ${DEFAULT-VALUE}).")
    int budget;

    /** Per candidate: untimed runs, then timed runs whose median decides. */
    @Mixin
    RepeatOptions.Measured repeat;

    @Option(names = "--head-dim", defaultValue = "64", description = "Head size flash is tuned for (default: ${DEFAULT-VALUE}).")
    int headDim;

    @Option(names = "--seq", defaultValue = "1024", description = "Sequence length flash is timed on (default: ${DEFAULT-VALUE}).")
    int seq;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the candidate sampling (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--dry-run", description = "Search and report, but store nothing.")
    boolean dryRun;

    @Mixin
    OpenClOptions opencl;

    /**
     * One result in the summary: "  KEY defaults kept: B ms vs D ms with the defaults = 1.00x (N tried, R rejected)",
     * "  KEY PARAMS: B ms vs D ms with the defaults = S.SSx faster (...)", or, where the defaults were rejected (a
     * wrong default kernel variant), "  KEY PARAMS: B ms; the defaults were rejected (...)".
     */
    static String summaryLine(Tuner.Result r) {
        long rejected = r.outcomes().stream().filter(o -> !o.accepted()).count();
        if (r.defaultsRejected()) {
            return String.format(Locale.ROOT, "  %-16s %s: %.3f ms; the defaults were rejected (%d tried, %d rejected)", r.key(),
                    r.best().candidate(), r.best().millis(), r.outcomes().size(), rejected);
        }
        boolean kept = r.best().candidate().equals(r.defaults().candidate());
        return String.format(Locale.ROOT, "  %-16s %s: %.3f ms vs %.3f ms with the defaults = %.2fx%s (%d tried, %d rejected)",
                r.key(), kept ? "defaults kept" : r.best().candidate().toString(), r.best().millis(), r.defaults().millis(),
                r.speedup(), kept ? "" : " faster", r.outcomes().size(), rejected);
    }

    @Override
    public Integer call() throws IOException {
        if (budget < 0) {
            throw new InputException("--budget must be at least 0.");
        }
        repeat.checked();
        List<Tuner.Target> targets = new ArrayList<>();
        if (kernel.equals("flash") || kernel.equals("all")) {
            targets.add(FlashTarget.of(new AttentionShape(1, 12, 12, seq, seq, headDim)));
        }
        if (kernel.equals("linear-prefill") || kernel.equals("all")) {
            targets.add(LinearTarget.prefill());
        }
        if (kernel.equals("linear-decode") || kernel.equals("all")) {
            targets.add(LinearTarget.decode());
        }
        if (kernel.equals("variants") || kernel.equals("all")) {
            KernelSettings family = KernelSettings.defaults().withFamily(KernelSettings.Family.parse(opencl.kernels));
            targets.add(VariantTarget.flashPrefill(family, new AttentionShape(1, 12, 12, seq, seq, headDim)));
            targets.add(VariantTarget.flashDecode(family, new AttentionShape(1, 12, 12, 1, 4 * seq, headDim)));
            targets.add(VariantTarget.linearPrefill(family));
            targets.add(VariantTarget.linearDecode(family));
        }
        if (targets.isEmpty()) {
            throw new InputException("Unknown --kernel '" + kernel + "': use flash, linear-prefill, linear-decode, variants or all.");
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        ClDevice device = opencl.selectDevice();
        List<Tuner.Result> results = new ArrayList<>();
        try (ClContext context = opencl.openContext(device)) {
            for (Tuner.Target target : targets) {
                String notApplicable = target.notApplicable(context);
                if (notApplicable != null) {
                    out.printf("not tuning %s on %s %s: %s%n%n", target.key(), device.id(), device.name(), notApplicable);
                    out.flush();
                    continue;
                }
                List<Tuner.Candidate> candidates = target.candidates(device.info(), budget, seed);
                out.printf("tuning %s on %s %s, timed on %s; %d candidates besides the defaults, each validated first%n",
                        target.key(), device.id(), device.name(), target.timedShape(), candidates.size());
                out.flush();
                Tuner.Result result;
                try (Progress progress = new Progress(err, "tuning " + target.key(), candidates.size() + 1L)) {
                    result = Tuner.tune(context, target, candidates, repeat.warmup(), repeat.repeat(), outcome -> {
                        progress.step(1);
                        out.printf(Locale.ROOT, "  %-58s %s%n", outcome.candidate(), outcome.accepted()
                                ? String.format(Locale.ROOT, "%9.3f ms", outcome.millis()) : "rejected: " + outcome.reason());
                        out.flush();
                    });
                }
                results.add(result);
                if (!dryRun) {
                    TuningStore.save(device.info(), result.key(), result.best().candidate().params(), result.evidence());
                }
                out.println();
            }
        }
        out.println("summary (medians after " + 3 + " confirmation rounds of the defaults and the three fastest):");
        for (Tuner.Result r : results) {
            out.println(summaryLine(r));
        }
        out.println(dryRun ? "(dry run: nothing stored)" : "stored in " + TuningStore.file(device.info()));
        TuningStore.reload();
        return ExitCodes.OK;
    }
}
