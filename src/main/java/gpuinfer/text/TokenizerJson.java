package gpuinfer.text;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.zip.GZIPInputStream;

/**
 * Reads a Hugging Face {@code tokenizer.json} (and optionally its {@code tokenizer_config.json}) into a
 * {@link BpeTokenizer}. The vocabulary and merges (Llama 3's file is 9 MB: 128,000 tokens and 280,000 merges) are
 * read with Jackson's streaming parser; the small sections (normalizer, pre_tokenizer, post_processor, decoder,
 * added_tokens) as trees. Every part gpu-infer does not implement is refused with a message naming the file, the
 * value and what is supported; nothing is silently ignored except training-only settings.
 */
final class TokenizerJson {
    private static final JsonFactory JSON = JsonFactory.builder()
            .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
            .disable(JsonFactory.Feature.INTERN_FIELD_NAMES)
            .build();
    private static final ObjectMapper MAPPER = new ObjectMapper(JSON);
    /** End-of-turn tokens of chat models, the first one present is {@link Tokenizer#eotId()}. */
    static final List<String> END_OF_TURN = List.of("<|eot_id|>", "<|im_end|>", "<end_of_turn>", "<|end|>", "<|eot|>");
    private static final String METASPACE = "\u2581";

    private final Path file;
    private String modelType;
    private final Map<String, Integer> vocab = new HashMap<>(1 << 17);
    private final List<String> mergeLeft = new ArrayList<>();
    private final List<String> mergeRight = new ArrayList<>();
    private boolean byteFallback;
    private boolean ignoreMerges;
    private boolean fuseUnknown;
    private String unknownToken;
    private JsonNode added = NullNode.instance;
    private JsonNode normalizer = NullNode.instance;
    private JsonNode preTokenizer = NullNode.instance;
    private JsonNode postProcessor = NullNode.instance;
    private JsonNode decoder = NullNode.instance;

    private TokenizerJson(Path file) {
        this.file = file;
    }

    /** Loads {@code json} ({@code tokenizer.json}, or the same gzipped when its name ends in .gz); {@code config} may be null. */
    static BpeTokenizer read(Path json, Path config) {
        TokenizerJson t = new TokenizerJson(json);
        t.parse();
        JsonNode cfg = config == null ? NullNode.instance : readConfig(config);
        return new BpeTokenizer(t.spec(cfg, config));
    }

    private static JsonNode readConfig(Path config) {
        try {
            JsonNode node = MAPPER.readTree(config.toFile());
            if (node == null || !node.isObject()) {
                throw new TokenizerFileException(config, "is not a JSON object; tokenizer_config.json holds the tokenizer's "
                        + "settings, like {\"bos_token\": \"<s>\", \"add_bos_token\": true}.");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new TokenizerFileException(config, "is not valid JSON (" + e.getOriginalMessage() + " at line "
                    + e.getLocation().getLineNr() + "); use the model's original tokenizer_config.json.", e);
        } catch (IOException e) {
            throw TokenizerFiles.unreadable(config, e);
        }
    }

    private void parse() {
        try (InputStream raw = Files.newInputStream(file);
             InputStream in = file.getFileName().toString().endsWith(".gz")
                     ? new GZIPInputStream(new BufferedInputStream(raw, 1 << 16), 1 << 16)
                     : new BufferedInputStream(raw, 1 << 16);
             JsonParser p = JSON.createParser(in)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw fail("is not a JSON object; a tokenizer.json is an object with \"model\", \"added_tokens\", "
                        + "\"normalizer\", \"pre_tokenizer\" and \"decoder\".");
            }
            boolean sawModel = false;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                p.nextToken();
                switch (name) {
                    case "model" -> {
                        readModel(p);
                        sawModel = true;
                    }
                    case "added_tokens" -> added = MAPPER.readTree(p);
                    case "normalizer" -> normalizer = MAPPER.readTree(p);
                    case "pre_tokenizer" -> preTokenizer = MAPPER.readTree(p);
                    case "post_processor" -> postProcessor = MAPPER.readTree(p);
                    case "decoder" -> decoder = MAPPER.readTree(p);
                    default -> p.skipChildren();
                }
            }
            if (!sawModel) {
                throw fail("has no \"model\" section; a tokenizer.json names its model (BPE), vocabulary and merges there.");
            }
        } catch (JsonProcessingException e) {
            throw new TokenizerFileException(file, "is not valid JSON (" + e.getOriginalMessage() + " at line "
                    + e.getLocation().getLineNr() + "); use the model's original tokenizer.json.", e);
        } catch (IOException e) {
            throw TokenizerFiles.unreadable(file, e);
        }
        added = added == null ? NullNode.instance : added;
        normalizer = orNull(normalizer);
        preTokenizer = orNull(preTokenizer);
        postProcessor = orNull(postProcessor);
        decoder = orNull(decoder);
    }

    private static JsonNode orNull(JsonNode n) {
        return n == null ? NullNode.instance : n;
    }

    private void readModel(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw fail("\"model\" is not an object.");
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken value = p.nextToken();
            switch (name) {
                case "type" -> modelType = p.getValueAsString();
                case "vocab" -> readVocab(p);
                case "merges" -> readMerges(p);
                case "byte_fallback" -> byteFallback = p.getValueAsBoolean();
                case "ignore_merges" -> ignoreMerges = p.getValueAsBoolean();
                case "fuse_unk" -> fuseUnknown = p.getValueAsBoolean();
                case "unk_token" -> unknownToken = value == JsonToken.VALUE_NULL ? null : p.getValueAsString();
                case "dropout" -> {
                    if (value != JsonToken.VALUE_NULL && p.getValueAsDouble() > 0) {
                        throw fail("model.dropout is " + p.getValueAsDouble() + "; BPE dropout is for training and makes "
                                + "tokenization random. Set it to null.");
                    }
                }
                case "continuing_subword_prefix", "end_of_word_suffix" -> {
                    if (value != JsonToken.VALUE_NULL && !p.getValueAsString("").isEmpty()) {
                        throw fail("model." + name + " is \"" + p.getValueAsString() + "\"; gpu-infer implements the BPE "
                                + "of GPT-2, Llama, Mistral and Qwen, which have none.");
                    }
                }
                default -> p.skipChildren();
            }
        }
    }

    private void readVocab(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw fail("model.vocab is not an object; it maps each token to its id, like {\"<unk>\": 0, ...}.");
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String token = p.currentName();
            if (p.nextToken() != JsonToken.VALUE_NUMBER_INT) {
                throw fail("model.vocab gives the token " + VocabFile.quote(token) + " the id " + p.getText()
                        + "; ids are whole numbers.");
            }
            long id = p.getLongValue();
            if (id < 0 || id >= Integer.MAX_VALUE) {
                throw fail("model.vocab gives the token " + VocabFile.quote(token) + " the id " + id + "; ids are 0 or more.");
            }
            if (vocab.put(token, (int) id) != null) {
                throw fail("model.vocab lists the token " + VocabFile.quote(token) + " twice.");
            }
        }
    }

    private void readMerges(JsonParser p) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) {
            throw fail("model.merges is not an array; it lists merges like \"▁ t\" or [\"▁\", \"t\"].");
        }
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (t == JsonToken.VALUE_STRING) {
                String m = p.getText();
                int space = m.indexOf(' ');
                if (space <= 0 || space == m.length() - 1 || m.indexOf(' ', space + 1) >= 0) {
                    throw fail("model.merges entry " + mergeLeft.size() + " is " + VocabFile.quote(m) + ", not a merge: "
                            + "two tokens separated by one space, like \"▁ t\".");
                }
                mergeLeft.add(m.substring(0, space));
                mergeRight.add(m.substring(space + 1));
            } else if (t == JsonToken.START_ARRAY) {
                String left = p.nextToken() == JsonToken.VALUE_STRING ? p.getText() : null;
                String right = left != null && p.nextToken() == JsonToken.VALUE_STRING ? p.getText() : null;
                if (right == null || p.nextToken() != JsonToken.END_ARRAY) {
                    throw fail("model.merges entry " + mergeLeft.size() + " is not a pair of two token strings.");
                }
                mergeLeft.add(left);
                mergeRight.add(right);
            } else {
                throw fail("model.merges entry " + mergeLeft.size() + " is " + t + "; a merge is \"left right\" or "
                        + "[\"left\", \"right\"].");
            }
        }
    }

    private BpeTokenizer.Spec spec(JsonNode config, Path configFile) {
        if (!"BPE".equals(modelType)) {
            throw fail("its model is " + (modelType == null ? "untyped" : "\"" + modelType + "\"") + "; gpu-infer reads BPE "
                    + "tokenizers (GPT-2, Llama, Mistral, Qwen and their kind), not WordPiece, WordLevel or Unigram.");
        }
        if (vocab.isEmpty()) {
            throw fail("model.vocab is empty.");
        }
        BpeTokenizer.Spec s = new BpeTokenizer.Spec();
        s.file = file;

        // Tokens: the model's vocabulary and the added tokens, ids 0 to N-1 with no gaps.
        int size = 0;
        for (int id : vocab.values()) {
            size = Math.max(size, id + 1);
        }
        List<AddedTokens.Token> addedTokens = new ArrayList<>();
        if (!added.isNull() && !added.isArray()) {
            throw fail("\"added_tokens\" is not an array.");
        }
        for (JsonNode a : added) {
            if (!a.path("id").canConvertToInt() || !a.path("content").isTextual() || a.path("id").asInt() < 0) {
                throw fail("an entry of \"added_tokens\" lacks a whole-number \"id\" or a \"content\" string: " + a);
            }
            addedTokens.add(new AddedTokens.Token(a.get("content").asText(), a.get("id").asInt(),
                    a.path("special").asBoolean(false), a.path("lstrip").asBoolean(false),
                    a.path("rstrip").asBoolean(false), a.path("single_word").asBoolean(false)));
            size = Math.max(size, a.get("id").asInt() + 1);
        }
        String[] tokens = new String[size];
        vocab.forEach((token, id) -> tokens[id] = token);
        TokenType[] types = new TokenType[size];
        for (AddedTokens.Token a : addedTokens) {
            if (tokens[a.id()] != null && !tokens[a.id()].equals(a.content())) {
                throw fail("added token " + VocabFile.quote(a.content()) + " has id " + a.id() + ", which model.vocab "
                        + "gives to " + VocabFile.quote(tokens[a.id()]) + "; the two must agree.");
            }
            tokens[a.id()] = a.content();
            types[a.id()] = a.special() ? TokenType.CONTROL : TokenType.USER_DEFINED;
        }
        for (int id = 0; id < size; id++) {
            if (tokens[id] == null) {
                throw fail("no token has id " + id + " (ids go up to " + (size - 1) + "); the ids of model.vocab and "
                        + "added_tokens must be 0 to N-1 without gaps.");
            }
        }
        Map<String, Integer> ids = new HashMap<>(size * 2);
        for (int id = 0; id < size; id++) {
            ids.putIfAbsent(tokens[id], id);
        }
        s.tokens = tokens;
        s.types = types;
        s.added = addedTokens;

        // Which kind: byte-level BPE or SentencePiece-style BPE with byte fallback.
        boolean byteLevel = has(preTokenizer, "ByteLevel") || has(decoder, "ByteLevel");
        boolean sentencePiece = byteFallback || has(preTokenizer, "Metaspace") || has(decoder, "Metaspace")
                || has(decoder, "ByteFallback") || has(normalizer, "Prepend");
        if (byteLevel == sentencePiece) {
            throw fail(byteLevel ? "mixes byte-level (ByteLevel) and SentencePiece (byte_fallback, Metaspace) settings; "
                    + "gpu-infer reads one or the other." : "has neither a ByteLevel pre-tokenizer nor SentencePiece's "
                    + "byte_fallback / Metaspace / Prepend(\"▁\"); gpu-infer reads byte-level BPE (GPT-2, Llama 3, Qwen) "
                    + "and SentencePiece-style BPE (Llama 2, Mistral).");
        }
        s.algorithm = byteLevel ? BpeTokenizer.Algorithm.BYTE_LEVEL : BpeTokenizer.Algorithm.SENTENCEPIECE_MERGES;
        s.ignoreMerges = ignoreMerges;
        s.fuseUnknown = fuseUnknown;
        if (unknownToken != null) {
            Integer unk = ids.get(unknownToken);
            if (unk == null) {
                throw fail("model.unk_token is " + VocabFile.quote(unknownToken) + ", which is not in the vocabulary.");
            }
            s.unknown = unk;
            types[unk] = TokenType.UNKNOWN;
        }
        for (int id = 0; id < size; id++) {
            if (types[id] == null) {
                types[id] = !byteLevel && BpeTokenizer.isByteToken(tokens[id]) ? TokenType.BYTE : TokenType.NORMAL;
            }
        }
        s.merges = merges(ids);
        s.normalizer = normalizer(normalizer);
        List<String> names = new ArrayList<>();
        s.preSteps = preTokenizer(preTokenizer, names);
        s.pre = byteLevel ? ggufPre(names) : "default";
        if (byteLevel && !has(preTokenizer, "ByteLevel")) {
            throw fail("decodes byte-level (decoder ByteLevel) but its pre_tokenizer has no ByteLevel step: "
                    + describe(preTokenizer) + ".");
        }
        s.stripLeadingSpace = decoder(byteLevel);

        // Special ids and BOS/EOS: tokenizer_config.json first, then the post-processor's template.
        int[] template = template(postProcessor, ids);
        s.bos = idOfConfigToken(config, "bos_token", ids, configFile, template[0]);
        s.eos = idOfConfigToken(config, "eos_token", ids, configFile, template[1]);
        s.pad = idOfConfigToken(config, "pad_token", ids, configFile, -1);
        s.addBos = config.has("add_bos_token") ? config.get("add_bos_token").asBoolean() : template[0] >= 0;
        s.addEos = config.has("add_eos_token") ? config.get("add_eos_token").asBoolean() : template[1] >= 0;
        for (String eot : END_OF_TURN) {
            Integer id = ids.get(eot);
            if (id != null && types[id] == TokenType.CONTROL) {
                s.eot = id;
                break;
            }
        }
        return s;
    }

    private MergeTable merges(Map<String, Integer> ids) {
        MergeTable table = new MergeTable();
        for (int i = 0; i < mergeLeft.size(); i++) {
            String left = mergeLeft.get(i);
            String right = mergeRight.get(i);
            Integer l = vocab.get(left);
            Integer r = vocab.get(right);
            Integer m = vocab.get(left + right);
            if (l == null || r == null || m == null) {
                String absent = l == null ? left : r == null ? right : left + right;
                throw fail("model.merges entry " + i + " merges " + VocabFile.quote(left) + " and " + VocabFile.quote(right)
                        + " but " + VocabFile.quote(absent) + " is not in model.vocab; the file is damaged or edited. "
                        + "Use the model's original tokenizer.json.");
            }
            table.add(l, r, i, m); // a repeated pair keeps its first (best) rank, as Hugging Face does
        }
        return table;
    }

    /** Whether a component or any step of a Sequence has this type. */
    private static boolean has(JsonNode node, String type) {
        if (node == null || node.isNull()) {
            return false;
        }
        if (type.equals(node.path("type").asText())) {
            return true;
        }
        for (String list : new String[] {"pretokenizers", "normalizers", "decoders", "processors"}) {
            for (JsonNode n : node.path(list)) {
                if (has(n, type)) {
                    return true;
                }
            }
        }
        return false;
    }

    private Normalizer normalizer(JsonNode node) {
        List<UnaryOperator<String>> steps = new ArrayList<>();
        addNormalizer(node, steps);
        return steps.isEmpty() ? Normalizer.NONE : new Normalizer(steps, describe(node));
    }

    private void addNormalizer(JsonNode node, List<UnaryOperator<String>> steps) {
        if (node.isNull()) {
            return;
        }
        String type = node.path("type").asText();
        switch (type) {
            case "Sequence" -> node.path("normalizers").forEach(n -> addNormalizer(n, steps));
            case "NFC" -> steps.add(Normalizer.unicode(java.text.Normalizer.Form.NFC));
            case "NFD" -> steps.add(Normalizer.unicode(java.text.Normalizer.Form.NFD));
            case "NFKC" -> steps.add(Normalizer.unicode(java.text.Normalizer.Form.NFKC));
            case "NFKD" -> steps.add(Normalizer.unicode(java.text.Normalizer.Form.NFKD));
            case "Prepend" -> steps.add(Normalizer.prepend(node.path("prepend").asText()));
            case "Replace" -> {
                JsonNode pattern = node.path("pattern");
                if (!pattern.has("String")) {
                    throw fail("normalizer Replace has pattern " + pattern + "; gpu-infer implements Replace of a literal "
                            + "string ({\"String\": \" \"}), not of a regex.");
                }
                steps.add(Normalizer.replace(pattern.get("String").asText(), node.path("content").asText()));
            }
            default -> throw fail("has normalizer " + (type.isEmpty() ? node.toString() : "\"" + type + "\"")
                    + "; gpu-infer implements Sequence, NFC, NFD, NFKC, NFKD, Prepend and Replace (of a string).");
        }
    }

    private List<PreTokenizers.Step> preTokenizer(JsonNode node, List<String> names) {
        List<PreTokenizers.Step> steps = new ArrayList<>();
        addPreTokenizer(node, steps, names);
        return steps;
    }

    private void addPreTokenizer(JsonNode node, List<PreTokenizers.Step> steps, List<String> names) {
        if (node.isNull()) {
            return;
        }
        String type = node.path("type").asText();
        switch (type) {
            case "Sequence" -> node.path("pretokenizers").forEach(n -> addPreTokenizer(n, steps, names));
            case "ByteLevel" -> {
                boolean prefix = node.path("add_prefix_space").asBoolean(false);
                boolean regex = node.path("use_regex").asBoolean(true);
                steps.add(regex ? PreTokenizers.gpt2(prefix) : PreTokenizers.prefixSpace(prefix));
                names.add("ByteLevel" + (regex ? "+regex" : "") + (prefix ? "+prefix" : ""));
            }
            case "Split" -> {
                String behavior = node.path("behavior").asText();
                if (!behavior.equals("Isolated") || node.path("invert").asBoolean(false)) {
                    throw fail("has pre-tokenizer Split with behavior \"" + behavior + "\"" + (node.path("invert")
                            .asBoolean(false) ? " and invert true" : "") + "; gpu-infer implements Split with behavior "
                            + "Isolated and invert false (Llama 3's and Qwen's).");
                }
                String regex = node.path("pattern").path("Regex").asText(null);
                String known = regex == null ? null : regex.equals(PreTokenizers.LLAMA3_REGEX) ? "llama3"
                        : regex.equals(PreTokenizers.QWEN2_REGEX) ? "qwen2"
                        : regex.equals(PreTokenizers.GPT2_REGEX) ? "gpt2" : null;
                if (known == null) {
                    throw fail("has pre-tokenizer Split with pattern " + node.path("pattern") + "; gpu-infer implements "
                            + "the regexes of Llama 3 (" + PreTokenizers.LLAMA3_REGEX + "), Qwen2 ("
                            + PreTokenizers.QWEN2_REGEX + ") and GPT-2, checked against Hugging Face; another regex needs "
                            + "its own check before it can be trusted.");
                }
                steps.add(known.equals("gpt2") ? PreTokenizers.gpt2(false) : PreTokenizers.isolated(PreTokenizers.compile(regex)));
                names.add("Split:" + known);
            }
            case "Digits" -> {
                boolean individual = node.path("individual_digits").asBoolean(false);
                steps.add(PreTokenizers.digits(individual));
                names.add("Digits" + (individual ? ":individual" : ""));
            }
            case "Metaspace" -> {
                String replacement = node.path("replacement").asText(METASPACE);
                if (replacement.length() != 1) {
                    throw fail("has pre-tokenizer Metaspace with replacement " + VocabFile.quote(replacement)
                            + "; it must be one character (\"▁\").");
                }
                String scheme = node.has("prepend_scheme") ? node.get("prepend_scheme").asText()
                        : node.path("add_prefix_space").asBoolean(true) ? "always" : "never";
                if (!List.of("always", "first", "never").contains(scheme)) {
                    throw fail("has pre-tokenizer Metaspace with prepend_scheme \"" + scheme + "\"; it is always, first "
                            + "or never.");
                }
                steps.add(PreTokenizers.metaspace(replacement.charAt(0), scheme, node.path("split").asBoolean(true)));
                names.add("Metaspace");
            }
            default -> throw fail("has pre-tokenizer " + (type.isEmpty() ? node.toString() : "\"" + type + "\"")
                    + "; gpu-infer implements Sequence, Split (Llama 3's and Qwen2's regex, Isolated), ByteLevel, Digits "
                    + "and Metaspace.");
        }
    }

    /** The GGUF name of a byte-level pre-tokenizer, or null when llama.cpp has none for it. */
    private static String ggufPre(List<String> names) {
        String signature = String.join(",", names);
        return switch (signature) {
            case "ByteLevel+regex", "Split:gpt2,ByteLevel" -> "gpt-2";
            case "Split:llama3,ByteLevel" -> "llama-bpe";
            case "Split:qwen2,ByteLevel" -> "qwen2";
            case "Digits:individual,ByteLevel+regex" -> "smollm";
            default -> null;
        };
    }

    /** Checks the decoder and returns whether it strips the leading space (SentencePiece's Strip / Metaspace). */
    private boolean decoder(boolean byteLevel) {
        if (decoder.isNull()) {
            return false;
        }
        List<JsonNode> steps = new ArrayList<>();
        if (decoder.path("type").asText().equals("Sequence")) {
            decoder.path("decoders").forEach(steps::add);
        } else {
            steps.add(decoder);
        }
        boolean strip = false;
        for (JsonNode d : steps) {
            String type = d.path("type").asText();
            switch (type) {
                case "ByteLevel", "ByteFallback", "Fuse" -> {
                }
                case "Replace" -> {
                    if (!d.path("pattern").path("String").asText().equals(METASPACE) || !d.path("content").asText().equals(" ")) {
                        throw fail("has decoder Replace " + d + "; gpu-infer implements Replace(\"▁\", \" \").");
                    }
                }
                case "Strip" -> {
                    if (!d.path("content").asText().equals(" ") || d.path("start").asInt() > 1 || d.path("stop").asInt() != 0) {
                        throw fail("has decoder Strip " + d + "; gpu-infer implements Strip(\" \", start 1, stop 0).");
                    }
                    strip = d.path("start").asInt() == 1;
                }
                case "Metaspace" -> strip = !d.path("prepend_scheme").asText(
                        d.path("add_prefix_space").asBoolean(true) ? "always" : "never").equals("never");
                default -> throw fail("has decoder \"" + type + "\"; gpu-infer implements ByteLevel, and for SentencePiece "
                        + "Replace(\"▁\", \" \"), ByteFallback, Fuse, Strip and Metaspace.");
            }
        }
        return !byteLevel && strip;
    }

    /** [BOS id, EOS id] that the post-processor's TemplateProcessing puts around a single text (-1 where none). */
    private int[] template(JsonNode node, Map<String, Integer> ids) {
        int[] out = {-1, -1};
        if (node.isNull()) {
            return out;
        }
        String type = node.path("type").asText();
        switch (type) {
            case "Sequence" -> node.path("processors").forEach(n -> {
                int[] t = template(n, ids);
                out[0] = t[0] >= 0 ? t[0] : out[0];
                out[1] = t[1] >= 0 ? t[1] : out[1];
            });
            case "ByteLevel" -> {
            }
            case "TemplateProcessing" -> {
                JsonNode single = node.path("single");
                if (single.size() > 0) {
                    out[0] = specialId(single.get(0), node, ids);
                    out[1] = single.size() > 1 ? specialId(single.get(single.size() - 1), node, ids) : -1;
                }
            }
            default -> throw fail("has post_processor \"" + type + "\"; gpu-infer implements TemplateProcessing, "
                    + "ByteLevel and Sequence.");
        }
        return out;
    }

    private int specialId(JsonNode item, JsonNode template, Map<String, Integer> ids) {
        if (!item.has("SpecialToken")) {
            return -1;
        }
        String name = item.get("SpecialToken").path("id").asText();
        JsonNode listed = template.path("special_tokens").path(name).path("ids");
        if (listed.size() == 1) {
            return listed.get(0).asInt();
        }
        Integer id = ids.get(name);
        if (id == null) {
            throw fail("post_processor adds the special token " + VocabFile.quote(name) + ", which is not in the vocabulary.");
        }
        return id;
    }

    private int idOfConfigToken(JsonNode config, String key, Map<String, Integer> ids, Path configFile, int fallback) {
        JsonNode v = config.path(key);
        String token = v.isTextual() ? v.asText() : v.path("content").isTextual() ? v.path("content").asText() : null;
        if (token == null) {
            return fallback;
        }
        Integer id = ids.get(token);
        if (id == null) {
            throw new TokenizerFileException(configFile, key + " is " + VocabFile.quote(token) + ", which is not in the "
                    + "vocabulary of " + file.getFileName() + "; the two files must come from the same model.");
        }
        return id;
    }

    private static String describe(JsonNode node) {
        String s = node.toString();
        return s.length() > 300 ? s.substring(0, 300) + "..." : s;
    }

    private TokenizerFileException fail(String problem) {
        return new TokenizerFileException(file, problem);
    }
}
