package gpuinfer.cli;

import gpuinfer.InputException;
import gpuinfer.cl.ClContext;
import gpuinfer.model.DecoderModel;
import gpuinfer.model.Interventions;
import gpuinfer.model.LoadedModel;
import gpuinfer.model.ModelConfig;
import gpuinfer.model.Tap;
import gpuinfer.ops.Backend;
import gpuinfer.ops.ClBackend;
import gpuinfer.ops.CpuBackend;
import gpuinfer.text.Tokenizer;
import gpuinfer.viz.AttentionCapture;
import gpuinfer.viz.AttentionJson;
import gpuinfer.viz.AttentionMaps;
import gpuinfer.viz.HeadStatistics;
import gpuinfer.viz.HeadSummary;
import gpuinfer.viz.Heatmaps;
import gpuinfer.viz.InductionTest;
import gpuinfer.viz.NextTokens;
import gpuinfer.viz.TopTokens;
import gpuinfer.viz.VizPage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code gpu-infer viz}: the attention of every layer and head for a prompt, as pictures, an interactive page and
 * JSON, with a per-head summary; {@code viz positions} pictures the model's positional encoding.
 */
@Command(name = "viz", mixinStandardHelpOptions = true, sortOptions = false, subcommands = VizPositionsCommand.class,
        description = {"Capture the attention probabilities of every layer and head for a prompt (recomputed exactly, in",
                "double, from the queries and keys the device computed) and write heads.png, layer-L-head-H.png,",
                "index.html (an interactive page that opens offline) and attention.json into --out; print a per-head",
                "summary (entropy, previous-token, first-token and self shares, induction score) with previous-token",
                "and induction heads flagged. With --ablate/--scale-head/--attend-mask, the top next tokens before",
                "and after. 'viz positions' pictures the positional encoding.", ""})
final class VizCommand implements Callable<Integer> {
    /** Prompts up to this many tokens capture every row by default; longer ones their last {@link #LAST_ROWS}. */
    static final int ALL_ROWS_UP_TO = 64;
    static final int LAST_ROWS = 16;
    /** The induction test's random sequence length (it is repeated once after a BOS). */
    static final int INDUCTION_LENGTH = 50;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--prompt", defaultValue = "The detective looked at the suspects and said that the murderer was",
            description = "The text whose attention is shown (default: \"${DEFAULT-VALUE}\").")
    String prompt;

    @Option(names = "--out", defaultValue = "viz", paramLabel = "DIR", description = "Output folder (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--rows", defaultValue = "auto", paramLabel = "ROWS",
            description = "Query positions captured: auto (all up to " + ALL_ROWS_UP_TO + " tokens, else the last "
                    + LAST_ROWS + "), all, last:N, or a list such as 0,5,9 (default: ${DEFAULT-VALUE}).")
    String rows;

    @Option(names = "--heads", split = ",", paramLabel = "L.H",
            description = "Heads drawn alone with the tokens as labels (layer-L-head-H.png); default: the flagged heads "
                    + "(at most 8), else 0.0.")
    List<String> heads = new ArrayList<>();

    @Option(names = "--no-induction", description = "Skip the induction test (a second run on a repeated random sequence).")
    boolean noInduction;

    @Option(names = "--bertviz", description = "Also write bertviz.json in the layout bertviz's head_view takes (needs every row).")
    boolean bertviz;

    @Mixin
    ModelImplOption impl;

    @Mixin
    InterventionOptions interventionOptions;

    @Mixin
    OpenClOptions opencl;

    @Override
    public Integer call() throws IOException {
        impl.checked();
        PrintWriter stdout = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        LoadedModel loaded = modelOptions.open(err);
        ModelConfig config = loaded.config();
        Tokenizer tokenizer = loaded.tokenizer();
        Interventions interventions = interventionOptions.interventions();
        interventions.check(config);
        int[] ids = tokenizer.encodeWithBos(prompt);
        if (ids.length == 0) {
            throw new InputException("--prompt is empty: give the text whose attention to show.");
        }
        if (ids.length > config.nPositions()) {
            throw new InputException("The prompt is " + ids.length + " tokens; the model allows " + config.nPositions()
                    + ". Shorten it.");
        }
        int[] wanted = rows(rows, ids.length);
        if (bertviz && wanted != null) {
            throw new InputException("--bertviz needs every row of the attention (bertviz's head_view shows all of them): "
                    + "add --rows all (this prompt has " + ids.length + " tokens).");
        }
        List<int[]> chosenHeads = parseHeads(heads, config);
        Files.createDirectories(out);

        try (ClContext context = impl.openOrFallBack(opencl, err, "running the model")) {
            String ran = context == null ? "cpu" : "opencl on " + context.device().name();
            Backend backend = context == null ? new CpuBackend() : new ClBackend(context, opencl.settings(context));
            int inductionLength = Math.min(INDUCTION_LENGTH, (config.nPositions() - 1) / 2);
            boolean induction = !noInduction && inductionLength >= InductionTest.MIN_LENGTH;
            int longest = Math.max(ids.length, induction ? 1 + 2 * inductionLength : 0);
            try (DecoderModel model = new DecoderModel(backend, loaded.weights(), 1, longest, longest, 1)) {
                float[] before = null;
                if (!interventions.isEmpty()) {
                    before = forward(model, ids, Tap.NONE);
                    model.setInterventions(interventions);
                }
                AttentionCapture capture = new AttentionCapture(backend, config, interventions, wanted);
                float[] after = forward(model, ids, capture);
                List<String> tokens = new ArrayList<>();
                for (int id : ids) {
                    tokens.add(tokenizer.decode(new int[] {id}));
                }
                AttentionMaps maps = capture.maps(loaded.path().getFileName().toString(), tokens, ids);

                double[][] inductionScores = null;
                if (induction) {
                    int[] repeated = InductionTest.tokens(tokenizer, config.vocabSize(), inductionLength, 1);
                    AttentionCapture all = new AttentionCapture(backend, config, interventions, null);
                    forward(model, repeated, all);
                    List<String> repeatedTokens = new ArrayList<>();
                    for (int id : repeated) {
                        repeatedTokens.add(tokenizer.decode(new int[] {id}));
                    }
                    inductionScores = InductionTest.scores(all.maps("induction test", repeatedTokens, repeated));
                }
                List<HeadSummary> summary = HeadStatistics.summarize(maps, inductionScores);
                if (chosenHeads.isEmpty()) {
                    summary.stream().filter(h -> h.previousTokenHead() || h.inductionHead()).limit(8)
                            .forEach(h -> chosenHeads.add(new int[] {h.layer(), h.head()}));
                    if (chosenHeads.isEmpty()) {
                        chosenHeads.add(new int[] {0, 0});
                    }
                }
                TopTokens top = null;
                if (before != null) {
                    top = new TopTokens(candidates(NextTokens.top(before, tokenizer, 10)),
                            candidates(NextTokens.top(after, tokenizer, 10)));
                }

                stdout.printf("viz of %s on %s: %d tokens, %d layers x %d heads, rows %s%s%n", loaded.path().getFileName(),
                        ran, ids.length, config.nLayer(), config.nHead(), describeRows(wanted, ids.length),
                        interventions.isEmpty() ? "" : "; interventions: " + interventions.describe());
                printSummary(stdout, summary, induction, inductionLength);
                if (before != null) {
                    printNextTokens(stdout, NextTokens.diff(before, after, tokenizer, 10));
                } else {
                    stdout.println();
                    stdout.println("next token after the prompt:");
                    for (NextTokens.Candidate c : NextTokens.top(after, tokenizer, 10)) {
                        stdout.printf(Locale.ROOT, "  %-20s %.4f%n", quote(c.text()), c.probability());
                    }
                }
                List<Path> written = new ArrayList<>(Heatmaps.writeAll(maps, out, chosenHeads));
                Path page = out.resolve("index.html");
                VizPage.write(page, maps, summary, top);
                written.add(page);
                Path json = out.resolve("attention.json");
                AttentionJson.write(json, maps, summary, top);
                written.add(json);
                if (bertviz) {
                    Path b = out.resolve("bertviz.json");
                    AttentionJson.writeBertviz(b, maps);
                    written.add(b);
                }
                stdout.println();
                stdout.println("wrote " + String.join(", ", written.stream().map(Path::toString).toList()));
            }
        }
        return ExitCodes.OK;
    }

    /** Prefill of the whole sequence in one step; returns the logits of its last position. */
    private static float[] forward(DecoderModel model, int[] ids, Tap tap) {
        return model.forward(ids, new int[] {0}, new int[] {ids.length}, ids.length, new int[] {ids.length - 1}, tap);
    }

    private static List<TopTokens.Candidate> candidates(List<NextTokens.Candidate> list) {
        return list.stream().map(c -> new TopTokens.Candidate(c.text(), c.probability())).toList();
    }

    /** The query positions of --rows (null for all). */
    static int[] rows(String spec, int length) {
        String s = spec.trim().toLowerCase(Locale.ROOT);
        if (s.equals("all") || (s.equals("auto") && length <= ALL_ROWS_UP_TO)) {
            return null;
        }
        if (s.equals("auto")) {
            return AttentionCapture.lastRows(length, LAST_ROWS);
        }
        try {
            if (s.startsWith("last:")) {
                int n = Integer.parseInt(s.substring(5));
                if (n < 1) {
                    throw new NumberFormatException();
                }
                return AttentionCapture.lastRows(length, n);
            }
            int[] list = Arrays.stream(s.split(",")).map(String::trim).mapToInt(Integer::parseInt).distinct().sorted().toArray();
            for (int r : list) {
                if (r < 0 || r >= length) {
                    throw new InputException("--rows " + spec + ": position " + r + " is outside the prompt's " + length
                            + " tokens (positions 0.." + (length - 1) + ").");
                }
            }
            return list;
        } catch (NumberFormatException e) {
            throw new InputException("--rows '" + spec + "': use auto, all, last:N (N >= 1) or positions such as 0,5,9.");
        }
    }

    static List<int[]> parseHeads(List<String> specs, ModelConfig config) {
        List<int[]> out = new ArrayList<>();
        for (String h : specs) {
            String[] parts = h.trim().split("\\.");
            try {
                if (parts.length != 2) {
                    throw new NumberFormatException();
                }
                int layer = Integer.parseInt(parts[0]);
                int head = Integer.parseInt(parts[1]);
                if (layer < 0 || head < 0 || layer >= config.nLayer() || head >= config.nHead()) {
                    throw new InputException("--heads " + h + ": the model has " + config.nLayer() + " layers of "
                            + config.nHead() + " heads (LAYER.HEAD count from 0).");
                }
                out.add(new int[] {layer, head});
            } catch (NumberFormatException e) {
                throw new InputException("--heads '" + h + "': write LAYER.HEAD, e.g. --heads 0.3,2.1 (both count from 0).");
            }
        }
        return out;
    }

    private static String describeRows(int[] wanted, int length) {
        if (wanted == null) {
            return "all " + length;
        }
        return wanted.length <= 8 ? Arrays.toString(wanted) : wanted.length + " (" + wanted[0] + ".." + wanted[wanted.length - 1] + ")";
    }

    private static void printSummary(PrintWriter out, List<HeadSummary> summary, boolean induction, int inductionLength) {
        out.println();
        out.printf("per head (rows after the first; previous-token head: previous > %.2f; induction head: induction > %.2f%s)%n",
                HeadStatistics.PREVIOUS_TOKEN_THRESHOLD, HeadStatistics.INDUCTION_THRESHOLD,
                induction ? ", on " + inductionLength + " random tokens repeated" : ", induction test skipped");
        out.println("head    entropy  previous    first     self  induction  flags");
        for (HeadSummary h : summary) {
            String flags = (h.previousTokenHead() ? "previous-token " : "") + (h.inductionHead() ? "induction" : "");
            out.printf(Locale.ROOT, "%-6s %8.3f %9.3f %8.3f %8.3f %10s  %s%n", h.layer() + "." + h.head(), h.entropy(),
                    h.previousToken(), h.firstToken(), h.self(),
                    Double.isNaN(h.inductionScore()) ? "-" : String.format(Locale.ROOT, "%.3f", h.inductionScore()),
                    flags.trim());
        }
    }

    private static void printNextTokens(PrintWriter out, List<NextTokens.Change> changes) {
        out.println();
        out.println("next token after the prompt, before and after the interventions:");
        out.println("  token                  before     after");
        for (NextTokens.Change c : changes) {
            out.printf(Locale.ROOT, "  %-20s %8.4f  %8.4f%n", quote(c.text()), c.before(), c.after());
        }
    }

    private static String quote(String token) {
        StringBuilder b = new StringBuilder("'");
        token.codePoints().forEach(cp -> {
            if (cp < 0x20 || cp == 0x7f) {
                b.append(String.format("\\u%04x", cp));
            } else {
                b.appendCodePoint(cp);
            }
        });
        return b.append('\'').toString();
    }
}
