package gpuinfer.cli;

import gpuinfer.InputException;
import gpuinfer.text.Tokenizer;
import gpuinfer.text.Tokenizers;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code gpu-infer tokenize}: text to token ids and back, with the model's own tokenizer. */
@Command(name = "tokenize", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Turn text into the token ids of a GPT-2-family model, or ids back into text (--decode). "
                + "The model directory holds vocab.json and merges.txt, as in the model's Hugging Face repository. "
                + "<|endoftext|> in the text is the one special token (id 50256 in GPT-2).",
                "Text that begins with '-' goes after '--'. Standard input (-) is read as UTF-8 whatever the locale, "
                + "and taken exactly, final newline included.",
                "", "Examples:",
                "  gpu-infer tokenize \"Hello world\"                     (the bundled model's tokenizer)",
                "  gpu-infer tokenize --model ~/models/gpt2 --verbose \"naïve 😀\"",
                "  gpu-infer tokenize --model ~/models/gpt2 --decode 15496 995",
                "  cat story.txt | gpu-infer tokenize --model ~/models/gpt2 --json -", ""})
final class TokenizeCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelPathOption model;

    @Option(names = "--bos", description = "Add the BOS token in front where the model's tokenizer does (Llama), as "
            + "Hugging Face's encode and a prompt do.")
    boolean bos;

    @Option(names = "--decode", description = "The arguments are token ids (separated by spaces or commas); print "
            + "their text. Bytes that are not valid UTF-8 print as U+FFFD.")
    boolean decode;

    @Option(names = {"-v", "--verbose"}, description = "One line per token: id, the token as vocab.json writes it, "
            + "its bytes in hex, and its text when the bytes are whole UTF-8 characters.")
    boolean verbose;

    @Mixin
    JsonOutputOptions json;

    @Parameters(paramLabel = "TEXT|IDS", arity = "1..*",
            description = "The text to tokenize, as one argument (quote it), or - to read it from standard input "
                    + "(UTF-8). With --decode: the ids, or - to read them from standard input.")
    List<String> arguments;

    /** Where '-' reads from; tests replace System.in. */
    static InputStream stdin() {
        return System.in;
    }

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        Path modelPath = model.path();
        Tokenizer tokenizer = tokenizerOf(modelPath);
        int[] ids;
        String text;
        if (decode) {
            ids = parseIds(arguments.equals(List.of("-")) ? List.of(readStdin()) : arguments);
            text = tokenizer.decode(ids);
        } else {
            if (arguments.size() != 1) {
                throw new InputException("tokenize takes the text as one argument, and got " + arguments.size()
                        + ": quote it (\"like this\"), or give - to read standard input.");
            }
            text = arguments.get(0).equals("-") ? readStdin() : arguments.get(0);
            ids = bos ? tokenizer.encodeWithBos(text) : tokenizer.encode(text);
        }
        if (!json.replacesText()) {
            printText(out, tokenizer, ids, text);
        }
        if (json.wanted()) {
            Map<String, Object> report = new LinkedHashMap<>();
            report.put("model", modelPath.toString());
            report.put("count", ids.length);
            report.put("ids", ids);
            report.put("text", text);
            if (verbose) {
                report.put("tokens", tokensJson(tokenizer, ids));
            }
            json.emit(out, report);
        }
        return ExitCodes.OK;
    }

    /** The result as text: the ids, or the decoded text, or (--verbose) one line per token. */
    private void printText(PrintWriter out, Tokenizer tokenizer, int[] ids, String text) {
        if (verbose) {
            out.printf("%d tokens, %d characters%n", ids.length, text.codePointCount(0, text.length()));
            for (int id : ids) {
                byte[] bytes = tokenizer.decodeBytes(new int[] {id});
                String whole = wholeCharacters(bytes);
                out.printf("%7d  %-18s %-26s %s%n", id, Json.write(tokenizer.tokenString(id)), hex(bytes),
                        whole != null ? Json.write(whole) : "(part of a character)");
            }
        } else if (decode) {
            out.println(text);
        } else {
            StringBuilder line = new StringBuilder();
            for (int id : ids) {
                line.append(line.length() == 0 ? "" : " ").append(id);
            }
            out.println(line);
        }
    }

    /** The tokenizer of a model folder or of a GGUF file. */
    static Tokenizer tokenizerOf(Path model) {
        if (gpuinfer.model.LoadedModel.isGguf(model)) {
            try (gpuinfer.gguf.GgufFile file = gpuinfer.gguf.GgufFile.open(model)) {
                return Tokenizers.fromGguf(file);
            }
        }
        return Tokenizers.fromFolder(model);
    }

    private static List<Object> tokensJson(Tokenizer tokenizer, int[] ids) {
        List<Object> tokens = new ArrayList<>();
        for (int id : ids) {
            byte[] bytes = tokenizer.decodeBytes(new int[] {id});
            Map<String, Object> t = new LinkedHashMap<>();
            t.put("id", id);
            t.put("token", tokenizer.tokenString(id));
            t.put("bytes", hex(bytes).replace(" ", ""));
            t.put("text", wholeCharacters(bytes)); // null when the token holds part of a character
            tokens.add(t);
        }
        return tokens;
    }

    private static int[] parseIds(List<String> arguments) {
        List<String> parts = new ArrayList<>();
        for (String argument : arguments) {
            for (String part : argument.split("[\\s,\\[\\]]+")) {
                if (!part.isEmpty()) {
                    parts.add(part);
                }
            }
        }
        int[] ids = new int[parts.size()];
        for (int i = 0; i < ids.length; i++) {
            try {
                ids[i] = Integer.parseInt(parts.get(i));
            } catch (NumberFormatException e) {
                throw new InputException("\"" + parts.get(i) + "\" is not a token id; --decode takes integers, like "
                        + "--decode 15496 995.");
            }
        }
        return ids;
    }

    private static String readStdin() throws IOException {
        byte[] bytes = stdin().readAllBytes();
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new InputException("standard input is not valid UTF-8 text; convert it first (iconv -t UTF-8).");
        }
    }

    /** The bytes as text when they are whole, valid UTF-8 characters; otherwise null. */
    private static String wholeCharacters(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    private static String hex(byte[] bytes) {
        StringBuilder s = new StringBuilder();
        for (byte b : bytes) {
            s.append(s.length() == 0 ? "" : " ").append(String.format(Locale.ROOT, "%02x", b & 0xFF));
        }
        return s.toString();
    }
}
