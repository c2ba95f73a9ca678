package gpuinfer.text;

import java.util.List;
import java.util.function.UnaryOperator;

/**
 * The normalisation steps of a {@code tokenizer.json} that gpu-infer implements, applied in order to each piece of
 * ordinary text (the text between added tokens): Unicode normal forms, {@code Prepend} (only to a non-empty piece,
 * as Hugging Face does) and {@code Replace} of a literal string.
 */
final class Normalizer {
    static final Normalizer NONE = new Normalizer(List.of(), "none");

    private final List<UnaryOperator<String>> steps;
    private final String description;

    Normalizer(List<UnaryOperator<String>> steps, String description) {
        this.steps = List.copyOf(steps);
        this.description = description;
    }

    static UnaryOperator<String> unicode(java.text.Normalizer.Form form) {
        return s -> java.text.Normalizer.normalize(s, form);
    }

    static UnaryOperator<String> prepend(String prefix) {
        return s -> s.isEmpty() ? s : prefix + s;
    }

    static UnaryOperator<String> replace(String pattern, String content) {
        return s -> s.replace(pattern, content);
    }

    String apply(String text) {
        for (UnaryOperator<String> step : steps) {
            text = step.apply(text);
        }
        return text;
    }

    @Override
    public String toString() {
        return description;
    }
}
