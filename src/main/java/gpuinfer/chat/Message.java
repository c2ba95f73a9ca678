package gpuinfer.chat;

import java.util.Objects;

/**
 * One message of a chat: a role ({@code system}, {@code user}, {@code assistant}, or whatever else a model's template
 * knows) and its text. Templates see it as the dict {@code {"role": role, "content": content}}, as Hugging Face
 * passes messages to {@code apply_chat_template}.
 */
public record Message(String role, String content) {
    public Message {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
    }

    public static Message system(String content) {
        return new Message("system", content);
    }

    public static Message user(String content) {
        return new Message("user", content);
    }

    public static Message assistant(String content) {
        return new Message("assistant", content);
    }
}
