package gpuinfer.cli;

import gpuinfer.model.LoadedModel;
import gpuinfer.weights.WeightType;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;

/**
 * The options every command that runs a model shares: which model ({@link ModelPathOption}, --model), and the format
 * its weights run in (--weights). A command takes {@code @Mixin ModelOptions modelOptions;} and calls
 * {@code modelOptions.open(err)}.
 */
public final class ModelOptions {
    @Mixin
    ModelPathOption model;

    @Option(names = "--weights", paramLabel = "FORMAT",
            description = "Convert every weight matrix to f32, f16, bf16, q8_0 or q4_0 as it is uploaded (ggml's "
                    + "reference quantisers); default: run them as stored.")
    String weights;

    /** The model's path: --model, or the bundled model. */
    Path path() {
        return model.path();
    }

    /** The format of --weights, or null. */
    WeightType conversion() {
        return weights == null ? null : WeightType.parseTarget("--weights", weights);
    }

    /** Opens the model (mapping its weights) and prints what loading converts, one note per line, on {@code err}. */
    LoadedModel open(PrintWriter err) {
        LoadedModel loaded = LoadedModel.open(path(), conversion());
        for (String note : loaded.weights().notes()) {
            err.println("note: " + note);
        }
        err.flush();
        return loaded;
    }
}
