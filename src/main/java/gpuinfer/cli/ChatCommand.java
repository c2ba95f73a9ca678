package gpuinfer.cli;

import gpuinfer.InputException;
import gpuinfer.chat.ChatTemplate;
import gpuinfer.cl.ClContext;
import gpuinfer.generate.ChatSession;
import gpuinfer.model.DecoderModel;
import gpuinfer.model.LoadedModel;
import gpuinfer.ops.Backend;
import gpuinfer.ops.ClBackend;
import gpuinfer.ops.CpuBackend;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code gpu-infer chat}: an interactive conversation through the model's chat template, the KV cache kept. */
@Command(name = "chat", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Talk with a chat model: each line you type is a user message; the reply streams back. The model's",
                "own chat template (GGUF tokenizer.chat_template, or tokenizer_config.json) renders the conversation, and",
                "the KV cache is kept across turns: each turn prefills only the text the template adds. Type /reset to",
                "start over (keeping --system), /exit or end of input to leave. Statistics go to stderr.",
                "", "Examples:",
                "  gpu-infer chat --model tinyllama.Q8_0.gguf",
                "  gpu-infer chat --model ~/models/Qwen2-0.5B-Instruct --system \"Answer in one sentence.\"",
                "  printf 'Hi\\nWhat is 2+2?\\n' | gpu-infer chat --model m.gguf --temperature 0", ""})
final class ChatCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelOptions modelOptions;

    @picocli.CommandLine.Mixin
    SystemMessageOption systemMessage;

    @Option(names = "--max-tokens", defaultValue = "256", paramLabel = "N",
            description = "Tokens per reply at most (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--context", paramLabel = "N", description = "Positions the conversation may fill (default: the "
            + "model's context length, at most 4096).")
    Integer context;

    @Mixin
    SamplingMixin sampling;

    @Mixin
    ModelImplOption impl;

    @Mixin
    OpenClOptions opencl;

    /** Where the messages come from; tests replace System.in. */
    static InputStream stdin() {
        return System.in;
    }

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (maxTokens < 1) {
            throw new InputException("--max-tokens must be at least 1, not " + maxTokens);
        }
        impl.checked();
        LoadedModel loaded = modelOptions.open(err);
        ChatTemplate template = ChatSetup.template(loaded);
        int positions = context != null ? context : Math.min(loaded.config().nPositions(), 4096);
        if (positions < 2 || positions > loaded.config().nPositions()) {
            throw new InputException("--context " + positions + " must be between 2 and the model's context length "
                    + loaded.config().nPositions() + ".");
        }
        try (ClContext owned = impl.openOrFallBack(opencl, err, "chatting")) {
            Backend backend = owned == null ? new CpuBackend() : new ClBackend(owned, opencl.settings(owned));
            // prefill steps of up to 512 tokens: a long first message is fed in one step, activations stay small
            try (DecoderModel model = new DecoderModel(backend, loaded.weights(), 1, positions, Math.min(positions, 512), 1)) {
                ChatSession session = new ChatSession(model, loaded.tokenizer(), template, ChatSetup.stopIds(loaded),
                        sampling.options(), systemMessage.system);
                err.printf("%s (%s, %s) on %s; %d positions. /reset starts over, /exit leaves.%n", loaded.name(),
                        loaded.config().architecture(), loaded.weights().formats(),
                        owned == null ? "the Java CPU reference" : owned.device().name(), positions);
                converse(session, new BufferedReader(new InputStreamReader(stdin(), StandardCharsets.UTF_8)), out, err);
            }
        }
        return ExitCodes.OK;
    }

    private void converse(ChatSession session, BufferedReader in, PrintWriter out, PrintWriter err) throws IOException {
        boolean interactive = System.console() != null;
        while (true) {
            if (interactive) {
                err.print("> ");
                err.flush();
            }
            String line = in.readLine();
            if (line == null || line.strip().equals("/exit") || line.strip().equals("/quit")) {
                return;
            }
            if (line.isBlank()) {
                continue;
            }
            if (line.strip().equals("/reset")) {
                session.reset();
                err.println("(conversation reset)");
                continue;
            }
            ChatSession.Turn turn = session.say(line, maxTokens, (seq, token, text) -> {
                out.print(text);
                out.flush();
            });
            out.println();
            out.flush();
            var t = turn.timings();
            err.printf(Locale.ROOT, "[%d tokens fed%s in %.0f ms, %d generated at %.1f tokens/s, %s; %d positions in the cache]%n",
                    turn.fedTokens(), turn.reassembled() ? " (the template rewrote earlier turns: all re-fed)" : "",
                    t.prefillMillis(), turn.completion().generatedIds().length, t.decodeTokensPerSecond(),
                    turn.completion().stopReason().equals("end-of-text") ? "end of turn" : "--max-tokens reached",
                    turn.cachedPositions());
            err.flush();
        }
    }
}
