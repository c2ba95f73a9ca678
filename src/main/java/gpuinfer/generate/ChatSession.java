package gpuinfer.generate;

import gpuinfer.InputException;
import gpuinfer.chat.ChatTemplate;
import gpuinfer.chat.Conversation;
import gpuinfer.chat.Message;
import gpuinfer.model.DecoderModel;
import gpuinfer.model.Tap;
import gpuinfer.text.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * A conversation with a model through its own chat template, keeping the KV cache across turns: each turn feeds
 * only the text the template adds after what the model has already seen (the end-of-turn token after the reply, the
 * next user message, the assistant header), unless the template rewrites earlier text, in which case the whole
 * conversation is prefilled again. Generation stops at the template's end-of-turn token(s). Not thread-safe.
 */
public final class ChatSession {
    private final DecoderModel model;
    private final Tokenizer tokenizer;
    private final ChatTemplate template;
    private final int[] stopIds;
    private final SamplingOptions sampling;
    private Conversation conversation = new Conversation();
    /** The text whose tokens the cache holds (or will once {@link #pending} is fed). */
    private String fed = "";
    /** Positions of the KV cache that hold the conversation. */
    private int cached;
    /** Generated tokens that are part of {@link #fed} but not yet in the cache (a reply cut by the token budget). */
    private final List<Integer> pending = new ArrayList<>();
    /** The ids in the cache, in position order. */
    private final List<Integer> history = new ArrayList<>();
    private int turn;

    /**
     * What one turn did.
     *
     * @param reassembled  the template rewrote earlier text, so the whole conversation was prefilled again
     * @param fedIds       the ids prefilled this turn, after the cache's first {@code startPosition} positions
     */
    public record Turn(String reply, Generator.Completion completion, Generator.Timings timings, int[] fedIds,
                       int startPosition, boolean reassembled, int cachedPositions) {
        public int fedTokens() {
            return fedIds.length;
        }
    }

    /**
     * @param system a system message to start with, or null
     */
    public ChatSession(DecoderModel model, Tokenizer tokenizer, ChatTemplate template, int[] stopIds,
                       SamplingOptions sampling, String system) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.template = template;
        this.stopIds = stopIds.clone();
        this.sampling = sampling;
        if (system != null) {
            conversation.add(Message.system(system));
        }
    }

    /** The messages so far. */
    public List<Message> messages() {
        return conversation.messages();
    }

    /** The ids the cache holds, in position order (what a fresh model would need fed to continue identically). */
    public int[] history() {
        return history.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Positions of the cache in use. */
    public int cachedPositions() {
        return cached;
    }

    /** Forgets the conversation (keeping its system message) and the cache. */
    public void reset() {
        conversation = new Conversation(conversation.messages().stream().filter(m -> m.role().equals("system")).toList());
        cached = 0;
        fed = "";
        pending.clear();
        history.clear();
        turn = 0;
    }

    /** Sends a user message and generates the reply, streaming its text to {@code listener}. */
    public Turn say(String userText, int maxTokens, Generator.Listener listener) {
        // the turn works on a copy: a turn that fails (a full context) leaves the conversation as it was
        Conversation next = new Conversation(conversation.messages()).add("user", userText);
        String rendered = next.render(template, true);
        Optional<String> appended = fed.isEmpty() ? Optional.of(rendered) : Conversation.appendedText(fed, rendered);
        boolean reassembled = appended.isEmpty();
        int start = cached;
        List<Integer> ids = new ArrayList<>(pending);
        String toFeed;
        if (reassembled) {
            start = 0;
            ids.clear();
            toFeed = rendered;
        } else {
            toFeed = appended.get();
        }
        // the template writes BOS itself where the model wants one (bos_token in the text): no BOS is added
        for (int id : tokenizer.encode(toFeed)) {
            ids.add(id);
        }
        int[] prompt = ids.stream().mapToInt(Integer::intValue).toArray();
        if (prompt.length == 0) {
            throw new IllegalStateException("the chat template added no text for a new user message");
        }
        int room = model.maxSequence() - start - prompt.length;
        if (room < 1) {
            throw new InputException("The conversation is " + (start + prompt.length) + " tokens, which fills the "
                    + model.maxSequence() + " positions this chat holds: start a new chat (/reset) or raise --context.");
        }
        int budget = Math.min(maxTokens, room);
        Generator.Result result = Generator.generate(model, tokenizer, List.of(prompt), new int[] {start}, stopIds,
                budget, sampling, false, listener, step -> Tap.NONE, tokenizer::continuationDecoder);
        Generator.Completion c = result.completions().get(0);
        int[] generated = c.generatedIds();
        boolean stopped = c.stopReason().equals("end-of-text");
        int[] reply = stopped ? Arrays.copyOf(generated, generated.length - 1) : generated;
        String replyText = tokenizer.decode(reply);
        conversation = next.add("assistant", replyText);
        // the cache holds the prompt and every generated token but the last one sampled (never fed back)
        cached = start + prompt.length + Math.max(0, generated.length - 1);
        if (reassembled) {
            history.clear();
        }
        for (int id : prompt) {
            history.add(id);
        }
        for (int i = 0; i < generated.length - 1; i++) {
            history.add(generated[i]);
        }
        pending.clear();
        if (!stopped && reply.length > 0) {
            pending.add(reply[reply.length - 1]);
        }
        fed = (reassembled ? "" : fed) + toFeed + replyText;
        turn++;
        return new Turn(replyText, c, result.timings(), prompt, start, reassembled && turn > 1, cached);
    }

}
