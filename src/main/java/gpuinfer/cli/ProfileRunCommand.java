package gpuinfer.cli;

import gpuinfer.InputException;
import gpuinfer.cl.ClContext;
import gpuinfer.cl.ClDevice;
import gpuinfer.cl.ClQueue;
import gpuinfer.cl.KernelTiming;
import gpuinfer.generate.Generator;
import gpuinfer.generate.SamplingOptions;
import gpuinfer.model.DecoderModel;
import gpuinfer.model.ModelWeights;
import gpuinfer.ops.ClBackend;
import gpuinfer.profile.DevicePeaks;
import gpuinfer.profile.KernelProfile;
import gpuinfer.profile.ProfileOutput;
import gpuinfer.text.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code gpu-infer profile run}: a text generation, kernel by kernel. */
@Command(name = "run", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Profile a generation (prefill of the prompt, then --max-tokens greedy decode steps): --warmup",
                "untimed generations, then --repeat recorded ones; every kernel launch is recorded.", ""})
final class ProfileRunCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--prompt", defaultValue = "The meaning of life is", description = "Prompt (default: \"${DEFAULT-VALUE}\").")
    String prompt;

    @Option(names = "--max-tokens", defaultValue = "16", description = "Tokens generated (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    /** Untimed generations, then recorded ones. */
    @Mixin
    RepeatOptions.Measured repeat;

    @Mixin
    ProfileOutputOptions output;

    @Mixin
    OpenClOptions opencl;

    @Override
    public Integer call() throws IOException {
        if (maxTokens < 1) {
            throw new InputException("--max-tokens must be at least 1.");
        }
        repeat.checked();
        PrintWriter out = spec.commandLine().getOut();
        gpuinfer.model.LoadedModel loaded = modelOptions.open(spec.commandLine().getErr());
        Path dir = loaded.path();
        ModelWeights weights = loaded.weights();
        Tokenizer tokenizer = loaded.tokenizer();
        int[] ids = tokenizer.encode(prompt);
        if (ids.length == 0 || ids.length + maxTokens > weights.config.nPositions()) {
            throw new InputException("The prompt (" + ids.length + " tokens) must be non-empty and, with --max-tokens "
                    + maxTokens + ", fit the model's n_positions " + weights.config.nPositions() + ".");
        }
        ClDevice device = opencl.selectDevice();
        List<KernelTiming> all = new ArrayList<>();
        List<List<KernelTiming>> runs = new ArrayList<>();
        double[] walls = new double[repeat.repeat()];
        DevicePeaks peaks;
        try (ClContext context = opencl.openContext(device);
             DecoderModel gpt = new DecoderModel(new ClBackend(context, opencl.settings(context)), weights, 1, ids.length + maxTokens, ids.length, 1)) {
            peaks = DevicePeaks.of(context, output.measurePeaks);
            ClQueue queue = context.queue();
            for (int w = 0; w < repeat.warmup(); w++) {
                Generator.generate(gpt, tokenizer, List.of(ids), maxTokens, SamplingOptions.greedy(), false, null);
            }
            for (int r = 0; r < repeat.repeat(); r++) {
                queue.startRecording();
                long start = System.nanoTime();
                List<KernelTiming> run;
                try {
                    Generator.generate(gpt, tokenizer, List.of(ids), maxTokens, SamplingOptions.greedy(), false, null);
                    queue.finish();
                } finally {
                    run = queue.stopRecording();
                }
                walls[r] = (System.nanoTime() - start) / 1e6;
                runs.add(run);
                all.addAll(run);
            }
        }
        List<KernelProfile.Row> rows = KernelProfile.rows("", all, peaks);
        out.printf("profile of %s generating %d tokens after a %d-token prompt on %s %s through %s; %d recorded generation(s)%n%n",
                dir.getFileName(), maxTokens, ids.length, device.id(), device.name(), opencl.runtime().binding(), repeat.repeat());
        ProfileOutput.printTable(out, rows, peaks);
        ProfileOutput.printOverhead(out, KernelProfile.overhead(runs, walls));
        ProfileOutput.writeFiles(out, device.name(), dir.getFileName() + " generation on " + device.name(), all, rows, peaks,
                output.trace, output.csv, output.roofline);
        return ExitCodes.OK;
    }
}
