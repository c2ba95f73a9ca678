package gpuinfer.cli;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import gpuinfer.InputException;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/**
 * Job files: a command line written down as JSON. A job is an object whose {@code kind} names a command
 * ({@code generate} is {@code run}; a subcommand joins the names with a dash, {@code profile-attention}) and whose
 * other fields are that command's options, each named as its long option without the dashes ({@code "max-tokens":
 * 40}) and meaning the same; a command's positional arguments are the field {@code arguments}. The fields, their
 * types and the JSON Schema are read from the commands' own picocli option classes, so a job file cannot drift
 * from the command line: {@link #toArguments} turns a job into the command line it stands for, and
 * {@link #fromCommandLine} writes the job of a parsed command line ({@code --save-job}).
 */
final class JobFiles {
    /** The job kind {@code generate} runs {@code run}; every other kind is its command's path, dash-joined. */
    static final String GENERATE = "generate";
    /** The field that holds a command's positional arguments. */
    static final String ARGUMENTS = "arguments";
    /** The option that saves a job; not itself a field of one. */
    static final String SAVE_JOB = "--save-job";

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private JobFiles() {
    }

    /** One problem found in a job file: where (1-based line and column, 0 when unknown), which field, what. */
    record Problem(int line, int column, String field, String message) {
        @Override
        public String toString() {
            return (line > 0 ? line + ":" + column + ": " : " ") + (field.isEmpty() ? "" : field + ": ") + message;
        }
    }

    /** Every kind of job, by name, with the command that runs it (in the usage's order). */
    static Map<String, CommandLine> kinds(CommandLine root) {
        Map<String, CommandLine> kinds = new LinkedHashMap<>();
        collect(root, "", kinds);
        return kinds;
    }

    private static void collect(CommandLine command, String prefix, Map<String, CommandLine> kinds) {
        for (CommandLine sub : command.getSubcommands().values()) {
            String name = sub.getCommandName();
            if (sub.getCommandSpec().userObject() instanceof CommandLine.HelpCommand || name.equals("job")
                    || kinds.containsValue(sub)) {
                continue;
            }
            String kind = prefix.isEmpty() && name.equals("run") ? GENERATE : prefix + name;
            if (sub.getCommandSpec().userObject() instanceof Callable<?>) {
                kinds.put(kind, sub);
            }
            collect(sub, prefix + name + "-", kinds);
        }
    }

    /** The job fields of a command: its options by field name (help, version and --save-job left out). */
    static Map<String, OptionSpec> fields(CommandSpec command) {
        Map<String, OptionSpec> fields = new LinkedHashMap<>();
        for (OptionSpec option : command.options()) {
            if (option.usageHelp() || option.versionHelp() || option.longestName().equals(SAVE_JOB)) {
                continue;
            }
            fields.put(fieldName(option), option);
        }
        return fields;
    }

    static String fieldName(OptionSpec option) {
        return option.longestName().replaceFirst("^-+", "");
    }

    // ---- types ------------------------------------------------------------------------------------------------

    private enum Kind { BOOLEAN, INTEGER, NUMBER, STRING, ARRAY, OBJECT }

    private static Kind kindOf(ArgSpec arg) {
        CommandLine.Model.ITypeInfo type = arg.typeInfo();
        if (type.isMap()) {
            return Kind.OBJECT;
        }
        if (type.isMultiValue()) {
            return Kind.ARRAY;
        }
        return scalar(type.getType());
    }

    /** The element kind of an array (or the value kind of a map). */
    private static Kind elementKind(ArgSpec arg) {
        Class<?>[] aux = arg.auxiliaryTypes();
        Class<?> element = arg.typeInfo().isMap() && aux.length > 1 ? aux[1] : aux.length > 0 ? aux[0] : String.class;
        if (arg.typeInfo().isArray()) {
            element = arg.typeInfo().getType().getComponentType();
        }
        return scalar(element);
    }

    private static Kind scalar(Class<?> type) {
        if (type == boolean.class || type == Boolean.class) {
            return Kind.BOOLEAN;
        }
        if (type == int.class || type == Integer.class || type == long.class || type == Long.class
                || type == short.class || type == Short.class) {
            return Kind.INTEGER;
        }
        if (type == double.class || type == Double.class || type == float.class || type == Float.class) {
            return Kind.NUMBER;
        }
        return Kind.STRING;
    }

    private static String schemaType(Kind kind) {
        return kind.name().toLowerCase(Locale.ROOT);
    }

    private static String article(Kind kind) {
        return switch (kind) {
            case BOOLEAN -> "a boolean (true or false)";
            case INTEGER -> "an integer";
            case NUMBER -> "a number";
            case STRING -> "a string";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
        };
    }

    private static String found(JsonNode value) {
        String text = value.toString();
        if (text.length() > 40) {
            text = text.substring(0, 37) + "...";
        }
        return switch (value.getNodeType()) {
            case BOOLEAN -> "the boolean " + text;
            case NUMBER -> (value.isIntegralNumber() ? "the integer " : "the number ") + text;
            case STRING -> "the string " + text;
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case NULL -> "null";
            default -> text;
        };
    }

    private static boolean matches(Kind kind, JsonNode value) {
        return switch (kind) {
            case BOOLEAN -> value.isBoolean();
            case INTEGER -> value.isIntegralNumber() && value.canConvertToLong();
            case NUMBER -> value.isNumber();
            // a string option given a plain number ("seed"-like text fields) is taken as its text
            case STRING -> value.isTextual() || value.isNumber();
            case ARRAY -> value.isArray();
            case OBJECT -> value.isObject();
        };
    }

    // ---- schema -----------------------------------------------------------------------------------------------

    /** The JSON Schema (draft 2020-12) of job files for these commands. */
    static ObjectNode schema(CommandLine root) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode schema = f.objectNode();
        schema.put("$schema", "https://json-schema.org/draft/2020-12/schema");
        schema.put("$id", "https://github.com/gpu-infer/gpu-infer/docs/job.schema.json");
        schema.put("title", "gpu-infer job");
        schema.put("description", "A gpu-infer command line written down: 'kind' names the command, every other field "
                + "is one of its options, named as the long option without the dashes. Generated from the commands' "
                + "options by 'gpu-infer job schema'.");
        schema.put("type", "object");
        schema.putArray("required").add("kind");
        ObjectNode properties = schema.putObject("properties");
        ArrayNode kindNames = properties.putObject("kind").put("description", "The command to run.").putArray("enum");
        properties.putObject("$schema").put("type", "string");
        ArrayNode allOf = schema.putArray("allOf");
        for (Map.Entry<String, CommandLine> kind : kinds(root).entrySet()) {
            kindNames.add(kind.getKey());
            ObjectNode rule = allOf.addObject();
            rule.putObject("if").putObject("properties").putObject("kind").put("const", kind.getKey());
            ObjectNode then = rule.putObject("then");
            then.put("description", "gpu-infer " + commandPath(kind.getValue()));
            ObjectNode props = then.putObject("properties");
            props.putObject("kind");
            props.putObject("$schema");
            ArrayNode required = f.arrayNode();
            for (Map.Entry<String, OptionSpec> field : fields(kind.getValue().getCommandSpec()).entrySet()) {
                OptionSpec option = field.getValue();
                ObjectNode p = props.putObject(field.getKey());
                describe(p, option);
                if (option.required() && option.group() == null) { // a group's rules are checked by the command
                    required.add(field.getKey());
                }
            }
            List<PositionalParamSpec> positionals = kind.getValue().getCommandSpec().positionalParameters();
            if (!positionals.isEmpty()) {
                ObjectNode p = props.putObject(ARGUMENTS);
                p.put("description", "The positional arguments (" + String.join(" ", positionals.stream()
                        .map(PositionalParamSpec::paramLabel).toList()) + ").");
                p.put("type", "array");
                p.putObject("items").put("type", "string");
                if (positionals.stream().anyMatch(ArgSpec::required)) {
                    required.add(ARGUMENTS);
                }
            }
            if (!required.isEmpty()) {
                then.set("required", required);
            }
            then.put("additionalProperties", false);
        }
        return schema;
    }

    private static void describe(ObjectNode p, OptionSpec option) {
        String description = String.join(" ", option.description())
                .replace("${DEFAULT-VALUE}", String.valueOf(option.defaultValue()))
                .replaceAll("\\$\\{env:[A-Z_]+:-([^}]*)}", "$1");
        p.put("description", description);
        Kind kind = kindOf(option);
        p.put("type", schemaType(kind));
        if (kind == Kind.ARRAY) {
            p.putObject("items").put("type", schemaType(elementKind(option)));
        } else if (kind == Kind.OBJECT) {
            p.putObject("additionalProperties").put("type", schemaType(elementKind(option)));
        } else if (kind == Kind.STRING && option.typeInfo().isEnum()) {
            ArrayNode values = p.putArray("enum");
            option.typeInfo().getEnumConstantNames().forEach(values::add);
        }
        String defaultValue = option.defaultValue();
        if (defaultValue != null && !defaultValue.contains("${")) {
            switch (kind) {
                case BOOLEAN -> p.put("default", Boolean.parseBoolean(defaultValue));
                case INTEGER -> p.put("default", Long.parseLong(defaultValue));
                case NUMBER -> p.put("default", Double.parseDouble(defaultValue));
                case STRING -> p.put("default", defaultValue);
                default -> { }
            }
        }
    }

    /**
     * The options of every command as Markdown tables (docs/options.md): per command its job kind, then each option
     * with its job field, type, default and description, from the same option classes as the schema.
     */
    static String optionTables(CommandLine root) {
        StringBuilder md = new StringBuilder();
        md.append("# gpu-infer options\n\n")
                .append("Generated from the commands' option classes by `gpu-infer job schema --markdown` (a test keeps this\n")
                .append("file equal to it). Every option is also a field of a job file, named as the option without its\n")
                .append("dashes; `--save-job FILE` on any of these commands writes one. Schema: [job.schema.json](job.schema.json).\n");
        for (Map.Entry<String, CommandLine> kind : kinds(root).entrySet()) {
            CommandSpec spec = kind.getValue().getCommandSpec();
            md.append("\n## `gpu-infer ").append(commandPath(kind.getValue())).append("` (job kind `")
                    .append(kind.getKey()).append("`)\n\n");
            md.append("| option | type | default | description |\n|---|---|---|---|\n");
            for (OptionSpec option : fields(spec).values()) {
                Kind k = kindOf(option);
                String type = k == Kind.ARRAY ? "array of " + plural(elementKind(option)) + " (repeatable)"
                        : k == Kind.OBJECT ? "object (NAME=VALUE, repeatable)" : k.name().toLowerCase(Locale.ROOT);
                String names = String.join(", ", java.util.Arrays.stream(option.names()).map(n -> "`" + n + "`").toList());
                String defaultValue = option.defaultValue() == null ? "" : "`" + option.defaultValue()
                        .replaceAll("\\$\\{env:([A-Z_]+):-([^}]*)}", "$2` (env `$1`)").replace("`` ", "") + "`";
                defaultValue = defaultValue.replace("`` ", "").replace(")`", ")");
                String description = String.join(" ", option.description())
                        .replace("${DEFAULT-VALUE}", String.valueOf(option.defaultValue()))
                        .replaceAll("\\$\\{env:[A-Z_]+:-([^}]*)}", "$1").replace("|", "\\|");
                md.append("| ").append(names).append(option.required() && option.group() == null ? " (required)" : "")
                        .append(" | ").append(type).append(" | ").append(defaultValue.replace("|", "\\|"))
                        .append(" | ").append(description).append(" |\n");
            }
            if (!spec.positionalParameters().isEmpty()) {
                md.append("| ").append(String.join(" ", spec.positionalParameters().stream()
                        .map(PositionalParamSpec::paramLabel).toList())).append(" (job field `").append(ARGUMENTS)
                        .append("`) | array of strings | | ").append(String.join(" ", spec.positionalParameters()
                                .get(0).description()).replace("|", "\\|")).append(" |\n");
            }
        }
        return md.toString();
    }

    static String commandPath(CommandLine command) {
        return command.getCommandSpec().qualifiedName(" ").replaceFirst("^gpu-infer ", "");
    }

    // ---- reading a job with positions ------------------------------------------------------------------------

    /** A JSON value with where it starts. */
    private record Located(JsonNode node, int line, int column, List<Located> items, Map<String, Located> fields) {
    }

    private static Located read(JsonParser p) throws IOException {
        JsonLocation at = p.currentTokenLocation();
        int line = at.getLineNr();
        int column = at.getColumnNr();
        JsonToken token = p.currentToken();
        if (token == JsonToken.START_ARRAY) {
            List<Located> items = new ArrayList<>();
            ArrayNode node = JsonNodeFactory.instance.arrayNode();
            while (p.nextToken() != JsonToken.END_ARRAY) {
                Located item = read(p);
                items.add(item);
                node.add(item.node());
            }
            return new Located(node, line, column, items, Map.of());
        }
        if (token == JsonToken.START_OBJECT) {
            Map<String, Located> fields = new LinkedHashMap<>();
            ObjectNode node = JsonNodeFactory.instance.objectNode();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                JsonLocation nameAt = p.currentTokenLocation();
                String name = p.currentName();
                if (fields.containsKey(name)) {
                    throw new DuplicateField(name, nameAt.getLineNr(), nameAt.getColumnNr());
                }
                p.nextToken();
                Located value = read(p);
                // a field's position is its name's: that is where an editor should jump
                fields.put(name, new Located(value.node(), nameAt.getLineNr(), nameAt.getColumnNr(), value.items(),
                        value.fields()));
                node.set(name, value.node());
            }
            return new Located(node, line, column, List.of(), fields);
        }
        return new Located(p.readValueAsTree(), line, column, List.of(), Map.of());
    }

    private static final class DuplicateField extends RuntimeException {
        final String name;
        final int line;
        final int column;

        DuplicateField(String name, int line, int column) {
            super(null, null, false, false);
            this.name = name;
            this.line = line;
            this.column = column;
        }
    }

    /** A checked job: the command that runs it and its command line. */
    record Job(String kind, CommandLine command, List<String> arguments) {
    }

    /**
     * Reads and checks a job file's text against the commands under {@code root}; returns the job, or the problems
     * (each with its line, column and field; unknown fields, wrong types, missing required fields, values the
     * option rejects).
     */
    static Job check(String text, CommandLine root, List<Problem> problems) {
        Located doc;
        try (JsonParser p = MAPPER.getFactory().createParser(text)) {
            if (p.nextToken() == null) {
                problems.add(new Problem(1, 1, "", "the file is empty; a job is a JSON object such as {\"kind\": \"generate\", \"prompt\": [\"Hello\"]}"));
                return null;
            }
            doc = read(p);
            if (p.nextToken() != null) {
                JsonLocation at = p.currentTokenLocation();
                problems.add(new Problem(at.getLineNr(), at.getColumnNr(), "", "text after the job's closing brace; a job file holds one JSON object"));
                return null;
            }
        } catch (DuplicateField d) {
            problems.add(new Problem(d.line, d.column, d.name, "given twice; give each field once"));
            return null;
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            problems.add(new Problem(at == null ? 0 : at.getLineNr(), at == null ? 0 : at.getColumnNr(), "",
                    "malformed JSON: " + e.getOriginalMessage()));
            return null;
        } catch (IOException e) {
            problems.add(new Problem(0, 0, "", "cannot read: " + e.getMessage()));
            return null;
        }
        if (!doc.node().isObject()) {
            problems.add(new Problem(doc.line(), doc.column(), "", "expected a JSON object (a job), found " + found(doc.node())));
            return null;
        }
        Map<String, CommandLine> kinds = kinds(root);
        Located kindField = doc.fields().get("kind");
        if (kindField == null) {
            problems.add(new Problem(doc.line(), doc.column(), "kind", "missing; name the command to run, one of "
                    + String.join(", ", kinds.keySet())));
            return null;
        }
        String kind = kindField.node().asText();
        CommandLine command = kinds.get(kind);
        if (!kindField.node().isTextual() || command == null) {
            problems.add(new Problem(kindField.line(), kindField.column(), "kind", "expected one of "
                    + String.join(", ", kinds.keySet()) + ", found " + found(kindField.node())
                    + suggestion(kind, kinds.keySet())));
            return null;
        }
        CommandSpec spec = command.getCommandSpec();
        Map<String, OptionSpec> fields = fields(spec);
        List<String> args = new ArrayList<>();
        List<String> positional = new ArrayList<>();
        Map<String, Located> locatedByOption = new TreeMap<>();
        for (Map.Entry<String, Located> entry : doc.fields().entrySet()) {
            String name = entry.getKey();
            Located value = entry.getValue();
            if (name.equals("kind") || name.equals("$schema")) {
                continue;
            }
            if (name.equals(ARGUMENTS) && !spec.positionalParameters().isEmpty()) {
                if (!value.node().isArray()) {
                    problems.add(new Problem(value.line(), value.column(), name, "expected an array of strings, found " + found(value.node())));
                    continue;
                }
                for (int i = 0; i < value.items().size(); i++) {
                    Located item = value.items().get(i);
                    if (!item.node().isValueNode() || item.node().isNull()) {
                        problems.add(new Problem(item.line(), item.column(), name + "[" + i + "]", "expected a string, found " + found(item.node())));
                    } else {
                        positional.add(item.node().asText());
                    }
                }
                continue;
            }
            OptionSpec option = fields.get(name);
            if (option == null) {
                problems.add(new Problem(value.line(), value.column(), name, "not a field of " + kind + " jobs"
                        + suggestion(name, fields.keySet())));
                continue;
            }
            locatedByOption.put(option.longestName(), value);
            addArguments(option, name, value, args, problems);
        }
        for (Map.Entry<String, OptionSpec> field : fields.entrySet()) {
            if (field.getValue().required() && field.getValue().group() == null && !doc.fields().containsKey(field.getKey())) {
                problems.add(new Problem(doc.line(), doc.column(), field.getKey(), "missing; " + kind + " jobs need it ("
                        + String.join(" ", field.getValue().description()) + ")"));
            }
        }
        if (!problems.isEmpty()) {
            return null;
        }
        List<String> commandLine = new ArrayList<>(List.of(commandPath(command).split(" ")));
        commandLine.addAll(args);
        if (!positional.isEmpty()) {
            commandLine.add("--");
            commandLine.addAll(positional);
        }
        // the command's own parser has the last word on each value (number formats, enum names, arity)
        try {
            freshParser(commandLine.get(0)).parseArgs(commandLine.toArray(String[]::new));
        } catch (CommandLine.ParameterException e) {
            Located where = null;
            if (e.getArgSpec() instanceof OptionSpec o) {
                where = locatedByOption.get(o.longestName());
            }
            String field = e.getArgSpec() instanceof OptionSpec o ? fieldName(o) : e.getArgSpec() != null ? ARGUMENTS : "";
            // option names as the job's field names: "--k=K.npy" is the field "k"
            String message = e.getMessage().replaceFirst("^Error: ", "")
                    .replaceAll("'?--([a-z][a-z0-9-]*)(=[^,\\s']+)?'?", "\"$1\"");
            problems.add(new Problem(where == null ? 0 : where.line(), where == null ? 0 : where.column(), field,
                    "the command rejects it: " + message));
            return null;
        }
        return new Job(kind, command, commandLine);
    }

    /** A command line of its own for a check parse (parsing fills the command's fields). */
    private static CommandLine freshParser(String command) {
        return Main.commandLine(command);
    }

    private static void addArguments(OptionSpec option, String name, Located value, List<String> args,
                                     List<Problem> problems) {
        Kind kind = kindOf(option);
        String flag = option.longestName();
        if (value.node().isNull()) {
            problems.add(new Problem(value.line(), value.column(), name, "expected " + article(kind) + ", found null; leave the field out for the default"));
            return;
        }
        if (!matches(kind, value.node())) {
            problems.add(new Problem(value.line(), value.column(), name, "expected " + article(kind)
                    + (kind == Kind.ARRAY ? " of " + plural(elementKind(option)) : "") + ", found " + found(value.node())));
            return;
        }
        switch (kind) {
            case BOOLEAN -> {
                if (value.node().asBoolean()) {
                    args.add(flag);
                }
            }
            case ARRAY -> {
                Kind element = elementKind(option);
                for (int i = 0; i < value.items().size(); i++) {
                    Located item = value.items().get(i);
                    if (!matches(element, item.node())) {
                        problems.add(new Problem(item.line(), item.column(), name + "[" + i + "]", "expected "
                                + article(element) + ", found " + found(item.node())));
                    } else {
                        args.add(flag);
                        args.add(item.node().asText());
                    }
                }
            }
            case OBJECT -> {
                Kind element = elementKind(option);
                for (Map.Entry<String, Located> entry : value.fields().entrySet()) {
                    Located item = entry.getValue();
                    if (!matches(element, item.node()) || item.node().isContainerNode()) {
                        problems.add(new Problem(item.line(), item.column(), name + "." + entry.getKey(), "expected "
                                + article(element) + ", found " + found(item.node())));
                    } else {
                        args.add(flag);
                        args.add(entry.getKey() + "=" + item.node().asText());
                    }
                }
            }
            default -> {
                args.add(flag);
                args.add(value.node().asText());
            }
        }
    }

    private static String plural(Kind kind) {
        return switch (kind) {
            case BOOLEAN -> "booleans";
            case INTEGER -> "integers";
            case NUMBER -> "numbers";
            case STRING -> "strings";
            case ARRAY -> "arrays";
            case OBJECT -> "objects";
        };
    }

    /** ", did you mean "x"?" for a near miss (an underscore for a dash, a typo), else "". */
    private static String suggestion(String given, Collection<String> known) {
        String normal = given.replace('_', '-').toLowerCase(Locale.ROOT);
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String k : known) {
            int d = distance(normal, k);
            if (d < bestDistance) {
                bestDistance = d;
                best = k;
            }
        }
        return best != null && bestDistance <= Math.max(1, given.length() / 4)
                ? "; did you mean \"" + best + "\"?" : "; the fields are listed by 'gpu-infer job schema' (and in docs/job.schema.json)";
    }

    private static int distance(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                current[j] = Math.min(Math.min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }
            int[] t = previous;
            previous = current;
            current = t;
        }
        return previous[b.length()];
    }

    // ---- saving ------------------------------------------------------------------------------------------------

    /**
     * The job of a parsed command line: its kind and every option the user gave (defaults are left out, so a later
     * version's defaults apply as they would on the command line), typed as the schema says.
     */
    static ObjectNode fromCommandLine(CommandLine.ParseResult parsed) {
        CommandLine.ParseResult leaf = parsed;
        while (leaf.hasSubcommand()) {
            leaf = leaf.subcommand();
        }
        CommandLine command = leaf.commandSpec().commandLine();
        String path = commandPath(command);
        String kind = path.equals("run") ? GENERATE : path.replace(' ', '-');
        ObjectNode job = JsonNodeFactory.instance.objectNode();
        job.put("kind", kind);
        for (OptionSpec option : leaf.matchedOptions()) {
            if (option.usageHelp() || option.versionHelp() || option.longestName().equals(SAVE_JOB)) {
                continue;
            }
            String name = fieldName(option);
            Object value = option.getValue();
            switch (kindOf(option)) {
                case BOOLEAN -> job.put(name, Boolean.TRUE.equals(value));
                case INTEGER -> job.put(name, ((Number) value).longValue());
                case NUMBER -> job.put(name, ((Number) value).doubleValue());
                case STRING -> job.put(name, String.valueOf(value));
                case ARRAY -> {
                    ArrayNode array = job.putArray(name);
                    Kind element = elementKind(option);
                    List<Object> values = new ArrayList<>();
                    if (value instanceof Iterable<?> it) {
                        it.forEach(values::add);
                    } else {
                        for (int i = 0; i < java.lang.reflect.Array.getLength(value); i++) {
                            values.add(java.lang.reflect.Array.get(value, i));
                        }
                    }
                    for (Object v : values) {
                        switch (element) {
                            case INTEGER -> array.add(((Number) v).longValue());
                            case NUMBER -> array.add(((Number) v).doubleValue());
                            case BOOLEAN -> array.add((Boolean) v);
                            default -> array.add(String.valueOf(v));
                        }
                    }
                }
                case OBJECT -> {
                    ObjectNode object = job.putObject(name);
                    ((Map<?, ?>) value).forEach((k, v) -> object.put(String.valueOf(k), String.valueOf(v)));
                }
            }
        }
        List<String> positional = new ArrayList<>();
        for (PositionalParamSpec p : leaf.matchedPositionals()) {
            Object value = p.getValue();
            if (value instanceof Collection<?> c) {
                c.forEach(v -> positional.add(String.valueOf(v)));
            } else if (value != null) {
                positional.add(String.valueOf(value));
            }
        }
        if (!positional.isEmpty()) {
            ArrayNode array = job.putArray(ARGUMENTS);
            positional.forEach(array::add);
        }
        return job;
    }

    static String write(JsonNode node) {
        try {
            return MAPPER.writerWithDefaultPrettyPrinter().writeValueAsString(node) + "\n";
        } catch (JsonProcessingException e) {
            throw new InputException("cannot write the job: " + e.getOriginalMessage());
        }
    }
}
