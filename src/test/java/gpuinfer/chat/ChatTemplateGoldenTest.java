package gpuinfer.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Real models' chat templates rendered by {@link ChatTemplate} (Jinjava) against the text @huggingface/jinja renders
 * for the same conversations (tools/golden_chat_templates.mjs writes src/test/resources/golden/chat/).
 */
class ChatTemplateGoldenTest {
    static final List<String> MODELS = List.of("llama3", "llama3-instruct", "llama3.1-instruct", "qwen2-instruct",
            "qwen2.5-instruct", "qwen3", "zephyr", "llama2-chat", "mistral-v0.1", "mistral-v0.2", "mistral-nemo",
            "gemma2");

    static JsonNode golden(String model) {
        try (InputStream in = ChatTemplateGoldenTest.class.getResourceAsStream("/golden/chat/" + model + ".json")) {
            if (in == null) {
                throw new IllegalStateException("missing golden/chat/" + model + ".json: run node tools/golden_chat_templates.mjs");
            }
            return new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static ChatTemplate template(JsonNode g) {
        return new ChatTemplate(g.get("template").textValue(), g.get("bos_token").textValue(),
                g.get("eos_token").textValue());
    }

    static List<Message> messages(JsonNode array) {
        List<Message> out = new ArrayList<>();
        array.forEach(m -> out.add(new Message(m.get("role").textValue(), m.get("content").textValue())));
        return out;
    }

    @TestFactory
    Stream<DynamicTest> everyCaseMatchesHuggingFaceJinja() {
        List<DynamicTest> tests = new ArrayList<>();
        for (String model : MODELS) {
            JsonNode g = golden(model);
            ChatTemplate t = template(g);
            for (JsonNode c : g.get("cases")) {
                boolean agp = c.get("add_generation_prompt").booleanValue();
                String name = model + " " + c.get("name").textValue() + (agp ? " +generation prompt" : "");
                List<Message> msgs = messages(c.get("messages"));
                tests.add(DynamicTest.dynamicTest(name, () -> {
                    if (c.has("error")) {
                        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> t.render(msgs, agp));
                        assertEquals(c.get("error").textValue(), e.templateMessage(), e.getMessage());
                        assertTrue(e.getMessage().contains(c.get("error").textValue()), e.getMessage());
                    } else {
                        assertEquals(c.get("expected").textValue(), t.render(msgs, agp), name);
                    }
                }));
            }
        }
        return tests.stream();
    }

    @Test
    void goldenFilesCoverEveryModelAndBothGenerationPromptSettings() {
        int cases = 0;
        int raises = 0;
        for (String model : MODELS) {
            JsonNode g = golden(model);
            cases += g.get("cases").size();
            for (JsonNode c : g.get("cases")) {
                raises += c.has("error") ? 1 : 0;
            }
        }
        assertTrue(cases >= 200, "cases: " + cases);
        assertTrue(raises >= 30, "raise_exception cases: " + raises);
    }

    /** Jinjava-rendered prefix checks agree with @huggingface/jinja's (recorded in the goldens). */
    @TestFactory
    Stream<DynamicTest> prefixStabilityAgreesWithHuggingFaceJinja() {
        List<DynamicTest> tests = new ArrayList<>();
        for (String model : MODELS) {
            JsonNode g = golden(model);
            ChatTemplate t = template(g);
            Map<String, JsonNode> conversations = new java.util.HashMap<>();
            g.get("cases").forEach(c -> conversations.put(c.get("name").textValue(), c.get("messages")));
            for (JsonNode p : g.get("prefix_checks")) {
                String conv = p.get("conversation").textValue();
                int i = p.get("reply_index").intValue();
                tests.add(DynamicTest.dynamicTest(model + " " + conv + " reply " + i, () -> {
                    List<Message> msgs = messages(conversations.get(conv));
                    String prompt = t.render(msgs.subList(0, i), true);
                    String withReply = t.render(msgs.subList(0, i + 1), false);
                    String nextTurn = t.render(msgs.subList(0, i + 2), true);
                    assertEquals(p.get("reply_extends_prompt").booleanValue(),
                            Conversation.appendedText(prompt, withReply).isPresent());
                    assertEquals(p.get("next_turn_extends_reply").booleanValue(),
                            Conversation.appendedText(withReply, nextTurn).isPresent());
                }));
            }
        }
        return tests.stream();
    }
}
