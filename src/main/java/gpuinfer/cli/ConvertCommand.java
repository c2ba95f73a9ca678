package gpuinfer.cli;

import gpuinfer.InputException;
import gpuinfer.model.GgufExport;
import gpuinfer.model.LoadedModel;
import gpuinfer.util.Progress;
import gpuinfer.util.Sizes;
import gpuinfer.weights.WeightType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code gpu-infer convert}: a model folder or GGUF file to a GGUF file in F32, F16, BF16, Q8_0 or Q4_0. */
@Command(name = "convert", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write a model as a GGUF file (llama.cpp's gpt2, llama or qwen2 architecture, with the tokenizer",
                "and chat template), readable by llama.cpp and by gpu-infer. The source is a Hugging Face folder or a",
                "GGUF file (K-quants included); a Llama folder's q and k rows are permuted to llama.cpp's rotary order. Every matrix is written in --type (Q8_0 and Q4_0 with ggml's reference quantisers, bit for",
                "bit as llama-quantize writes them; F16 for a matrix whose rows are not whole blocks); the position",
                "table and the vectors in F32, as llama.cpp keeps them.",
                "Tensors are converted one row range at a time: a model larger than memory converts in a few MiB. The",
                "file is written under a temporary name and renamed when complete.",
                "", "Examples:",
                "  gpu-infer convert --model ~/models/gpt2 --type q8_0 --out gpt2.Q8_0.gguf",
                "  gpu-infer convert --model gpt2.Q4_K_M.gguf --type f16 --out gpt2.F16.gguf",
                "  gpu-infer convert --model ~/models/TinyLlama-1.1B-Chat-v1.0 --type q8_0 --out tinyllama.Q8_0.gguf", ""})
final class ConvertCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    /** The model to convert. */
    @Mixin
    ModelPathOption model;

    @Option(names = "--out", required = true, paramLabel = "FILE.gguf", description = "The GGUF file to write.")
    Path out;

    @Option(names = "--type", defaultValue = "f16", paramLabel = "FORMAT",
            description = "Format of the matrices: f32, f16, bf16, q8_0 or q4_0 (default: ${DEFAULT-VALUE}).")
    String type;

    @Option(names = "--name", paramLabel = "NAME", description = "general.name of the file (default: the source's name).")
    String name;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter stdout = spec.commandLine().getOut();
        WeightType target = WeightType.parseTarget("--type", type);
        Path source = model.path();
        if (Files.exists(out) && Files.exists(source) && isSameFile(out, source)) {
            throw new InputException("--out " + out + " is the model being converted; write to another file.");
        }
        if (Files.isDirectory(out)) {
            throw new InputException("--out " + out + " is a folder; give the path of the .gguf file to write.");
        }
        long start = System.nanoTime();
        LoadedModel loaded = LoadedModel.openAsStored(source);
        String title = name != null ? name : loaded.name().replaceFirst("(?i)\\.gguf$", "");
        long sourceBytes = loaded.weights().deviceBytes();
        GgufExport.Summary summary;
        try (Progress progress = new Progress(err, "converting " + loaded.name() + " (" + loaded.weights().formats()
                + ") to " + target, estimate(loaded, target), 1.0)) {
            summary = GgufExport.write(loaded, target, title, out, progress::step);
        } catch (IOException e) {
            throw new InputException("Cannot write " + out + ": " + e.getMessage() + ". Nothing was written (the partial "
                    + "file was removed).", e);
        }
        for (String note : summary.notes()) {
            err.println("note: " + note);
        }
        stdout.printf(Locale.ROOT, "wrote %s: " + loaded.config().architecture() + " '%s', %d blocks, %d tensors (%s), %s of tensors (%s as %s), in %.1f s%n", out,
                title, loaded.config().nLayer(), summary.tensors(),
                summary.formats(), Sizes.bytes(summary.bytes()), Sizes.bytes(sourceBytes), loaded.weights().formats(),
                (System.nanoTime() - start) / 1e9);
        return ExitCodes.OK;
    }

    /** Bytes the conversion writes, for the progress line: every matrix in the target format, roughly. */
    private static long estimate(LoadedModel model, WeightType target) {
        long values = 0;
        for (gpuinfer.weights.WeightTensor t : model.weights().matrices()) {
            values += t.elementCount();
        }
        return (long) (values * target.bitsPerValue() / 8);
    }

    private static boolean isSameFile(Path a, Path b) {
        try {
            return Files.isSameFile(a, b);
        } catch (IOException e) {
            return false;
        }
    }
}
