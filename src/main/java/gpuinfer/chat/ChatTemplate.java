package gpuinfer.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.filter.AdvancedFilter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import jinjava.javax.el.CompositeELResolver;

/**
 * A model's chat template (GGUF {@code tokenizer.chat_template}, or {@code chat_template} in
 * tokenizer_config.json), rendered as Hugging Face transformers' {@code apply_chat_template} renders it: Jinja with
 * {@code trim_blocks} and {@code lstrip_blocks}, the globals {@code messages}, {@code bos_token},
 * {@code eos_token}, {@code add_generation_prompt}, the functions {@code raise_exception(msg)} and
 * {@code strftime_now(format)}, and HF's {@code tojson} filter.
 *
 * <p>The engine is Jinjava. Where Jinjava differs from Python's jinja2 on what real templates use, this class
 * adapts it: Python's str/dict methods ({@link PythonMethods}), Python's {@code trim} and {@code tojson} filters,
 * slices with a step ({@link TemplateSource}), and Jinjava's legacy options switched to jinja2's behaviour
 * (operator precedence, whitespace control, map iteration). Instances are immutable and thread-safe.
 */
public final class ChatTemplate {
    private static final Jinjava JINJAVA = newJinjava();

    private final String source;
    private final String parsedSource;
    private final String bosToken;
    private final String eosToken;

    /**
     * Compiles {@code template}; bosToken and eosToken are the model's BOS and EOS token strings (as in
     * tokenizer_config.json's {@code bos_token}/{@code eos_token}; pass "" for a model without one).
     *
     * @throws ChatTemplateException when the template does not compile (the message names the line)
     */
    public ChatTemplate(String template, String bosToken, String eosToken) {
        this.source = Objects.requireNonNull(template, "template");
        this.bosToken = Objects.requireNonNull(bosToken, "bosToken (use \"\" for a model without one)");
        this.eosToken = Objects.requireNonNull(eosToken, "eosToken (use \"\" for a model without one)");
        this.parsedSource = TemplateSource.rewrite(template);
        JinjavaInterpreter interpreter = JINJAVA.newInterpreter();
        interpreter.parse(parsedSource);
        List<TemplateError> errors = fatal(interpreter.getErrors());
        if (!errors.isEmpty()) {
            throw new ChatTemplateException("The chat template does not compile: " + describe(errors)
                    + ". Fix the template text (tokenizer.chat_template in the GGUF file, or chat_template in"
                    + " tokenizer_config.json).");
        }
    }

    /** The template text as given. */
    public String source() {
        return source;
    }

    public String bosToken() {
        return bosToken;
    }

    public String eosToken() {
        return eosToken;
    }

    /** Renders {@code messages}; with addGenerationPrompt the text ends where the assistant's reply begins. */
    public String render(List<Message> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, Map.of());
    }

    /**
     * Renders with extra template variables as well ({@code enable_thinking}, {@code date_string}, {@code tools}:
     * strings, numbers, booleans, lists and maps), as {@code apply_chat_template}'s keyword arguments do.
     *
     * @throws ChatTemplateException when the template raises (its {@code raise_exception} message is in
     *     {@link ChatTemplateException#templateMessage()}) or fails while rendering
     */
    public String render(List<Message> messages, boolean addGenerationPrompt, Map<String, ?> extraVariables) {
        Map<String, Object> context = new HashMap<>(extraVariables);
        List<Map<String, Object>> list = new ArrayList<>(messages.size());
        for (Message m : messages) {
            Map<String, Object> dict = new LinkedHashMap<>();
            dict.put("role", m.role());
            dict.put("content", m.content());
            list.add(dict);
        }
        context.put("messages", list);
        context.put("bos_token", bosToken);
        context.put("eos_token", eosToken);
        context.put("add_generation_prompt", addGenerationPrompt);
        RenderResult result = JINJAVA.renderForResult(parsedSource, context);
        List<TemplateError> errors = fatal(result.getErrors());
        if (!errors.isEmpty()) {
            for (TemplateError e : errors) {
                for (Throwable t = e.getException(); t != null; t = t.getCause()) {
                    if (t instanceof Raised raised) {
                        throw new ChatTemplateException("The chat template rejected the conversation: "
                                + raised.getMessage(), raised.getMessage());
                    }
                }
            }
            throw new ChatTemplateException("The chat template failed while rendering: " + describe(errors));
        }
        return result.getOutput();
    }

    /**
     * The chat template of a tokenizer_config.json: {@code chat_template} as a string, or as a list of
     * {@code {"name", "template"}} entries, the one named "default". Empty when the file has none (then the
     * model needs a template from elsewhere: there is no sensible generic one).
     *
     * @throws ChatTemplateException when chat_template is there but has neither form, or the list has no "default"
     */
    public static Optional<String> templateFrom(JsonNode tokenizerConfig) {
        JsonNode t = tokenizerConfig == null ? null : tokenizerConfig.get("chat_template");
        if (t == null || t.isNull()) {
            return Optional.empty();
        }
        if (t.isTextual()) {
            return Optional.of(t.textValue());
        }
        if (t.isArray()) {
            List<String> names = new ArrayList<>();
            for (JsonNode entry : t) {
                JsonNode name = entry.get("name");
                JsonNode template = entry.get("template");
                if (name == null || !name.isTextual() || template == null || !template.isTextual()) {
                    throw new ChatTemplateException("tokenizer_config.json: chat_template is a list, but an entry is"
                            + " not {\"name\": string, \"template\": string}: " + entry);
                }
                if (name.textValue().equals("default")) {
                    return Optional.of(template.textValue());
                }
                names.add(name.textValue());
            }
            throw new ChatTemplateException("tokenizer_config.json: chat_template lists the templates " + names
                    + " but none named \"default\"; pick one by name explicitly.");
        }
        throw new ChatTemplateException("tokenizer_config.json: chat_template must be a string or a list of"
                + " {\"name\", \"template\"}, not " + t.getNodeType());
    }

    private static List<TemplateError> fatal(List<TemplateError> errors) {
        List<TemplateError> out = new ArrayList<>();
        for (TemplateError e : errors) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                out.add(e);
            }
        }
        return out;
    }

    private static String describe(List<TemplateError> errors) {
        StringBuilder out = new StringBuilder();
        for (TemplateError e : errors) {
            if (out.length() > 0) {
                out.append("; ");
            }
            out.append("line ").append(e.getLineno());
            if (e.getStartPosition() > 0) {
                out.append(", column ").append(e.getStartPosition());
            }
            out.append(": ").append(e.getMessage());
            if (e.getFieldName() != null && !e.getFieldName().isEmpty() && !e.getMessage().contains(e.getFieldName())) {
                out.append(" (in '").append(e.getFieldName()).append("')");
            }
        }
        return out.toString();
    }

    /** What raise_exception throws; Jinjava records it as the cause of a template error. */
    static final class Raised extends RuntimeException {
        Raised(String message) {
            super(message, null, false, false);
        }
    }

    /** The template function {@code raise_exception(message)}. */
    public static String raiseException(Object message) {
        throw new Raised(String.valueOf(message));
    }

    /** The template function {@code strftime_now(format)}: the local time, formatted as Python's strftime. */
    public static String strftimeNow(String format) {
        return Strftime.format(LocalDateTime.now(), format);
    }

    private static Jinjava newJinjava() {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonMethods());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                // Never render the output of an expression again as a template: message text is data.
                .withNestedInterpretationEnabled(false)
                .withElResolver(resolver)
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        // jinja2's semantics where Jinjava keeps its old ones by default:
                        .withEvaluateMapKeys(true) // {key: v} evaluates key, as jinja2 does
                        .withIterateOverMapKeys(true) // {% for k in dict %} iterates keys
                        .withUseNaturalOperatorPrecedence(true) // Python's precedence, e.g. for 'not' and 'in'
                        .withParseWhitespaceControlStrictly(true) // '-' only right after '{%' / before '%}'
                        .withUseTrimmingForNotesAndExpressions(true) // {{- x -}} and {#- -#} trim as in jinja2
                        .withKeepNullableLoopValues(true) // a none in a list is looped over, not skipped
                        .build())
                .build();
        Jinjava jinjava = new Jinjava(config);
        try {
            jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                    ChatTemplate.class.getMethod("raiseException", Object.class)));
            jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now",
                    ChatTemplate.class.getMethod("strftimeNow", String.class)));
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(e);
        }
        jinjava.getGlobalContext().registerFilter(new ToJson());
        jinjava.getGlobalContext().registerFilter(new Trim());
        return jinjava;
    }

    /** HF's tojson: {@code json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)}. */
    static final class ToJson implements AdvancedFilter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object indent = kwargs.getOrDefault("indent", args.length > 0 ? args[0] : null);
            boolean ensureAscii = Boolean.TRUE.equals(kwargs.get("ensure_ascii"));
            boolean sortKeys = Boolean.TRUE.equals(kwargs.get("sort_keys"));
            String item = null;
            String key = null;
            if (kwargs.get("separators") instanceof List<?> separators && separators.size() == 2) {
                item = String.valueOf(separators.get(0));
                key = String.valueOf(separators.get(1));
            }
            return PyJson.dumps(var, ensureAscii, indent, item, key, sortKeys);
        }
    }

    /** jinja2's trim: {@code str.strip(chars)}, Python's whitespace (Jinjava's trims Java's). */
    static final class Trim implements AdvancedFilter {
        @Override
        public String getName() {
            return "trim";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object chars = kwargs.getOrDefault("chars", args.length > 0 ? args[0] : null);
            return PyStrings.strip(var == null ? "" : var.toString(), chars == null ? null : chars.toString(),
                    true, true);
        }
    }
}
