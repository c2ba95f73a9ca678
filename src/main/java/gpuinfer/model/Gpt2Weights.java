package gpuinfer.model;

import gpuinfer.gguf.GgufFile;
import gpuinfer.util.Sizes;
import gpuinfer.weights.WeightTensor;
import gpuinfer.weights.WeightType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * The weights of a GPT-2-family model in the layout the kernels use: every matrix is a {@link WeightTensor} in its
 * stored format (memory-mapped from the model file, or converted row by row as it is uploaded), {@code [out, in]}
 * row-major (Hugging Face stores GPT-2's Conv1D weights as {@code [in, out]}; they are read transposed); the
 * vectors (LayerNorm weights, biases) are float32. Shapes use C = n_embd, I = n_inner, V = vocab_size,
 * P = n_positions.
 */
public final class Gpt2Weights {
    /** One transformer block. */
    public static final class Layer {
        public float[] ln1Weight;             // [C]
        public float[] ln1Bias;               // [C]
        public WeightTensor qkvWeight;        // [3C, C]: rows 0..C-1 give q, then k, then v; heads contiguous in each
        public float[] qkvBias;               // [3C]
        public WeightTensor attnProjWeight;   // [C, C]
        public float[] attnProjBias;          // [C]
        public float[] ln2Weight;             // [C]
        public float[] ln2Bias;               // [C]
        public WeightTensor fcWeight;         // [I, C]
        public float[] fcBias;                // [I]
        public WeightTensor fcProjWeight;     // [C, I]
        public float[] fcProjBias;            // [C]

        Layer map(UnaryOperator<WeightTensor> f) {
            Layer l = new Layer();
            l.ln1Weight = ln1Weight;
            l.ln1Bias = ln1Bias;
            l.qkvWeight = f.apply(qkvWeight);
            l.qkvBias = qkvBias;
            l.attnProjWeight = f.apply(attnProjWeight);
            l.attnProjBias = attnProjBias;
            l.ln2Weight = ln2Weight;
            l.ln2Bias = ln2Bias;
            l.fcWeight = f.apply(fcWeight);
            l.fcBias = fcBias;
            l.fcProjWeight = f.apply(fcProjWeight);
            l.fcProjBias = fcProjBias;
            return l;
        }

        List<WeightTensor> matrices() {
            return List.of(qkvWeight, attnProjWeight, fcWeight, fcProjWeight);
        }

        long vectorValues() {
            return (long) ln1Weight.length + ln1Bias.length + qkvBias.length + attnProjBias.length + ln2Weight.length
                    + ln2Bias.length + fcBias.length + fcProjBias.length;
        }
    }

    public final Gpt2Config config;
    public final WeightTensor tokenEmbedding;    // [V, C]; also the output projection when tied
    public final WeightTensor positionEmbedding; // [P, C]
    public final Layer[] layers;
    public final float[] lnFinalWeight;          // [C]
    public final float[] lnFinalBias;            // [C]
    public final WeightTensor outputWeight;      // [V, C]: lm_head / output.weight if the file has one, else tokenEmbedding
    private final List<String> notes;

    private Gpt2Weights(Gpt2Config config, WeightTensor tokenEmbedding, WeightTensor positionEmbedding, Layer[] layers,
                        float[] lnFinalWeight, float[] lnFinalBias, WeightTensor outputWeight, List<String> notes) {
        this.config = config;
        this.tokenEmbedding = tokenEmbedding;
        this.positionEmbedding = positionEmbedding;
        this.layers = layers;
        this.lnFinalWeight = lnFinalWeight;
        this.lnFinalBias = lnFinalBias;
        this.outputWeight = outputWeight;
        this.notes = List.copyOf(notes);
    }

    /** Number of parameters (the tied output projection counted once). */
    public long parameterCount() {
        Gpt2Config c = config;
        long C = c.nEmbd();
        long I = c.nInner();
        long perLayer = 2 * C + 3 * C * C + 3 * C + C * C + C + 2 * C + I * C + I + I * C + C;
        long tied = isTied() ? 0 : (long) c.vocabSize() * C;
        return (long) c.vocabSize() * C + (long) c.nPositions() * C + c.nLayer() * perLayer + 2 * C + tied;
    }

    /** Whether the output projection is the token embedding. */
    public boolean isTied() {
        return outputWeight == tokenEmbedding;
    }

    /** Every matrix once (a tied output projection is the token embedding). */
    public List<WeightTensor> matrices() {
        List<WeightTensor> all = new ArrayList<>();
        all.add(tokenEmbedding);
        all.add(positionEmbedding);
        for (Layer l : layers) {
            all.addAll(l.matrices());
        }
        if (!isTied()) {
            all.add(outputWeight);
        }
        return all;
    }

    /** Bytes the weights take on a device: every matrix in its format, the vectors as float32. */
    public long deviceBytes() {
        long bytes = 4L * (lnFinalWeight.length + lnFinalBias.length);
        for (Layer l : layers) {
            bytes += 4 * l.vectorValues();
        }
        for (WeightTensor t : matrices()) {
            bytes += t.storedBytes();
        }
        return bytes;
    }

    /**
     * Bytes of weights one decode step reads: every block matrix, the output projection and the vectors once, and
     * one row of each embedding table.
     */
    public long decodeBytesPerToken() {
        long bytes = 4L * (lnFinalWeight.length + lnFinalBias.length) + outputWeight.storedBytes()
                + tokenEmbedding.rowBytes() + positionEmbedding.rowBytes();
        for (Layer l : layers) {
            bytes += 4 * l.vectorValues();
            for (WeightTensor t : l.matrices()) {
                bytes += t.storedBytes();
            }
        }
        return bytes;
    }

    /** The formats of the matrices with their counts, e.g. "Q8_0 ×49, F32 ×1" (in the order first met). */
    public String formats() {
        return WeightTensor.formats(matrices());
    }

    /** What loading did beyond mapping the file (conversions and what they cost), one line each. */
    public List<String> notes() {
        return notes;
    }

    /**
     * These weights with every matrix converted to {@code target} as it is uploaded (ggml's reference quantisers
     * for Q8_0 and Q4_0). The position table goes to {@link #POSITION_FORMAT}; a matrix whose rows are not whole
     * blocks of {@code target} goes to F16 (as llama-quantize does), with a note. The same rules as a GGUF file written by
     * {@link GgufExport}, so that {@code --weights q8_0} and a converted Q8_0 file run the same weights.
     */
    public Gpt2Weights convertedTo(WeightType target) {
        List<String> kept = new ArrayList<>();
        Gpt2Weights converted = withMatrices(t -> inFormat(t, target, kept), positionEmbedding.to(POSITION_FORMAT), List.of());
        List<String> added = new ArrayList<>();
        added.add("weights converted to " + target + " as they are uploaded: " + Sizes.bytes(converted.deviceBytes())
                + " on the device instead of " + Sizes.bytes(deviceBytes()) + " (" + formats() + " before)");
        if (!kept.isEmpty()) {
            added.add(kept.size() + " tensor(s) run as F16 because their rows are not whole " + target + " blocks of "
                    + target.blockSize + " values (as llama-quantize falls back): " + String.join(", ", kept));
        }
        return converted.withNotes(added);
    }

    /**
     * {@code tensor} in {@code target}, or in F16 when its rows are not whole blocks of {@code target} (as
     * llama-quantize falls back; the tensor's name is then added to {@code keptAsF16}).
     */
    static WeightTensor inFormat(WeightTensor tensor, WeightType target, List<String> keptAsF16) {
        if (!target.fitsRow(tensor.cols())) {
            keptAsF16.add(tensor.name());
            return tensor.to(WeightType.F16);
        }
        return tensor.to(target);
    }

    /**
     * The format of the position table whatever format the matrices go to: F32, as llama.cpp's converters and
     * llama-quantize keep it (it is read one row per token: its size costs nothing per token).
     */
    public static final WeightType POSITION_FORMAT = WeightType.F32;

    /**
     * These weights as a device runs them: every K-quant matrix converted to Q8_0 as it is uploaded (no kernel reads
     * K-quants), with a note saying so and what it costs; these weights themselves when nothing needs converting.
     */
    public Gpt2Weights runnable() {
        Set<WeightType> found = new java.util.TreeSet<>();
        long before = 0;
        int count = 0;
        for (WeightTensor t : matrices()) {
            if (!t.type().runsNatively()) {
                found.add(t.type());
                before += t.storedBytes();
                count++;
            }
        }
        if (found.isEmpty()) {
            return this;
        }
        UnaryOperator<WeightTensor> convert = t -> t.type().runsNatively() ? t : t.to(WeightType.Q8_0);
        Gpt2Weights converted = withMatrices(convert, convert.apply(positionEmbedding), List.of());
        long after = before + converted.deviceBytes() - deviceBytes();
        return converted.withNotes(List.of(count + " tensor(s) stored as " + found + " are converted to Q8_0 while they "
                + "are uploaded (gpu-infer runs F32, F16, BF16, Q8_0 and Q4_0): " + Sizes.bytes(after) + " on the device "
                + "instead of " + Sizes.bytes(before) + " in the file (+" + Sizes.bytes(after - before) + ")"));
    }

    /**
     * These weights with {@code convert} applied to every matrix but the position table, which becomes
     * {@code positions} (a tied output projection stays the token embedding), and {@code added} notes.
     */
    private Gpt2Weights withMatrices(UnaryOperator<WeightTensor> convert, WeightTensor positions, List<String> added) {
        WeightTensor wte = convert.apply(tokenEmbedding);
        Layer[] converted = Arrays.stream(layers).map(l -> l.map(convert)).toArray(Layer[]::new);
        WeightTensor out = isTied() ? wte : convert.apply(outputWeight);
        List<String> all = new ArrayList<>(notes);
        all.addAll(added);
        return new Gpt2Weights(config, wte, positions, converted, lnFinalWeight, lnFinalBias, out, all);
    }

    /** These weights with {@code added} notes. */
    private Gpt2Weights withNotes(List<String> added) {
        return withMatrices(UnaryOperator.identity(), positionEmbedding, added);
    }

    // ------------------------------------------------------------------------------------------------ Hugging Face

    /** Reads config.json and memory-maps model.safetensors of a Hugging Face model folder. */
    public static Gpt2Weights loadFolder(Path dir) {
        Gpt2Config config = Gpt2Config.read(dir.resolve("config.json"));
        Path weights = dir.resolve("model.safetensors");
        if (!Files.exists(weights)) {
            String hint = Files.exists(dir.resolve("pytorch_model.bin"))
                    ? " (the folder has pytorch_model.bin: convert it to safetensors, e.g. with safetensors.torch.save_file)"
                    : "";
            throw new ModelFormatException(weights, "no such file: gpu-infer reads weights from model.safetensors" + hint);
        }
        try (SafeTensors file = SafeTensors.open(weights)) {
            return load(config, file);
        }
    }

    /**
     * Maps and checks every tensor of a safetensors file: names with or without the {@code transformer.} prefix;
     * shapes against config.json; dtype F32, F16 or BF16. A missing tensor or a wrong shape names the tensor and
     * what was expected. The Conv1D matrices are read transposed; nothing is converted to float32 but the vectors.
     */
    public static Gpt2Weights load(Gpt2Config config, SafeTensors file) {
        SafeTensorsReader r = new SafeTensorsReader(config, file);
        int C = config.nEmbd();
        int I = config.nInner();
        WeightTensor wte = r.matrix("wte.weight", config.vocabSize(), C);
        WeightTensor wpe = r.matrix("wpe.weight", config.nPositions(), C);
        Layer[] layers = new Layer[config.nLayer()];
        for (int i = 0; i < layers.length; i++) {
            // Conv1D stores [in, out]: read as such, used transposed
            layers[i] = block(HF_BLOCK, "h." + i + ".", C, I, r::vector, (name, out, in) -> r.matrix(name, in, out).transposed());
        }
        float[] lnfW = r.vector("ln_f.weight", C);
        float[] lnfB = r.vector("ln_f.bias", C);
        WeightTensor head = file.entry("lm_head.weight") != null ? r.matrix("lm_head.weight", config.vocabSize(), C) : wte;
        return new Gpt2Weights(config, wte, wpe, layers, lnfW, lnfB, head, List.of());
    }

    /**
     * The names of a block's twelve tensors in a file format, in the order {@link #block} reads them: LayerNorm 1
     * weight and bias, QKV weight and bias, attention projection weight and bias, LayerNorm 2 weight and bias, MLP
     * up weight and bias, MLP down weight and bias.
     */
    private static final String[] HF_BLOCK = {"ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
            "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
            "mlp.c_proj.weight", "mlp.c_proj.bias"};
    private static final String[] GGUF_BLOCK = {"attn_norm.weight", "attn_norm.bias", "attn_qkv.weight", "attn_qkv.bias",
            "attn_output.weight", "attn_output.bias", "ffn_norm.weight", "ffn_norm.bias", "ffn_up.weight", "ffn_up.bias",
            "ffn_down.weight", "ffn_down.bias"};

    private interface Vectors {
        float[] read(String name, int length);
    }

    private interface Matrices {
        /** The [out, in] matrix of that name. */
        WeightTensor read(String name, int out, int in);
    }

    /** One block's tensors, named {@code prefix + names[i]}, with their shapes checked. */
    private static Layer block(String[] names, String prefix, int C, int I, Vectors vectors, Matrices matrices) {
        Layer l = new Layer();
        l.ln1Weight = vectors.read(prefix + names[0], C);
        l.ln1Bias = vectors.read(prefix + names[1], C);
        l.qkvWeight = matrices.read(prefix + names[2], 3 * C, C);
        l.qkvBias = vectors.read(prefix + names[3], 3 * C);
        l.attnProjWeight = matrices.read(prefix + names[4], C, C);
        l.attnProjBias = vectors.read(prefix + names[5], C);
        l.ln2Weight = vectors.read(prefix + names[6], C);
        l.ln2Bias = vectors.read(prefix + names[7], C);
        l.fcWeight = matrices.read(prefix + names[8], I, C);
        l.fcBias = vectors.read(prefix + names[9], I);
        l.fcProjWeight = matrices.read(prefix + names[10], C, I);
        l.fcProjBias = vectors.read(prefix + names[11], C);
        return l;
    }

    /** Finds tensors under their plain or {@code transformer.}-prefixed names and checks their shapes. */
    private record SafeTensorsReader(Gpt2Config config, SafeTensors file) {
        SafeTensors.Entry entry(String name, int... shape) {
            SafeTensors.Entry entry = file.entry(name);
            if (entry == null) {
                entry = file.entry("transformer." + name);
            }
            if (entry == null) {
                List<String> some = new ArrayList<>(file.entries().keySet());
                throw new ModelFormatException(file.file(), "has no tensor '" + name + "' (nor 'transformer." + name
                        + "') that config.json (n_layer " + config.nLayer() + ") requires; the file has "
                        + some.size() + " tensors, e.g. " + some.subList(0, Math.min(5, some.size())));
            }
            if (!Arrays.equals(entry.shape(), shape)) {
                throw mismatch(file.file(), entry.name(), Arrays.toString(entry.shape()), Arrays.toString(shape), config, "config.json");
            }
            return entry;
        }

        WeightTensor matrix(String name, int rows, int cols) {
            return file.tensor(entry(name, rows, cols)).named(name);
        }

        float[] vector(String name, int length) {
            return file.read(entry(name, length));
        }
    }

    static ModelFormatException mismatch(Path file, String tensor, String found, String wanted, Gpt2Config config,
                                         String source) {
        return new ModelFormatException(file, "tensor '" + tensor + "' has shape " + found + " but " + source
                + " implies " + wanted + " (n_embd " + config.nEmbd() + ", n_inner " + config.nInner() + ", vocab_size "
                + config.vocabSize() + ", n_positions " + config.nPositions() + "): the weights do not belong to this config");
    }

    // -------------------------------------------------------------------------------------------------------- GGUF

    /**
     * Maps every tensor of a GGUF file of llama.cpp's {@code gpt2} architecture ({@code token_embd},
     * {@code position_embd}, {@code blk.N.attn_norm}, {@code blk.N.attn_qkv}, {@code blk.N.attn_output},
     * {@code blk.N.ffn_norm}, {@code blk.N.ffn_up}, {@code blk.N.ffn_down}, {@code output_norm}, optional
     * {@code output}), checked against the metadata, as stored ({@link #runnable()} makes K-quants runnable).
     */
    public static Gpt2Weights load(Gpt2Config config, GgufFile file) {
        GgufReader r = new GgufReader(config, file);
        int C = config.nEmbd();
        int I = config.nInner();
        WeightTensor wte = r.matrix("token_embd.weight", config.vocabSize(), C);
        WeightTensor wpe = r.matrix("position_embd.weight", config.nPositions(), C);
        Layer[] layers = new Layer[config.nLayer()];
        for (int i = 0; i < layers.length; i++) {
            layers[i] = block(GGUF_BLOCK, "blk." + i + ".", C, I, r::vector, r::matrix);
        }
        float[] lnfW = r.vector("output_norm.weight", C);
        float[] lnfB = r.vector("output_norm.bias", C);
        WeightTensor head = file.tensors().containsKey("output.weight") ? r.matrix("output.weight", config.vocabSize(), C) : wte;
        return new Gpt2Weights(config, wte, wpe, layers, lnfW, lnfB, head, List.of());
    }

    private record GgufReader(Gpt2Config config, GgufFile file) {
        GgufFile.TensorInfo info(String name, long... shape) {
            GgufFile.TensorInfo info = file.tensors().get(name);
            if (info == null) {
                throw new ModelFormatException(file.file(), "has no tensor '" + name + "', which a gpt2 model with "
                        + config.nLayer() + " blocks needs; the file has " + file.tensors().size() + " tensors");
            }
            if (!Arrays.equals(info.shape(), shape)) {
                throw mismatch(file.file(), name, Arrays.toString(info.shape()), Arrays.toString(shape), config, "the metadata");
            }
            return info;
        }

        WeightTensor matrix(String name, int rows, int cols) {
            info(name, rows, cols);
            return file.tensor(name);
        }

        float[] vector(String name, int length) {
            info(name, length);
            return file.tensor(name).toFloats();
        }
    }
}
