package gpuinfer.cli;

import gpuinfer.model.LoadedModel;
import gpuinfer.viz.Heatmaps;
import gpuinfer.viz.Positions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code gpu-infer viz positions}: the model's positional encoding as pictures. Learned positions (GPT-2): the table
 * and the position-to-position cosine similarity; rotary models: each dimension pair's rotation frequency, the
 * pairs' angles per position ("clock hands at different speeds") and the relative-position score pattern they make.
 */
@Command(name = "positions", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Picture the model's positional encoding: a learned table (GPT-2's wpe) and the cosine similarity of",
                "its positions, or for rotary models the rotation frequency per dimension pair, each pair's angle per",
                "position, and the score of a query and key that differ only in position.", ""})
final class VizPositionsCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--out", defaultValue = "viz", paramLabel = "DIR", description = "Output folder (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--positions", defaultValue = "" + Positions.DEFAULT_POSITIONS, paramLabel = "P",
            description = "Positions shown, at most the model's context and " + Positions.MAX_POSITIONS
                    + " (default: ${DEFAULT-VALUE}).")
    int positions;

    @Override
    public Integer call() throws IOException {
        PrintWriter stdout = spec.commandLine().getOut();
        LoadedModel loaded = modelOptions.open(spec.commandLine().getErr());
        Positions.Encoding encoding = Positions.of(loaded.config(), loaded.weights(), positions);
        Files.createDirectories(out);
        List<Path> written = new ArrayList<>();
        String name = loaded.path().getFileName().toString();
        if (encoding instanceof Positions.Learned learned) {
                stdout.printf("%s: learned positions, a table of %d positions x %d values; showing the first %d%n", name,
                        learned.contextPositions(), learned.width(), learned.positions());
                written.add(write("positions-table.png", matrix(learned.table(), true, name)));
                written.add(write("positions-cosine.png", matrix(learned.cosine(), true, name)));
        } else if (encoding instanceof Positions.Rotary rotary) {
                stdout.printf(Locale.ROOT, "%s: rotary positions over %d of each head's dimensions (%d pairs), theta %s%s; "
                                + "showing %d positions%n", name, rotary.dims(), rotary.dims() / 2, rotary.theta(),
                        rotary.scaled() ? ", frequencies scaled (Llama 3)" : "", rotary.positions());
                int pairs = rotary.inverseFrequency().length;
                double[][] series = rotary.unscaledInverseFrequency() != null && rotary.scaled()
                        ? new double[][] {rotary.inverseFrequency(), rotary.unscaledInverseFrequency()}
                        : new double[][] {rotary.inverseFrequency()};
                List<String> names = series.length == 2 ? List.of("scaled", "unscaled") : List.of("theta_k");
                written.add(write("rope-frequencies.png", Heatmaps.chart(name + " - rotation per position of each "
                        + "dimension pair (radians)", "dimension pair k", "theta_k", names, series, true, false)));
                written.add(write("rope-wavelengths.png", Heatmaps.chart(name + " - wavelength 2pi/theta_k (positions)",
                        "dimension pair k", "positions per turn", List.of("wavelength"),
                        new double[][] {rotary.wavelength()}, true, true)));
                // pairs as rows, positions along: each row is one clock hand turning at its own speed
                written.add(write("rope-angles.png", transposed(rotary.angle(), name)));
                written.add(write("rope-relative-score.png", matrix(rotary.relativeScore(), true, name)));
                double[] byDistance = new double[rotary.scoreByDistance().length];
                for (int d = 0; d < byDistance.length; d++) {
                    byDistance[d] = rotary.scoreByDistance()[d];
                }
                written.add(write("rope-score-by-distance.png", Heatmaps.chart(name + " - score of equal q and k at "
                        + "distance i-j", "distance i-j", "score", List.of("score"), new double[][] {byDistance}, false,
                        false)));
                stdout.printf(Locale.ROOT, "fastest pair turns every %.1f positions, slowest every %.0f%n",
                        rotary.wavelength()[0], rotary.wavelength()[pairs - 1]);
        }
        stdout.println("wrote " + String.join(", ", written.stream().map(Path::toString).toList()));
        return ExitCodes.OK;
    }

    private Path write(String file, BufferedImage image) throws IOException {
        Path path = out.resolve(file);
        Heatmaps.writePng(path, image);
        return path;
    }

    /** Pairs as rows and positions along, from a [positions, pairs] matrix. */
    private static BufferedImage transposed(Positions.Matrix m, String model) {
        return Heatmaps.matrix(values(m, true), false, model + " - " + m.title(), m.rowAxis(), m.columnAxis(), null, null);
    }

    private static BufferedImage matrix(Positions.Matrix m, boolean diverging, String model) {
        return Heatmaps.matrix(values(m, false), diverging, model + " - " + m.title(), m.columnAxis(), m.rowAxis(), null,
                null);
    }

    /** The matrix's values widened to double, transposed or not. */
    private static double[][] values(Positions.Matrix m, boolean transpose) {
        double[][] values = transpose ? new double[m.columns()][m.rows()] : new double[m.rows()][m.columns()];
        for (int r = 0; r < m.rows(); r++) {
            for (int c = 0; c < m.columns(); c++) {
                if (transpose) {
                    values[c][r] = m.values()[r][c];
                } else {
                    values[r][c] = m.values()[r][c];
                }
            }
        }
        return values;
    }
}
