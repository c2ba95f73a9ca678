package gpuinfer.model;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The weights of a GPT-2-family model as float32 arrays, in the layout the kernels use: every linear layer is
 * {@code [out, in]} row-major (Hugging Face stores GPT-2's Conv1D weights as {@code [in, out]}; they are transposed
 * once here). Shapes use C = n_embd, V = vocab_size, P = n_positions.
 */
public final class Gpt2Weights {
    /** One transformer block. */
    public static final class Layer {
        public float[] ln1Weight;      // [C]
        public float[] ln1Bias;        // [C]
        public float[] qkvWeight;      // [3C, C]: rows 0..C-1 give q, then k, then v; heads contiguous in each
        public float[] qkvBias;        // [3C]
        public float[] attnProjWeight; // [C, C]
        public float[] attnProjBias;   // [C]
        public float[] ln2Weight;      // [C]
        public float[] ln2Bias;        // [C]
        public float[] fcWeight;       // [I, C], I = n_inner (4C by default)
        public float[] fcBias;         // [I]
        public float[] fcProjWeight;   // [C, I]
        public float[] fcProjBias;     // [C]
    }

    public final Gpt2Config config;
    public final float[] tokenEmbedding;    // [V, C]; also the output projection (tied)
    public final float[] positionEmbedding; // [P, C]
    public final Layer[] layers;
    public final float[] lnFinalWeight;     // [C]
    public final float[] lnFinalBias;       // [C]
    public final float[] outputWeight;      // [V, C]: lm_head.weight if the file has one, else tokenEmbedding

    private Gpt2Weights(Gpt2Config config, float[] tokenEmbedding, float[] positionEmbedding, Layer[] layers,
                        float[] lnFinalWeight, float[] lnFinalBias, float[] outputWeight) {
        this.config = config;
        this.tokenEmbedding = tokenEmbedding;
        this.positionEmbedding = positionEmbedding;
        this.layers = layers;
        this.lnFinalWeight = lnFinalWeight;
        this.lnFinalBias = lnFinalBias;
        this.outputWeight = outputWeight;
    }

    /** Number of parameters (the tied output projection counted once). */
    public long parameterCount() {
        Gpt2Config c = config;
        long C = c.nEmbd();
        long I = c.nInner();
        long perLayer = 2 * C + 3 * C * C + 3 * C + C * C + C + 2 * C + I * C + I + I * C + C;
        long tied = outputWeight == tokenEmbedding ? 0 : (long) c.vocabSize() * C;
        return (long) c.vocabSize() * C + (long) c.nPositions() * C + c.nLayer() * perLayer + 2 * C + tied;
    }

    /**
     * Reads and checks every tensor: names with or without the {@code transformer.} prefix; shapes against
     * config.json; dtype F32, F16 or BF16. A missing tensor or a wrong shape names the tensor and what was expected.
     */
    public static Gpt2Weights load(Gpt2Config config, SafeTensors file) {
        return load(config, file, bytes -> { });
    }

    /** As {@link #load(Gpt2Config, SafeTensors)}, reporting the bytes of each tensor read (for a progress line). */
    public static Gpt2Weights load(Gpt2Config config, SafeTensors file, java.util.function.LongConsumer progress) {
        Reader r = new Reader(config, file, progress);
        int C = config.nEmbd();
        int I = config.nInner();
        float[] wte = r.read("wte.weight", config.vocabSize(), C);
        float[] wpe = r.read("wpe.weight", config.nPositions(), C);
        Layer[] layers = new Layer[config.nLayer()];
        for (int i = 0; i < layers.length; i++) {
            String p = "h." + i + ".";
            Layer l = new Layer();
            l.ln1Weight = r.read(p + "ln_1.weight", C);
            l.ln1Bias = r.read(p + "ln_1.bias", C);
            l.qkvWeight = transpose(r.read(p + "attn.c_attn.weight", C, 3 * C), C, 3 * C);
            l.qkvBias = r.read(p + "attn.c_attn.bias", 3 * C);
            l.attnProjWeight = transpose(r.read(p + "attn.c_proj.weight", C, C), C, C);
            l.attnProjBias = r.read(p + "attn.c_proj.bias", C);
            l.ln2Weight = r.read(p + "ln_2.weight", C);
            l.ln2Bias = r.read(p + "ln_2.bias", C);
            l.fcWeight = transpose(r.read(p + "mlp.c_fc.weight", C, I), C, I);
            l.fcBias = r.read(p + "mlp.c_fc.bias", I);
            l.fcProjWeight = transpose(r.read(p + "mlp.c_proj.weight", I, C), I, C);
            l.fcProjBias = r.read(p + "mlp.c_proj.bias", C);
            layers[i] = l;
        }
        float[] lnfW = r.read("ln_f.weight", C);
        float[] lnfB = r.read("ln_f.bias", C);
        float[] head = file.entry("lm_head.weight") != null ? r.read("lm_head.weight", config.vocabSize(), C) : wte;
        return new Gpt2Weights(config, wte, wpe, layers, lnfW, lnfB, head);
    }

    /** {@code [rows, cols]} to {@code [cols, rows]}. */
    static float[] transpose(float[] m, int rows, int cols) {
        float[] t = new float[m.length];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                t[j * rows + i] = m[i * cols + j];
            }
        }
        return t;
    }

    /** Finds tensors under their plain or {@code transformer.}-prefixed names and checks their shapes. */
    private static final class Reader {
        private final Gpt2Config config;
        private final SafeTensors file;
        private final java.util.function.LongConsumer progress;

        Reader(Gpt2Config config, SafeTensors file, java.util.function.LongConsumer progress) {
            this.config = config;
            this.file = file;
            this.progress = progress;
        }

        float[] read(String name, int... shape) {
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
                throw new ModelFormatException(file.file(), "tensor '" + entry.name() + "' has shape "
                        + Arrays.toString(entry.shape()) + " but config.json implies " + Arrays.toString(shape)
                        + " (n_embd " + config.nEmbd() + ", n_inner " + config.nInner() + ", vocab_size "
                        + config.vocabSize() + ", n_positions " + config.nPositions()
                        + "): the weights do not belong to this config");
            }
            float[] values = file.read(entry);
            progress.accept(entry.end() - entry.begin());
            return values;
        }
    }

    /** Reads config.json and model.safetensors from a Hugging Face model folder. */
    public static Gpt2Weights loadFolder(Path dir) {
        return loadFolder(dir, bytes -> { });
    }

    /** As {@link #loadFolder(Path)}, reporting bytes read. */
    public static Gpt2Weights loadFolder(Path dir, java.util.function.LongConsumer progress) {
        Gpt2Config config = Gpt2Config.read(dir.resolve("config.json"));
        Path weights = dir.resolve("model.safetensors");
        if (!java.nio.file.Files.exists(weights)) {
            String hint = java.nio.file.Files.exists(dir.resolve("pytorch_model.bin"))
                    ? " (the folder has pytorch_model.bin: convert it to safetensors, e.g. with safetensors.torch.save_file)"
                    : "";
            throw new ModelFormatException(weights, "no such file: gpu-infer reads weights from model.safetensors" + hint);
        }
        try (SafeTensors file = SafeTensors.open(weights)) {
            return load(config, file, progress);
        }
    }
}
