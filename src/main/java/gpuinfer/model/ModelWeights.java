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
import java.util.Objects;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * The weights of a decoder model in the layout the kernels use: every matrix is a {@link WeightTensor} in its stored
 * format (memory-mapped from the model file, or converted row by row as it is uploaded), {@code [out, in]} row-major;
 * the vectors (norm weights, biases) are float32. A tensor a family does not have is null: GPT-2 has a position
 * table, a fused q/k/v matrix and biases everywhere; the Llama family has separate q, k and v matrices (Qwen2 with
 * biases), a gate matrix and no biases elsewhere. Shapes use C = n_embd, I = n_inner, V = vocab_size,
 * P = n_positions, Q = H·D, KV = Hkv·D.
 */
public final class ModelWeights {
    /** One transformer block. */
    public static final class Layer {
        public float[] attnNormWeight;        // [C]
        public float[] attnNormBias;          // [C], LayerNorm only
        public WeightTensor qkvWeight;        // [Q + 2KV, C] fused (GPT-2): rows give q, then k, then v
        public float[] qkvBias;               // [Q + 2KV]
        public WeightTensor qWeight;          // [Q, C]  separate projections (Llama family)
        public WeightTensor kWeight;          // [KV, C]
        public WeightTensor vWeight;          // [KV, C]
        public float[] qBias;                 // [Q]  (Qwen2)
        public float[] kBias;                 // [KV]
        public float[] vBias;                 // [KV]
        public WeightTensor attnOutWeight;    // [C, Q]
        public float[] attnOutBias;           // [C]
        public float[] mlpNormWeight;         // [C]
        public float[] mlpNormBias;           // [C], LayerNorm only
        public WeightTensor gateWeight;       // [I, C], SwiGLU only
        public WeightTensor upWeight;         // [I, C]
        public float[] upBias;                // [I]
        public WeightTensor downWeight;       // [C, I]
        public float[] downBias;              // [C]

        Layer map(UnaryOperator<WeightTensor> f) {
            Layer l = new Layer();
            l.attnNormWeight = attnNormWeight;
            l.attnNormBias = attnNormBias;
            l.qkvWeight = apply(f, qkvWeight);
            l.qkvBias = qkvBias;
            l.qWeight = apply(f, qWeight);
            l.kWeight = apply(f, kWeight);
            l.vWeight = apply(f, vWeight);
            l.qBias = qBias;
            l.kBias = kBias;
            l.vBias = vBias;
            l.attnOutWeight = apply(f, attnOutWeight);
            l.attnOutBias = attnOutBias;
            l.mlpNormWeight = mlpNormWeight;
            l.mlpNormBias = mlpNormBias;
            l.gateWeight = apply(f, gateWeight);
            l.upWeight = apply(f, upWeight);
            l.upBias = upBias;
            l.downWeight = apply(f, downWeight);
            l.downBias = downBias;
            return l;
        }

        private static WeightTensor apply(UnaryOperator<WeightTensor> f, WeightTensor t) {
            return t == null ? null : f.apply(t);
        }

        /** The matrices this block has, in the order a forward pass reads them. */
        public List<WeightTensor> matrices() {
            return present(qkvWeight, qWeight, kWeight, vWeight, attnOutWeight, gateWeight, upWeight, downWeight);
        }

        long vectorValues() {
            long n = 0;
            for (float[] v : Arrays.asList(attnNormWeight, attnNormBias, qkvBias, qBias, kBias, vBias, attnOutBias,
                    mlpNormWeight, mlpNormBias, upBias, downBias)) {
                n += v == null ? 0 : v.length;
            }
            return n;
        }
    }

    private static List<WeightTensor> present(WeightTensor... tensors) {
        return Arrays.stream(tensors).filter(Objects::nonNull).toList();
    }

    public final ModelConfig config;
    public final WeightTensor tokenEmbedding;    // [V, C]; also the output projection when tied
    public final WeightTensor positionEmbedding; // [P, C], or null with rotary embeddings
    public final Layer[] layers;
    public final float[] finalNormWeight;        // [C]
    public final float[] finalNormBias;          // [C], LayerNorm only
    public final WeightTensor outputWeight;      // [V, C]: lm_head / output.weight if the file has one, else tokenEmbedding
    private final List<String> notes;

    ModelWeights(ModelConfig config, WeightTensor tokenEmbedding, WeightTensor positionEmbedding, Layer[] layers,
                 float[] finalNormWeight, float[] finalNormBias, WeightTensor outputWeight, List<String> notes) {
        this.config = config;
        this.tokenEmbedding = tokenEmbedding;
        this.positionEmbedding = positionEmbedding;
        this.layers = layers;
        this.finalNormWeight = finalNormWeight;
        this.finalNormBias = finalNormBias;
        this.outputWeight = outputWeight;
        this.notes = List.copyOf(notes);
    }

    /** Number of parameters (the tied output projection counted once). */
    public long parameterCount() {
        long n = (long) finalNormWeight.length + (finalNormBias == null ? 0 : finalNormBias.length);
        for (Layer l : layers) {
            n += l.vectorValues();
        }
        for (WeightTensor t : matrices()) {
            n += t.elementCount();
        }
        return n;
    }

    /** Whether the output projection is the token embedding. */
    public boolean isTied() {
        return outputWeight == tokenEmbedding;
    }

    /** Every matrix once (a tied output projection is the token embedding). */
    public List<WeightTensor> matrices() {
        List<WeightTensor> all = new ArrayList<>();
        all.add(tokenEmbedding);
        if (positionEmbedding != null) {
            all.add(positionEmbedding);
        }
        for (Layer l : layers) {
            all.addAll(l.matrices());
        }
        if (!isTied()) {
            all.add(outputWeight);
        }
        return all;
    }

    private long finalNormValues() {
        return finalNormWeight.length + (finalNormBias == null ? 0L : finalNormBias.length);
    }

    /** Bytes the weights take on a device: every matrix in its format, the vectors as float32. */
    public long deviceBytes() {
        long bytes = 4L * finalNormValues();
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
        long bytes = 4L * finalNormValues() + outputWeight.storedBytes() + tokenEmbedding.rowBytes()
                + (positionEmbedding == null ? 0 : positionEmbedding.rowBytes());
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
    public ModelWeights convertedTo(WeightType target) {
        List<String> kept = new ArrayList<>();
        ModelWeights converted = withMatrices(t -> inFormat(t, target, kept),
                positionEmbedding == null ? null : positionEmbedding.to(POSITION_FORMAT), List.of());
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
    public ModelWeights runnable() {
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
        ModelWeights converted = withMatrices(convert, positionEmbedding == null ? null : convert.apply(positionEmbedding),
                List.of());
        long after = before + converted.deviceBytes() - deviceBytes();
        return converted.withNotes(List.of(count + " tensor(s) stored as " + found + " are converted to Q8_0 while they "
                + "are uploaded (gpu-infer runs F32, F16, BF16, Q8_0 and Q4_0): " + Sizes.bytes(after) + " on the device "
                + "instead of " + Sizes.bytes(before) + " in the file (+" + Sizes.bytes(after - before) + ")"));
    }

    /**
     * These weights with each block's separate q, k and v projections stacked into one [Q + 2KV, C] matrix (and their
     * biases into one vector), in their stored format: one matrix product per block instead of three, so a decode
     * step launches fewer kernels. The heads are then read from the fused rows (HeadSplit offsets Q and Q + KV).
     */
    public ModelWeights withFusedQkv() {
        if (layers.length == 0 || layers[0].qWeight == null) {
            return this;
        }
        Layer[] fused = new Layer[layers.length];
        for (int i = 0; i < layers.length; i++) {
            Layer l = layers[i].map(UnaryOperator.identity());
            l.qkvWeight = WeightTensor.concatRows("blk." + i + ".attn_qkv.weight", List.of(l.qWeight, l.kWeight, l.vWeight));
            if (l.qBias != null) {
                float[] bias = new float[l.qBias.length + l.kBias.length + l.vBias.length];
                System.arraycopy(l.qBias, 0, bias, 0, l.qBias.length);
                System.arraycopy(l.kBias, 0, bias, l.qBias.length, l.kBias.length);
                System.arraycopy(l.vBias, 0, bias, l.qBias.length + l.kBias.length, l.vBias.length);
                l.qkvBias = bias;
            }
            l.qWeight = l.kWeight = l.vWeight = null;
            l.qBias = l.kBias = l.vBias = null;
            fused[i] = l;
        }
        return new ModelWeights(config, tokenEmbedding, positionEmbedding, fused, finalNormWeight, finalNormBias,
                outputWeight, notes);
    }

    /**
     * These weights with {@code convert} applied to every matrix but the position table, which becomes
     * {@code positions} (a tied output projection stays the token embedding), and {@code added} notes.
     */
    private ModelWeights withMatrices(UnaryOperator<WeightTensor> convert, WeightTensor positions, List<String> added) {
        WeightTensor wte = convert.apply(tokenEmbedding);
        Layer[] converted = Arrays.stream(layers).map(l -> l.map(convert)).toArray(Layer[]::new);
        WeightTensor out = isTied() ? wte : convert.apply(outputWeight);
        List<String> all = new ArrayList<>(notes);
        all.addAll(added);
        return new ModelWeights(config, wte, positions, converted, finalNormWeight, finalNormBias, out, all);
    }

    /** These weights with {@code added} notes. */
    private ModelWeights withNotes(List<String> added) {
        return withMatrices(UnaryOperator.identity(), positionEmbedding, added);
    }

    // ------------------------------------------------------------------------------------------------ Hugging Face

    /**
     * Reads config.json and memory-maps the weights of a Hugging Face model folder: GPT-2's model.safetensors, or a
     * Llama-family model's model.safetensors or its shards.
     */
    public static ModelWeights loadFolder(Path dir) {
        ModelConfig config = ModelConfig.read(dir.resolve("config.json"));
        if (!config.architecture().equals("gpt2")) {
            return LlamaFamily.weights(config, dir);
        }
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
    public static ModelWeights load(ModelConfig config, SafeTensors file) {
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
        return new ModelWeights(config, wte, wpe, layers, lnfW, lnfB, head, List.of());
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
        l.attnNormWeight = vectors.read(prefix + names[0], C);
        l.attnNormBias = vectors.read(prefix + names[1], C);
        l.qkvWeight = matrices.read(prefix + names[2], 3 * C, C);
        l.qkvBias = vectors.read(prefix + names[3], 3 * C);
        l.attnOutWeight = matrices.read(prefix + names[4], C, C);
        l.attnOutBias = vectors.read(prefix + names[5], C);
        l.mlpNormWeight = vectors.read(prefix + names[6], C);
        l.mlpNormBias = vectors.read(prefix + names[7], C);
        l.upWeight = matrices.read(prefix + names[8], I, C);
        l.upBias = vectors.read(prefix + names[9], I);
        l.downWeight = matrices.read(prefix + names[10], C, I);
        l.downBias = vectors.read(prefix + names[11], C);
        return l;
    }

    /** Finds tensors under their plain or {@code transformer.}-prefixed names and checks their shapes. */
    private record SafeTensorsReader(ModelConfig config, SafeTensors file) {
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

    static ModelFormatException mismatch(Path file, String tensor, String found, String wanted, ModelConfig config,
                                         String source) {
        return new ModelFormatException(file, "tensor '" + tensor + "' has shape " + found + " but " + source
                + " implies " + wanted + " (" + config.describe() + "): the weights do not belong to this config");
    }

    // -------------------------------------------------------------------------------------------------------- GGUF

    /**
     * Maps every tensor of a GGUF file of llama.cpp's {@code gpt2} architecture ({@code token_embd},
     * {@code position_embd}, {@code blk.N.attn_norm}, {@code blk.N.attn_qkv}, {@code blk.N.attn_output},
     * {@code blk.N.ffn_norm}, {@code blk.N.ffn_up}, {@code blk.N.ffn_down}, {@code output_norm}, optional
     * {@code output}), checked against the metadata, as stored ({@link #runnable()} makes K-quants runnable); a
     * {@code llama} or {@code qwen2} file is read by {@link LlamaFamily}.
     */
    public static ModelWeights load(ModelConfig config, GgufFile file) {
        if (!config.architecture().equals("gpt2")) {
            return LlamaFamily.weights(config, file);
        }
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
        return new ModelWeights(config, wte, wpe, layers, lnfW, lnfB, head, List.of());
    }

    private record GgufReader(ModelConfig config, GgufFile file) {
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
