package gpuinfer.chat;

import gpuinfer.InputException;

/**
 * A chat template that does not compile, that fails while rendering, or that rejects the conversation itself (its
 * {@code raise_exception(...)}; then {@link #templateMessage()} is the template's own message).
 */
public class ChatTemplateException extends InputException {
    private final String templateMessage;

    ChatTemplateException(String message, String templateMessage) {
        super(message);
        this.templateMessage = templateMessage;
    }

    ChatTemplateException(String message) {
        this(message, null);
    }

    /** The message the template passed to {@code raise_exception}, or null when the error is not the template's. */
    public String templateMessage() {
        return templateMessage;
    }
}
