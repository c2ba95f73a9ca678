package gpuinfer.chat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A chat in progress: the messages so far, in order. Not thread-safe.
 *
 * <p>Keeping the KV cache across turns: the model has already seen the text of the conversation so far. When the
 * template renders the longer conversation as that text plus more, only the more needs a prefill;
 * {@link #appendedText} says what it is, or that the template rewrote earlier text (Qwen3 drops reasoning and the
 * empty think block of earlier replies; Mistral Nemo moves the system prompt to the last user message; Llama 3
 * base always ends with an assistant header), in which case the caller must prefill the whole new rendering.
 */
public final class Conversation {
    private final List<Message> messages = new ArrayList<>();

    public Conversation() {
    }

    public Conversation(List<Message> messages) {
        messages.forEach(m -> this.messages.add(Objects.requireNonNull(m, "message")));
    }

    /** Appends a message; returns this conversation. */
    public Conversation add(String role, String content) {
        messages.add(new Message(role, content));
        return this;
    }

    public Conversation add(Message message) {
        messages.add(Objects.requireNonNull(message, "message"));
        return this;
    }

    /** The messages so far (a read-only view). */
    public List<Message> messages() {
        return Collections.unmodifiableList(messages);
    }

    public int size() {
        return messages.size();
    }

    public String render(ChatTemplate template, boolean addGenerationPrompt) {
        return template.render(messages, addGenerationPrompt);
    }

    /**
     * The text to feed after {@code fedSoFar} (what the model has in its KV cache: the earlier prompt plus the
     * assistant's reply as the template renders it) to reach this conversation rendered with a generation prompt;
     * empty when the new rendering does not start with {@code fedSoFar}, so the cache cannot be kept.
     */
    public Optional<String> appendForNextTurn(ChatTemplate template, String fedSoFar) {
        return appendedText(fedSoFar, render(template, true));
    }

    /**
     * {@code after} minus its prefix {@code before}; empty when {@code before} is not a prefix of {@code after}
     * (the template changed earlier text: re-prefill {@code after} from the start).
     */
    public static Optional<String> appendedText(String before, String after) {
        return after.startsWith(before) ? Optional.of(after.substring(before.length())) : Optional.empty();
    }
}
