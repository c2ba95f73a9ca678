package gpuinfer.text;

import gpuinfer.gguf.GgufValue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalInt;

/** The {@code tokenizer.ggml.*} entries llama.cpp reads, for {@link Tokenizer#ggufMetadata()}. */
final class GgufTokenizerMetadata {
    private GgufTokenizerMetadata() {
    }

    static Map<String, GgufValue> of(Tokenizer t, boolean addSpacePrefix) {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        String model = t.ggufModel();
        m.put("tokenizer.ggml.model", GgufValue.string(model));
        m.put("tokenizer.ggml.pre", GgufValue.string(t.ggufPre()));
        m.put("tokenizer.ggml.tokens", GgufValue.strings(t.tokens()));
        int[] types = new int[t.vocabSize()];
        for (int id = 0; id < types.length; id++) {
            types[id] = t.tokenType(id).code;
        }
        m.put("tokenizer.ggml.token_type", GgufValue.int32s(types));
        if (model.equals("llama")) {
            m.put("tokenizer.ggml.scores", GgufValue.float32s(t.scores()));
        } else {
            m.put("tokenizer.ggml.merges", GgufValue.strings(t.merges()));
        }
        put(m, "tokenizer.ggml.bos_token_id", t.bosId());
        put(m, "tokenizer.ggml.eos_token_id", t.eosId());
        put(m, "tokenizer.ggml.eot_token_id", t.eotId());
        put(m, "tokenizer.ggml.unknown_token_id", t.unknownId());
        put(m, "tokenizer.ggml.padding_token_id", t.paddingId());
        m.put("tokenizer.ggml.add_bos_token", GgufValue.bool(t.addBos()));
        m.put("tokenizer.ggml.add_eos_token", GgufValue.bool(t.addEos()));
        if (model.equals("llama")) {
            m.put("tokenizer.ggml.add_space_prefix", GgufValue.bool(addSpacePrefix));
        }
        return m;
    }

    private static void put(Map<String, GgufValue> m, String key, OptionalInt id) {
        if (id.isPresent()) {
            m.put(key, GgufValue.uint32(id.getAsInt()));
        }
    }
}
