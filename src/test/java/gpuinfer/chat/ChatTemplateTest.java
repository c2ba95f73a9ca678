package gpuinfer.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.LocalDateTime;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** ChatTemplate's behaviour where Jinjava differs from jinja2, its errors, and the tokenizer_config helper. */
class ChatTemplateTest {
    private static final List<Message> CHAT = List.of(Message.system(" Be brief. "), Message.user("a.b</think>c\n"));

    private static String render(String template) {
        return new ChatTemplate(template, "<s>", "</s>").render(CHAT, true);
    }

    @Test
    void malformedTemplateNamesTheProblemAndLine() {
        ChatTemplateException e = assertThrows(ChatTemplateException.class,
                () -> new ChatTemplate("{% for m in messages %}\n{{ m.content }}\n", "", ""));
        assertTrue(e.getMessage().contains("does not compile"), e.getMessage());
        assertTrue(e.getMessage().contains("line 1"), e.getMessage());
        assertTrue(e.getMessage().contains("endfor"), e.getMessage());
    }

    @Test
    void badExpressionFailsAtRenderNamingTheExpression() {
        ChatTemplate t = new ChatTemplate("x\n{{ messages[0].content.nosuchmethod() }}", "", "");
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> t.render(CHAT, false));
        assertTrue(e.getMessage().contains("line 2"), e.getMessage());
        assertTrue(e.getMessage().contains("nosuchmethod"), e.getMessage());
        assertEquals(null, e.templateMessage());
    }

    @Test
    void raiseExceptionStopsWithTheTemplatesMessage() {
        ChatTemplate t = new ChatTemplate("ok{% if messages[0].role == 'system' %}{{ raise_exception('System role "
                + "not supported') }}{% endif %}", "", "");
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> t.render(CHAT, false));
        assertEquals("System role not supported", e.templateMessage());
        assertEquals("The chat template rejected the conversation: System role not supported", e.getMessage());
        assertEquals("ok", t.render(List.of(Message.user("x")), false));
    }

    @Test
    void notBindsLooserThanTestsAndComparisonsAsInJinja2() {
        assertEquals("kept", new ChatTemplate("{% if not date_string is defined %}{% set date_string = 'default' %}"
                + "{% endif %}{{ date_string }}", "", "").render(CHAT, false, Map.of("date_string", "kept")));
        assertEquals("AD", render("{% if not x is defined %}A{% endif %}{% if not messages is defined %}B{% endif %}"
                + "{% if not messages[0].role == 'user' and not false %}D{% endif %}"));
        assertEquals("E", render("{{ 'E' if not 1 == 2 else 'e' }}"));
        assertEquals("F", render("{% if x is not defined and 'q' not in 'abc' %}F{% endif %}"));
    }

    @Test
    void slicesKeywordArgumentsAndNamespaces() {
        assertEquals("user,system|cba|user|bcde|1", render("{% for m in messages[::-1] %}{{ m.role }}{% if not loop.last %},"
                + "{% endif %}{% endfor %}|{{ 'abc'[::-1] }}|{{ messages[1:][0].role }}|{{ 'abcdef'[1:-1] }}"
                + "|{% set ns = namespace(i=messages|length - 1) %}{{ ns.i }}"));
    }

    @Test
    void pythonStringMethods() {
        assertEquals("[Be brief.]|True|a,b</think>c\n|c|A.B</Think>C|3|x", render("[{{ messages[0].content.strip() }}]"
                + "|{{ 'True' if messages[1].content.startswith(('x', 'a.')) }}"
                + "|{{ messages[1].content.split('.') | join(',') }}"
                + "|{{ messages[1].content.split('</think>')[-1].strip() }}"
                + "|{{ messages[1].content.strip().title() }}|{{ 'a b  c'.split() | length }}|{{ 'X'.lower() }}"));
        assertEquals("Be brief.", PyStrings.strip("\u00a0Be brief.\u2007\n", null, true, true), "Python's isspace");
    }

    @Test
    void tojsonIsHuggingFacesJsonDumps() {
        assertEquals("{\"a\": \"é<&'\", \"b\": [1, 2.5, null, true]}", render("{{ {'a': 'é<&\\'', 'b': [1, 2.5, none, true]} | tojson }}"));
        assertEquals("{\n  \"k\": [\n    1\n  ]\n}", render("{{ {'k': [1]} | tojson(indent=2) }}"));
        assertEquals("\"\\u00e9\\n\"", render("{{ '\u00e9\n' | tojson(ensure_ascii=true) }}"));
    }

    @Test
    void messageTextIsDataNotTemplate() {
        List<Message> msgs = List.of(Message.user("{{ eos_token }} {% if true %}x{% endif %} {% raw %}"));
        assertEquals("{{ eos_token }} {% if true %}x{% endif %} {% raw %}</s>",
                new ChatTemplate("{{ messages[0].content + eos_token }}", "<s>", "</s>").render(msgs, false));
    }

    @Test
    void strftimeNowFormatsLikePython() {
        LocalDateTime t = LocalDateTime.of(2024, 7, 5, 14, 3, 9);
        assertEquals("05 Jul 2024 14:03:09 Friday 02PM %", Strftime.format(t, "%d %b %Y %H:%M:%S %A %I%p %%"));
        String today = render("{{ strftime_now('%Y-%m-%d') }}");
        assertTrue(today.matches("\\d{4}-\\d{2}-\\d{2}"), today);
    }

    @Test
    void qwen3EnableThinkingFalseAddsTheEmptyThinkBlock() {
        ChatTemplate qwen3 = ChatTemplateGoldenTest.template(ChatTemplateGoldenTest.golden("qwen3"));
        String text = qwen3.render(List.of(Message.user("Hi")), true, Map.of("enable_thinking", false));
        assertEquals("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n", text);
        assertFalse(qwen3.render(List.of(Message.user("Hi")), true).contains("<think>"));
    }

    @Test
    void templateFromTokenizerConfig() throws Exception {
        ObjectMapper json = new ObjectMapper();
        assertEquals(Optional.of("T"), ChatTemplate.templateFrom(json.readTree("{\"chat_template\": \"T\"}")));
        assertEquals(Optional.of("D"), ChatTemplate.templateFrom(json.readTree(
                "{\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"U\"}, {\"name\": \"default\", \"template\": \"D\"}]}")));
        assertEquals(Optional.empty(), ChatTemplate.templateFrom(json.readTree("{\"bos_token\": \"<s>\"}")));
        assertEquals(Optional.empty(), ChatTemplate.templateFrom(json.readTree("{\"chat_template\": null}")));
        ChatTemplateException noDefault = assertThrows(ChatTemplateException.class, () -> ChatTemplate.templateFrom(
                json.readTree("{\"chat_template\": [{\"name\": \"tool_use\", \"template\": \"U\"}]}")));
        assertTrue(noDefault.getMessage().contains("[tool_use]"), noDefault.getMessage());
        assertThrows(ChatTemplateException.class, () -> ChatTemplate.templateFrom(json.readTree("{\"chat_template\": 3}")));
    }
}
