package gpuinfer.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * OpenAI's GPT-2 tokenizer files and the golden cases that tools/golden_tokenizer_gpt2.js wrote from independent
 * implementations (the npm package gpt-3-encoder and GPT-2's Python algorithm); see
 * src/test/resources/golden/tokenizer/gpt2/README.md.
 */
public final class Gpt2Files {
    private static final String ROOT = "/golden/tokenizer/gpt2/";

    private Gpt2Files() {
    }

    /** One encode case: the text, its GPT-2 ids, which implementation produced them, and GPT-2's regex pieces. */
    public record EncodeCase(String name, String text, int[] ids, String source, List<String> pretokens) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** One decode case whose bytes are not valid UTF-8, with Python's errors='replace' text. */
    public record InvalidUtf8Case(String name, byte[] bytes, int[] ids, String text) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** Writes {@code dir/vocab.json} and {@code dir/merges.txt} (GPT-2's encoder.json and vocab.bpe) and returns dir. */
    public static Path writeModelDirectory(Path dir) {
        try {
            Files.createDirectories(dir);
            gunzip("encoder.json.gz", dir.resolve("vocab.json"));
            gunzip("vocab.bpe.gz", dir.resolve("merges.txt"));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static List<EncodeCase> encodeCases() {
        List<EncodeCase> cases = new ArrayList<>();
        for (JsonNode c : read("cases.json").get("cases")) {
            List<String> pretokens = null;
            if (c.has("pretokens")) {
                pretokens = new ArrayList<>();
                for (JsonNode p : c.get("pretokens")) {
                    pretokens.add(p.asText());
                }
            }
            cases.add(new EncodeCase(c.get("name").asText(), c.get("text").asText(), ints(c.get("ids")),
                    c.get("source").asText(), pretokens));
        }
        return cases;
    }

    public static List<InvalidUtf8Case> invalidUtf8Cases() {
        List<InvalidUtf8Case> cases = new ArrayList<>();
        for (JsonNode c : read("invalid_utf8.json").get("cases")) {
            int[] bytes = ints(c.get("bytes"));
            byte[] b = new byte[bytes.length];
            for (int i = 0; i < b.length; i++) {
                b[i] = (byte) bytes[i];
            }
            cases.add(new InvalidUtf8Case(c.get("name").asText(), b, ints(c.get("ids")), c.get("text").asText()));
        }
        return cases;
    }

    private static int[] ints(JsonNode array) {
        int[] values = new int[array.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = array.get(i).asInt();
        }
        return values;
    }

    private static JsonNode read(String name) {
        try (InputStream in = open(name)) {
            return new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void gunzip(String name, Path target) throws IOException {
        try (InputStream in = new GZIPInputStream(open(name))) {
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private static InputStream open(String name) {
        InputStream in = Gpt2Files.class.getResourceAsStream(ROOT + name);
        if (in == null) {
            throw new IllegalStateException(ROOT + name + " missing: run node tools/golden_tokenizer_gpt2.js");
        }
        return in;
    }
}
