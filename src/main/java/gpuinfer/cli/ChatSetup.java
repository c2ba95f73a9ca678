package gpuinfer.cli;

import gpuinfer.InputException;
import gpuinfer.chat.ChatTemplate;
import gpuinfer.model.LoadedModel;
import gpuinfer.text.Tokenizer;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;

/** A model's chat template and the tokens that end its turn, as {@code run --chat} and {@code chat} use them. */
final class ChatSetup {
    /**
     * Tokens that end an assistant's turn in the templates gpu-infer knows, besides the tokenizer's EOS and EOT ids
     * (llama.cpp stops at the same ones: Llama 3's end of turn and of message, ChatML's, Gemma's, Phi's).
     */
    static final List<String> END_OF_TURN = List.of("<|eot_id|>", "<|eom_id|>", "<|end_of_text|>", "<|im_end|>",
            "<|endoftext|>", "<end_of_turn>", "<|end|>", "</s>");

    private ChatSetup() {
    }

    /** The model's own template, with its BOS and EOS token strings; a clear error when it has none. */
    static ChatTemplate template(LoadedModel model) {
        if (model.chatTemplate() == null) {
            throw new InputException(model.name() + " has no chat template (GGUF tokenizer.chat_template, or "
                    + "chat_template in tokenizer_config.json / chat_template.jinja): it is not a chat model. Run it "
                    + "without --chat, or use the model's instruct/chat variant.");
        }
        Tokenizer t = model.tokenizer();
        return new ChatTemplate(model.chatTemplate(), text(t, t.bosId()), text(t, t.eosId()));
    }

    /** The ids that end a reply: EOS, the end-of-turn id, and every known end-of-turn token the vocabulary has. */
    static int[] stopIds(LoadedModel model) {
        Tokenizer t = model.tokenizer();
        Set<Integer> ids = new LinkedHashSet<>();
        t.eotId().ifPresent(ids::add);
        t.eosId().ifPresent(ids::add);
        if (model.config().eosTokenId() >= 0) {
            ids.add(model.config().eosTokenId());
        }
        for (String token : END_OF_TURN) {
            t.idOf(token).ifPresent(ids::add);
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    private static String text(Tokenizer t, OptionalInt id) {
        return id.isPresent() ? t.tokenString(id.getAsInt()) : "";
    }
}
