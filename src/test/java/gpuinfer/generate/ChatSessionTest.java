package gpuinfer.generate;

import gpuinfer.chat.ChatTemplate;
import gpuinfer.chat.Conversation;
import gpuinfer.chat.Message;
import gpuinfer.model.DecoderModel;
import gpuinfer.model.LoadedModel;
import gpuinfer.model.Tap;
import gpuinfer.ops.CpuBackend;
import gpuinfer.text.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A chat keeps its KV cache across turns and still computes what prefilling the whole conversation computes: the
 * greedy reply of every turn equals the reply of a fresh model fed, in one prefill, every id the chat's cache holds
 * plus the turn's new ids, with the golden llama-tiny (Llama 3.1's template) and qwen2-tiny (ChatML) models on the
 * CPU reference. (Re-tokenising the whole rendered text may give other ids than the ones the model generated: BPE
 * spells some strings several ways; the chat keeps the model's own, as llama.cpp's server does.) A template that
 * rewrites earlier text is detected and the conversation fed again from the start.
 */
class ChatSessionTest {
    static final Path GOLDEN = Path.of("src/test/resources/golden/llama");
    static final SamplingOptions GREEDY = new SamplingOptions(0, 0, 1, 0);

    private static int[] stops(Tokenizer t) {
        return java.util.stream.IntStream.concat(t.eotId().stream(), t.eosId().stream()).distinct().toArray();
    }

    /** The greedy reply of a fresh model to the whole conversation rendered with a generation prompt. */
    private static int[] freshReply(LoadedModel m, ChatTemplate template, List<Message> messages, int maxTokens) {
        return freshReply(m, m.tokenizer().encode(template.render(messages, true)), maxTokens);
    }

    /** The greedy reply of a fresh model to {@code prompt}, prefilled in one step. */
    private static int[] freshReply(LoadedModel m, int[] prompt, int maxTokens) {
        try (DecoderModel model = new DecoderModel(new CpuBackend(), m.weights(), 1, prompt.length + maxTokens,
                prompt.length, 1)) {
            Generator.Result r = Generator.generate(model, m.tokenizer(), List.of(prompt), new int[1], stops(m.tokenizer()),
                    maxTokens, GREEDY, false, null, step -> Tap.NONE, m.tokenizer()::continuationDecoder);
            return r.completions().get(0).generatedIds();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama-tiny-f32.gguf", "qwen2-tiny"})
    void turnsWithTheCacheKeptEqualPrefillingTheWholeConversation(String source) {
        LoadedModel m = LoadedModel.open(GOLDEN.resolve(source), null);
        Tokenizer t = m.tokenizer();
        ChatTemplate template = new ChatTemplate(m.chatTemplate(), t.bosId().isPresent() ? t.tokenString(t.bosId().getAsInt()) : "",
                t.eosId().isPresent() ? t.tokenString(t.eosId().getAsInt()) : "");
        int maxTokens = 6;
        try (DecoderModel model = new DecoderModel(new CpuBackend(), m.weights(), 1, 256, 128, 1)) {
            ChatSession chat = new ChatSession(model, t, template, stops(t), GREEDY, "Be brief.");
            int before = 0;
            for (String user : List.of("Hello there", "Tell me about the sea.", "And the sky?")) {
                List<Message> history = chat.messages();
                int[] cachedIds = chat.history();
                ChatSession.Turn turn = chat.say(user, maxTokens, null);
                assertEquals(cachedIds.length, turn.startPosition());
                assertFalse(turn.reassembled(), "the template only appends: the cache is kept");
                assertTrue(turn.cachedPositions() > before);
                before = turn.cachedPositions();
                List<Message> conversation = new java.util.ArrayList<>(history);
                conversation.add(Message.user(user));
                int[] all = java.util.stream.IntStream.concat(Arrays.stream(cachedIds), Arrays.stream(turn.fedIds())).toArray();
                assertArrayEquals(freshReply(m, all, maxTokens), turn.completion().generatedIds(),
                        source + ": reply to '" + user + "'");
                if (history.size() <= 1) {
                    // the first turn is the whole rendering: the same ids as a fresh prompt
                    assertArrayEquals(freshReply(m, template, conversation, maxTokens), turn.completion().generatedIds());
                }
                // fed this turn: only the new text (the end of the previous turn, the user message, the header)
                int whole = t.encode(template.render(conversation, true)).length;
                assertTrue(turn.fedTokens() < whole || history.size() <= 1, turn.fedTokens() + " of " + whole);
            }
            assertEquals(7, chat.messages().size(), "system + 3 user + 3 assistant messages");
            chat.reset();
            assertEquals(List.of(Message.system("Be brief.")), chat.messages());
            assertEquals(0, chat.cachedPositions());
        }
    }

    @Test
    void aTemplateThatRewritesEarlierTextIsFedAgainFromTheStart() {
        LoadedModel m = LoadedModel.open(GOLDEN.resolve("qwen2-tiny"), null);
        // renders only the last message: every new rendering drops what the model saw
        ChatTemplate lastOnly = new ChatTemplate("{{ '<|im_start|>user\\n' + messages[-1]['content'] + '<|im_end|>\\n' }}"
                + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}", "", "<|im_end|>");
        try (DecoderModel model = new DecoderModel(new CpuBackend(), m.weights(), 1, 256, 128, 1)) {
            ChatSession chat = new ChatSession(model, m.tokenizer(), lastOnly, stops(m.tokenizer()), GREEDY, null);
            chat.say("first", 4, null);
            ChatSession.Turn second = chat.say("second", 4, null);
            assertTrue(second.reassembled());
            List<Message> last = List.of(Message.user("second"));
            assertArrayEquals(freshReply(m, lastOnly, last, 4), second.completion().generatedIds());
            assertEquals(m.tokenizer().encode(lastOnly.render(last, true)).length, second.fedTokens());
        }
        assertTrue(Conversation.appendedText("ab", "abc").isPresent());
    }

    @Test
    void aFullContextIsAClearErrorAndLeavesTheConversationAsItWas() {
        LoadedModel m = LoadedModel.open(GOLDEN.resolve("qwen2-tiny"), null);
        Tokenizer t = m.tokenizer();
        ChatTemplate template = new ChatTemplate(m.chatTemplate(), "", "<|im_end|>");
        try (DecoderModel model = new DecoderModel(new CpuBackend(), m.weights(), 1, 40, 40, 1)) {
            ChatSession chat = new ChatSession(model, t, template, stops(t), GREEDY, null);
            String longText = String.join(" ", java.util.Collections.nCopies(40, "words"));
            gpuinfer.InputException e = org.junit.jupiter.api.Assertions.assertThrows(gpuinfer.InputException.class,
                    () -> chat.say(longText, 4, null));
            assertTrue(e.getMessage().contains("/reset"), e.getMessage());
            assertTrue(chat.messages().isEmpty(), Arrays.toString(chat.messages().toArray()));
        }
    }
}
