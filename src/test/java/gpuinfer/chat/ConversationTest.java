package gpuinfer.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Keeping the KV cache across turns on the real templates. */
class ConversationTest {
    private static ChatTemplate real(String model) {
        return ChatTemplateGoldenTest.template(ChatTemplateGoldenTest.golden(model));
    }

    /** Two user turns; returns what the second turn appends, or empty where the template rewrites earlier text. */
    private static Optional<String> secondTurn(ChatTemplate t, boolean withSystem) {
        Conversation chat = new Conversation();
        if (withSystem) {
            chat.add("system", "You are terse.");
        }
        chat.add("user", "Hello");
        // The model was fed render(chat, true) and generated the reply; the template renders it as withReply.
        String withReply = chat.add("assistant", "Hi there").render(t, false);
        return chat.add("user", "Who are you?").appendForNextTurn(t, withReply);
    }

    @Test
    void llama3InstructAppendsOnlyTheNewTurn() {
        assertEquals(Optional.of("<|start_header_id|>user<|end_header_id|>\n\nWho are you?<|eot_id|>"
                + "<|start_header_id|>assistant<|end_header_id|>\n\n"), secondTurn(real("llama3-instruct"), true));
    }

    @Test
    void zephyrAppendsOnlyTheNewTurn() {
        assertEquals(Optional.of("<|user|>\nWho are you?</s>\n<|assistant|>\n"), secondTurn(real("zephyr"), false));
    }

    @Test
    void prefixStableTemplates() {
        for (String model : new String[] {"llama3-instruct", "llama3.1-instruct", "qwen2-instruct", "qwen2.5-instruct",
                "zephyr", "llama2-chat", "mistral-v0.2", "gemma2"}) {
            Optional<String> more = secondTurn(real(model), false);
            assertTrue(more.isPresent() && more.get().contains("Who are you?"), model + ": " + more);
        }
    }

    @Test
    void templatesThatRewriteEarlierTextSaySo() {
        // Qwen3 renders the last reply with an empty <think></think> block and drops it once a user message follows.
        assertEquals(Optional.empty(), secondTurn(real("qwen3"), false));
        // Llama 3 base always ends with an assistant header, also after the reply.
        assertEquals(Optional.empty(), secondTurn(real("llama3"), false));
        // Mistral Nemo puts the system prompt into the last user message: the reply's rendering drops it from the
        // prompt the model saw.
        ChatTemplate nemo = real("mistral-nemo");
        Conversation chat = new Conversation().add("system", "Be terse.").add("user", "Hello");
        String prompt = chat.render(nemo, true);
        String withReply = chat.add("assistant", "Hi").render(nemo, false);
        assertEquals(Optional.empty(), Conversation.appendedText(prompt, withReply));
    }

    @Test
    void appendedText() {
        assertEquals(Optional.of("c"), Conversation.appendedText("ab", "abc"));
        assertEquals(Optional.of(""), Conversation.appendedText("ab", "ab"));
        assertEquals(Optional.empty(), Conversation.appendedText("ab", "aXc"));
    }
}
