package gpuinfer.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.GZIPInputStream;

/**
 * The real tokenizer files in src/test/resources/tokenizers/ (see the README there) and their golden cases in
 * src/test/resources/golden/tokenizer/ (tools/golden_tokenizers.mjs, Hugging Face's tokenizers.js).
 */
final class RealTokenizers {
    static final List<String> NAMES = List.of("mistral", "llama2", "llama3", "qwen3");
    static final Path FILES = Path.of("src/test/resources/tokenizers");
    static final Path GOLDEN = Path.of("src/test/resources/golden/tokenizer");
    private static final Map<String, Tokenizer> LOADED = new ConcurrentHashMap<>();

    /** One golden case: the text, its ids without and with Hugging Face's default special tokens, the decoded ids. */
    record Case(String tokenizer, String name, String text, int[] ids, int[] idsDefault, String decoded) {
        @Override
        public String toString() {
            return tokenizer + " / " + name;
        }
    }

    private RealTokenizers() {
    }

    /** The tokenizer, loaded once per test run through {@link Tokenizers#fromFolder} from a folder laid out as on the Hub. */
    static Tokenizer load(String name) {
        return LOADED.computeIfAbsent(name, n -> Tokenizers.fromFolder(folder(n)));
    }

    /** A temporary model folder with the tokenizer's tokenizer.json (unzipped) and tokenizer_config.json. */
    static Path folder(String name) {
        try {
            Path dir = Files.createTempDirectory("tokenizer-" + name);
            dir.toFile().deleteOnExit();
            Path json = dir.resolve("tokenizer.json");
            Files.write(json, unzipped(name));
            Files.copy(FILES.resolve(name).resolve("tokenizer_config.json"), dir.resolve("tokenizer_config.json"));
            json.toFile().deleteOnExit();
            dir.resolve("tokenizer_config.json").toFile().deleteOnExit();
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] unzipped(String name) throws IOException {
        try (InputStream in = new GZIPInputStream(Files.newInputStream(FILES.resolve(name).resolve("tokenizer.json.gz")))) {
            return in.readAllBytes();
        }
    }

    static List<Case> cases(String name) {
        try {
            JsonNode root = new ObjectMapper().readTree(GOLDEN.resolve(name + ".json").toFile());
            List<Case> out = new ArrayList<>();
            for (JsonNode c : root.get("cases")) {
                out.add(new Case(name, c.get("name").asText(), c.get("text").asText(), ints(c.get("ids")),
                        ints(c.get("ids_default")), c.get("decoded").asText()));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Case> allCases() {
        List<Case> out = new ArrayList<>();
        NAMES.forEach(n -> out.addAll(cases(n)));
        return out;
    }

    private static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }
}
