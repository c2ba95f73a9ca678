package gpuinfer.model;

import gpuinfer.InputException;
import gpuinfer.gguf.GgufValue;
import gpuinfer.gguf.GgufWriter;
import gpuinfer.ops.Rope;
import gpuinfer.text.Gpt2Tokenizer;
import gpuinfer.text.Tokenizer;
import java.util.Map;
import gpuinfer.weights.WeightTensor;
import gpuinfer.weights.WeightType;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * Writes a GPT-2-family model as a GGUF file of llama.cpp's {@code gpt2} architecture, readable by llama.cpp and by
 * gpu-infer: the hyperparameters as {@code gpt2.*} metadata, GPT-2's byte-level BPE tokenizer as
 * {@code tokenizer.ggml.*} (tokens, token types, merges, end-of-text ids), and the tensors under llama.cpp's names.
 *
 * <p>Formats, as llama.cpp's converters and llama-quantize choose them: every matrix (token embedding, attention,
 * MLP, untied output) in the target format; the position table in F32 ({@link ModelWeights#POSITION_FORMAT}:
 * llama.cpp never converts or quantises it); vectors (norms, biases) in F32; a matrix whose rows are not whole
 * blocks of the target is written as F16, as llama-quantize falls back.
 */
public final class GgufExport {
    /** llama.cpp's token types. */
    static final int TOKEN_NORMAL = 1;
    static final int TOKEN_CONTROL = 3;
    static final int TOKEN_UNUSED = 5;

    private GgufExport() {
    }

    /** What a conversion wrote. */
    public record Summary(int tensors, String formats, long bytes, List<String> notes) {
    }

    /**
     * Writes {@code model} to {@code out} with its matrices in {@code target}; {@code progress} receives tensor
     * bytes as they are written.
     */
    public static Summary write(LoadedModel model, WeightType target, String name, Path out, LongConsumer progress)
            throws IOException {
        ModelConfig c = model.config();
        if (!c.architecture().equals("gpt2")) {
            return writeLlamaFamily(model, target, name, out, progress);
        }
        if (!c.tanhGelu()) {
            throw new InputException(model.path() + ": activation_function 'gelu' (exact GELU) has no "
                    + "place in llama.cpp's gpt2 architecture, which always uses the tanh approximation; the GGUF file would "
                    + "compute something else, so it is not written.");
        }
        if (!c.scaleAttention()) {
            throw new InputException(model.path() + ": scale_attn_weights is false, but llama.cpp's gpt2 architecture always "
                    + "scales scores by 1/sqrt(head_dim); the GGUF file would compute something else, so it is not written.");
        }
        ModelWeights w = model.weights();
        List<String> notes = new ArrayList<>();
        GgufWriter gguf = new GgufWriter();
        gguf.put("general.architecture", GgufValue.string("gpt2"));
        gguf.put("general.name", GgufValue.string(name));
        gguf.put("general.file_type", GgufValue.uint32(fileType(target)));
        if (target.isBlockQuantized()) {
            gguf.put("general.quantization_version", GgufValue.uint32(2));
        }
        gguf.put("gpt2.block_count", GgufValue.uint32(c.nLayer()));
        gguf.put("gpt2.context_length", GgufValue.uint32(c.nPositions()));
        gguf.put("gpt2.embedding_length", GgufValue.uint32(c.nEmbd()));
        gguf.put("gpt2.feed_forward_length", GgufValue.uint32(c.nInner()));
        gguf.put("gpt2.attention.head_count", GgufValue.uint32(c.nHead()));
        gguf.put("gpt2.attention.layer_norm_epsilon", GgufValue.float32(c.normEpsilon()));
        putTokenizer(gguf, model.tokenizer(), c);

        List<String> kept = new ArrayList<>();
        gguf.add(matrix("token_embd.weight", w.tokenEmbedding, target, kept));
        gguf.add(matrix("position_embd.weight", w.positionEmbedding, ModelWeights.POSITION_FORMAT, kept));
        for (int i = 0; i < w.layers.length; i++) {
            ModelWeights.Layer l = w.layers[i];
            String p = "blk." + i + ".";
            gguf.add(vector(p + "attn_norm.weight", l.attnNormWeight));
            gguf.add(vector(p + "attn_norm.bias", l.attnNormBias));
            gguf.add(matrix(p + "attn_qkv.weight", l.qkvWeight, target, kept));
            gguf.add(vector(p + "attn_qkv.bias", l.qkvBias));
            gguf.add(matrix(p + "attn_output.weight", l.attnOutWeight, target, kept));
            gguf.add(vector(p + "attn_output.bias", l.attnOutBias));
            gguf.add(vector(p + "ffn_norm.weight", l.mlpNormWeight));
            gguf.add(vector(p + "ffn_norm.bias", l.mlpNormBias));
            gguf.add(matrix(p + "ffn_up.weight", l.upWeight, target, kept));
            gguf.add(vector(p + "ffn_up.bias", l.upBias));
            gguf.add(matrix(p + "ffn_down.weight", l.downWeight, target, kept));
            gguf.add(vector(p + "ffn_down.bias", l.downBias));
        }
        gguf.add(vector("output_norm.weight", w.finalNormWeight));
        gguf.add(vector("output_norm.bias", w.finalNormBias));
        if (!w.isTied()) {
            gguf.add(matrix("output.weight", w.outputWeight, target, kept));
        }
        if (!kept.isEmpty()) {
            notes.add(kept.size() + " matrix(es) written as F16 because their rows are not whole " + target + " blocks of "
                    + target.blockSize + " values: " + String.join(", ", kept));
        }
        gguf.write(out, progress);
        return new Summary(gguf.tensorCount(), gguf.formats(), gguf.dataBytes(), notes);
    }

    /**
     * A Llama-family model as llama.cpp's converter writes it: {@code llama} or {@code qwen2} metadata, tensors
     * {@code blk.N.attn_q/k/v/output}, {@code ffn_gate/up/down}, {@code attn_norm}, {@code ffn_norm},
     * {@code output_norm}, {@code output} (absent when tied). For {@code llama}, q and k rows are in interleaved rotary
     * pairs (a Hugging Face checkpoint's rows are permuted to it, as convert_hf_to_gguf.py does); {@code qwen2} keeps
     * halves. Llama 3's (or linear) frequency scaling is written as the {@code rope_freqs} tensor.
     */
    private static Summary writeLlamaFamily(LoadedModel model, WeightType target, String name, Path out,
                                            LongConsumer progress) throws IOException {
        ModelConfig c = model.config();
        String arch = c.architecture();
        ModelWeights w = model.weights();
        GgufWriter gguf = new GgufWriter();
        gguf.put("general.architecture", GgufValue.string(arch));
        gguf.put("general.name", GgufValue.string(name));
        gguf.put("general.file_type", GgufValue.uint32(fileType(target)));
        if (target.isBlockQuantized()) {
            gguf.put("general.quantization_version", GgufValue.uint32(2));
        }
        String k = arch + ".";
        gguf.put(k + "block_count", GgufValue.uint32(c.nLayer()));
        gguf.put(k + "context_length", GgufValue.uint32(c.nPositions()));
        gguf.put(k + "embedding_length", GgufValue.uint32(c.nEmbd()));
        gguf.put(k + "feed_forward_length", GgufValue.uint32(c.nInner()));
        gguf.put(k + "attention.head_count", GgufValue.uint32(c.nHead()));
        gguf.put(k + "attention.head_count_kv", GgufValue.uint32(c.nKvHead()));
        gguf.put(k + "attention.layer_norm_rms_epsilon", GgufValue.float32(c.normEpsilon()));
        gguf.put(k + "rope.freq_base", GgufValue.float32((float) c.rope().theta()));
        gguf.put(k + "rope.dimension_count", GgufValue.uint32(c.rope().dims()));
        if (c.headDim() * c.nHead() != c.nEmbd()) {
            gguf.put(k + "attention.key_length", GgufValue.uint32(c.headDim()));
            gguf.put(k + "attention.value_length", GgufValue.uint32(c.headDim()));
        }
        gguf.put(k + "vocab_size", GgufValue.uint32(c.vocabSize()));
        putTokenizerMetadata(gguf, model.tokenizer(), c.vocabSize());
        if (model.tokenizer().bosId().isEmpty() && java.nio.file.Files.isDirectory(model.path())) {
            // as llama.cpp's converter: a BOS id the tokenizer files leave out comes from config.json (Qwen2's)
            int bos = LlamaFamily.firstInt(ModelConfig.json(model.path().resolve("config.json")).get("bos_token_id"));
            if (bos >= 0 && bos < c.vocabSize()) {
                gguf.put("tokenizer.ggml.bos_token_id", GgufValue.uint32(bos));
            }
        }
        if (model.chatTemplate() != null) {
            gguf.put("tokenizer.chat_template", GgufValue.string(model.chatTemplate()));
        }

        Rope.Order fileOrder = arch.equals("llama") ? Rope.Order.INTERLEAVED : Rope.Order.HALVES;
        boolean permute = c.rope().order() != fileOrder;
        List<String> kept = new ArrayList<>();
        float[] factors = c.rope().frequencyFactors();
        boolean scaled = false;
        for (float f : factors) {
            scaled |= f != 1f;
        }
        if (scaled) {
            gguf.add(vector("rope_freqs.weight", factors));
        }
        gguf.add(matrix("token_embd.weight", w.tokenEmbedding, target, kept));
        for (int i = 0; i < w.layers.length; i++) {
            ModelWeights.Layer l = w.layers[i];
            String p = "blk." + i + ".";
            gguf.add(vector(p + "attn_norm.weight", l.attnNormWeight));
            gguf.add(matrix(p + "attn_q.weight", permute ? pairsReordered(l.qWeight, c.nHead(), c, fileOrder) : l.qWeight, target, kept));
            gguf.add(matrix(p + "attn_k.weight", permute ? pairsReordered(l.kWeight, c.nKvHead(), c, fileOrder) : l.kWeight, target, kept));
            gguf.add(matrix(p + "attn_v.weight", l.vWeight, target, kept));
            if (c.qkvBias()) {
                gguf.add(vector(p + "attn_q.bias", permute ? pairsReordered(l.qBias, c.nHead(), c, fileOrder) : l.qBias));
                gguf.add(vector(p + "attn_k.bias", permute ? pairsReordered(l.kBias, c.nKvHead(), c, fileOrder) : l.kBias));
                gguf.add(vector(p + "attn_v.bias", l.vBias));
            }
            gguf.add(matrix(p + "attn_output.weight", l.attnOutWeight, target, kept));
            gguf.add(vector(p + "ffn_norm.weight", l.mlpNormWeight));
            gguf.add(matrix(p + "ffn_gate.weight", l.gateWeight, target, kept));
            gguf.add(matrix(p + "ffn_up.weight", l.upWeight, target, kept));
            gguf.add(matrix(p + "ffn_down.weight", l.downWeight, target, kept));
        }
        gguf.add(vector("output_norm.weight", w.finalNormWeight));
        if (!w.isTied()) {
            gguf.add(matrix("output.weight", w.outputWeight, target, kept));
        }
        List<String> notes = new ArrayList<>();
        if (permute) {
            notes.add("q and k rows reordered from " + c.rope().order().name().toLowerCase() + " to "
                    + fileOrder.name().toLowerCase() + " rotary pairs, as llama.cpp's " + arch + " expects");
        }
        if (!kept.isEmpty()) {
            notes.add(kept.size() + " matrix(es) written as F16 because their rows are not whole " + target + " blocks of "
                    + target.blockSize + " values: " + String.join(", ", kept));
        }
        gguf.write(out, progress);
        return new Summary(gguf.tensorCount(), gguf.formats(), gguf.dataBytes(), notes);
    }

    /**
     * For each output row of a q or k projection [heads·D, ...], the source row that moves there when the rotary
     * pairs of the first {@code dims} values of every head go from one order to the other: interleaved row 2j + s is
     * halves row s·dims/2 + j.
     */
    static int[] pairRowOrder(int heads, int D, int dims, Rope.Order to) {
        int[] from = new int[heads * D];
        for (int h = 0; h < heads; h++) {
            for (int d = 0; d < D; d++) {
                int src = d;
                if (d < dims) {
                    int half = dims / 2;
                    // interleaved index 2j+s <-> halves index s*half + j
                    src = to == Rope.Order.INTERLEAVED ? (d % 2) * half + d / 2 : 2 * (d % half) + d / half;
                }
                from[h * D + d] = h * D + src;
            }
        }
        return from;
    }

    private static WeightTensor pairsReordered(WeightTensor t, int heads, ModelConfig c, Rope.Order to) {
        return t.rowsFrom(pairRowOrder(heads, c.headDim(), c.rope().dims(), to), "rotary pairs reordered to " + to);
    }

    private static float[] pairsReordered(float[] bias, int heads, ModelConfig c, Rope.Order to) {
        int[] from = pairRowOrder(heads, c.headDim(), c.rope().dims(), to);
        float[] out = new float[bias.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = bias[from[i]];
        }
        return out;
    }

    /** llama.cpp's llama_ftype of a file whose matrices are mostly {@code target}. */
    static int fileType(WeightType target) {
        return switch (target) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q8_0 -> 7;
            case BF16 -> 32;
            default -> throw new IllegalArgumentException(target + " is not written");
        };
    }

    private static WeightTensor matrix(String name, WeightTensor tensor, WeightType target, List<String> kept) {
        return ModelWeights.inFormat(tensor.named(name), target, kept);
    }

    private static WeightTensor vector(String name, float[] values) {
        return WeightTensor.ofFloats(name, values, values.length);
    }

    /**
     * A tokenizer's {@code tokenizer.ggml.*} metadata as llama.cpp reads it ({@link Tokenizer#ggufMetadata()}), its
     * tokens padded to the embedding's rows with "[PADn]" (type unused, score 0) as llama.cpp's converter pads them.
     */
    private static void putTokenizerMetadata(GgufWriter gguf, Tokenizer tokenizer, int rows) {
        int n = tokenizer.vocabSize();
        for (Map.Entry<String, GgufValue> e : tokenizer.ggufMetadata().entrySet()) {
            GgufValue value = e.getValue();
            if (n < rows) {
                switch (e.getKey()) {
                    case "tokenizer.ggml.tokens" -> {
                        String[] tokens = Arrays.copyOf(tokenizer.tokens(), rows);
                        for (int id = n; id < rows; id++) {
                            tokens[id] = "[PAD" + id + "]";
                        }
                        value = GgufValue.strings(tokens);
                    }
                    case "tokenizer.ggml.token_type" -> {
                        int[] types = new int[rows];
                        for (int id = 0; id < rows; id++) {
                            types[id] = id < n ? tokenizer.tokenType(id).code : TOKEN_UNUSED;
                        }
                        value = GgufValue.int32s(types);
                    }
                    case "tokenizer.ggml.scores" -> value = GgufValue.float32s(Arrays.copyOf(tokenizer.scores(), rows));
                    default -> { }
                }
            }
            gguf.put(e.getKey(), value);
        }
    }

    /**
     * GPT-2's tokenizer as llama.cpp's converter writes it: tokens padded to the embedding's rows with "[PADn]"
     * (type unused), end-of-text as a control token and as bos/eos/unk, the merges, and no automatic BOS.
     */
    private static void putTokenizer(GgufWriter gguf, Tokenizer any, ModelConfig c) {
        if (!(any instanceof Gpt2Tokenizer tokenizer)) {
            throw new InputException("a gpt2 GGUF file carries GPT-2's byte-level BPE tokenizer; this model's is '"
                    + any.ggufModel() + "' with the '" + any.ggufPre() + "' pre-tokenizer");
        }
        String[] vocab = tokenizer.tokens();
        String[] tokens = Arrays.copyOf(vocab, c.vocabSize());
        int[] types = new int[c.vocabSize()];
        for (int id = 0; id < tokens.length; id++) {
            if (id >= vocab.length) {
                tokens[id] = "[PAD" + id + "]";
                types[id] = TOKEN_UNUSED;
            } else {
                types[id] = tokens[id].equals(Gpt2Tokenizer.END_OF_TEXT) ? TOKEN_CONTROL : TOKEN_NORMAL;
            }
        }
        gguf.put("tokenizer.ggml.model", GgufValue.string("gpt2"));
        gguf.put("tokenizer.ggml.pre", GgufValue.string("gpt-2"));
        gguf.put("tokenizer.ggml.tokens", GgufValue.strings(tokens));
        gguf.put("tokenizer.ggml.token_type", GgufValue.int32s(types));
        gguf.put("tokenizer.ggml.merges", GgufValue.strings(tokenizer.merges()));
        int eos = tokenizer.endOfTextId().orElse(c.eosTokenId());
        if (eos >= 0) {
            gguf.put("tokenizer.ggml.bos_token_id", GgufValue.uint32(eos));
            gguf.put("tokenizer.ggml.eos_token_id", GgufValue.uint32(eos));
            gguf.put("tokenizer.ggml.unknown_token_id", GgufValue.uint32(eos));
        }
        gguf.put("tokenizer.ggml.add_bos_token", GgufValue.bool(false));
    }
}
