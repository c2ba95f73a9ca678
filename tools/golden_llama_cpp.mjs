#!/usr/bin/env node
// Log-probabilities and greedy continuations of GGUF files computed by llama.cpp (through node-llama-cpp), the
// independent reference that src/test/java/gpuinfer/model/LlamaCppGoldenTest.java checks gpu-infer against.
//
// Usage (from the repository root; tools/golden_gguf.sh runs it):
//
//     node tools/golden_llama_cpp.mjs OUT_DIR FILE.gguf [FILE.gguf ...]
//     node tools/golden_llama_cpp.mjs --prompt 1,2,3 --steps 8 --suffix -bos OUT_DIR FILE.gguf [...]
//
// --prompt IDS replaces the default PROMPT (below) with comma-separated token ids, --steps N the number of greedy
// tokens (default 16), --suffix S is appended to each output folder's name (one folder per file and prompt), and
// --context N sets the context size (default 64). tools/golden_llama.sh uses them for the Llama-family goldens.
//
// node-llama-cpp is resolved from the folder named by --modules DIR, else $NODE_LLAMA_CPP_MODULES, else
// /work/anchors/node_modules (the folder that holds node_modules/node-llama-cpp). Get it with
//
//     mkdir -p /tmp/anchors && cd /tmp/anchors && npm i -E node-llama-cpp@3.21.1 --ignore-scripts
//
// (its prebuilt CPU addon comes in the optional dependency @node-llama-cpp/linux-x64; nothing is compiled).
//
// For each FILE it writes OUT_DIR/<file name without .gguf>/:
//   logprobs.npy  float32 [T, V]: the natural log of llama.cpp's next-token probabilities after each of the T
//                 prompt tokens (PROMPT below), for every one of the V tokens of the vocabulary;
//   greedy.json   the prompt, 16 greedy continuation ids, the top-1 minus top-2 log-probability margin of each
//                 greedy step, the file's SHA-256 and size, the versions and settings used, and the ids llama.cpp's
//                 tokenizer gives TOKENIZE_TEXT (no special tokens parsed).
//
// How the probabilities are obtained, and why they are the softmax of the raw logits: controlledEvaluate with
// generateNext {probabilities: true, token: true, options: {temperature: 0}} makes node-llama-cpp build a sampler
// chain of only llama.cpp's greedy sampler (temperature 0 selects greedy; top-k, top-p and min-p are then not in the
// chain, and no repeat penalty, token bias, grammar or XTC is configured). The greedy sampler selects the argmax and
// leaves the candidate array as it is: every token of the vocabulary with its raw logit. The addon then computes
// exp(logit - max) / sum in float32 over that whole array (AddonContext.cpp, SampleTokenWorker). The script checks
// that every map holds exactly V entries, that the probabilities sum to 1 within max(1e-5, 2e-9 V) (float32
// rounding of V terms; 1e-4 for GPT-2's 50,257 tokens, still far below what a truncated map loses), that none is 0 (so the log
// is finite: an underflowed probability would make the log meaningless) and that the selected token is the most
// probable one. log(p) then equals the log-softmax of the logits to within a few float32 ulps of p (about 1e-7
// absolute), far below the differences the test measures (1e-3 and up).
//
// Settings: getLlama({gpu: false}) (the prebuilt CPU addon), 1 thread, flash attention off, an F32 KV cache (key
// and value), one sequence, context 64 (the tiny models' n_positions; llama.cpp may round the context up, which
// does not change results: only positions 0..T+15 are used). llama.cpp still rounds activations where its CPU
// matrix multiplication wants it: to F16 for F16 weights, to Q8_0 / Q8_K blocks for Q8_0 / Q4_0 / K-quant weights,
// and its GELU uses an fp16 lookup table; gpu-infer keeps activations in float32, hence the measured differences.

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

// Token ids of the prompt: bytes, merged tokens and the planted edge rows of the tiny model (400..406); never
// 511, <|endoftext|>, which would end a generation.
export const PROMPT = [84, 258, 263, 290, 32, 101, 330, 275, 44, 405, 265, 499, 13, 256, 310, 460];
const GREEDY_STEPS = 16;
// Text tokenised by llama.cpp's tokenizer (from the file's tokenizer.ggml.* entries), for the Java tokenizer to match.
export const TOKENIZE_TEXT = "The meaning of life is 42, isn't it?\n  Naïve café -- 東京 🙂 x=1+2;\ttab";
const CONTEXT = 64;

function parseArgs(argv) {
    let modules = process.env.NODE_LLAMA_CPP_MODULES || "/work/anchors/node_modules";
    const rest = [];
    const opts = { prompt: PROMPT, steps: GREEDY_STEPS, suffix: "", context: CONTEXT };
    for (let i = 0; i < argv.length; i++) {
        if (argv[i] === "--modules") {
            modules = argv[++i];
        } else if (argv[i] === "--prompt") {
            opts.prompt = argv[++i].split(",").map((t) => Number.parseInt(t, 10));
            if (opts.prompt.some((t) => !Number.isInteger(t) || t < 0)) {
                console.error("golden_llama_cpp: --prompt wants comma-separated token ids");
                process.exit(2);
            }
        } else if (argv[i] === "--steps") {
            opts.steps = Number.parseInt(argv[++i], 10);
        } else if (argv[i] === "--suffix") {
            opts.suffix = argv[++i];
        } else if (argv[i] === "--context") {
            opts.context = Number.parseInt(argv[++i], 10);
        } else {
            rest.push(argv[i]);
        }
    }
    if (rest.length < 2) {
        console.error("usage: node tools/golden_llama_cpp.mjs [--modules NODE_MODULES] [--prompt IDS] [--steps N] "
            + "[--suffix S] [--context N] OUT_DIR FILE.gguf [...]");
        process.exit(2);
    }
    return { modules, out: rest[0], files: rest.slice(1), ...opts };
}

async function loadNodeLlamaCpp(modules) {
    const pkgDir = path.join(modules, "node-llama-cpp");
    const pkgJson = path.join(pkgDir, "package.json");
    if (!existsSync(pkgJson)) {
        console.error(`golden_llama_cpp: no node-llama-cpp in ${modules}. Install it with\n` +
            "  mkdir -p /tmp/anchors && cd /tmp/anchors && npm i -E node-llama-cpp@3.21.1 --ignore-scripts\n" +
            "and pass --modules /tmp/anchors/node_modules (or set NODE_LLAMA_CPP_MODULES).");
        process.exit(2);
    }
    const pkg = JSON.parse(readFileSync(pkgJson, "utf8"));
    if (pkg.version !== "3.21.1") {
        console.error(`golden_llama_cpp: warning: node-llama-cpp ${pkg.version}; the golden files were made with 3.21.1`);
    }
    const info = JSON.parse(readFileSync(path.join(pkgDir, "llama", "llama.cpp.info.json"), "utf8"));
    const lib = await import(pathToFileURL(path.join(pkgDir, "dist", "index.js")).href);
    return { lib, version: pkg.version, llamaCppInfo: info };
}

/** A float32 .npy (format 1.0, C order). */
function npyFloat32(shape, values) {
    let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
    const total = 10 + header.length + 1;
    header += " ".repeat((64 - (total % 64)) % 64) + "\n";
    const head = Buffer.alloc(10);
    head.write("\x93NUMPY", 0, "latin1");
    head[6] = 1;
    head[7] = 0;
    head.writeUInt16LE(header.length, 8);
    const data = Buffer.from(new Float32Array(values).buffer);
    return Buffer.concat([head, Buffer.from(header, "latin1"), data]);
}

/** log(p) for every token id from a probabilities map, with the checks described at the top. */
function logProbs(map, V, where) {
    if (!(map instanceof Map) || map.size !== V) {
        throw new Error(`${where}: the probabilities cover ${map?.size} tokens, not the whole vocabulary of ${V}`);
    }
    const out = new Float64Array(V);
    let sum = 0;
    for (const [id, p] of map) {
        if (!(id >= 0 && id < V) || !(p > 0)) {
            throw new Error(`${where}: token ${id} has probability ${p} (must be a positive number for a finite log)`);
        }
        out[id] = Math.log(p);
        sum += p;
    }
    if (Math.abs(sum - 1) > Math.max(1e-5, 2e-9 * V)) {
        throw new Error(`${where}: probabilities sum to ${sum}`);
    }
    return out;
}

function topTwo(values) {
    let a = -Infinity, b = -Infinity, id = -1;
    for (let i = 0; i < values.length; i++) {
        if (values[i] > a) {
            b = a;
            a = values[i];
            id = i;
        } else if (values[i] > b) {
            b = values[i];
        }
    }
    return { id, margin: a - b };
}

async function evaluateFile(llama, file, outDir, meta, opts) {
    const { prompt: PROMPT, steps: GREEDY_STEPS, suffix, context: CONTEXT } = opts;
    const bytes = readFileSync(file);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const model = await llama.loadModel({ modelPath: path.resolve(file), gpuLayers: 0, useMmap: true });
    const V = model.fileInfo.metadata.tokenizer.ggml.tokens.length;
    const context = await model.createContext({
        contextSize: CONTEXT, batchSize: CONTEXT, threads: 1, sequences: 1, flashAttention: false,
        experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32"
    });
    try {
        // the settings as the context reports them (GGML_TYPE_F32 is 0)
        if (context.kvCacheKeyType !== 0 || context.kvCacheValueType !== 0 || context.flashAttention !== false) {
            throw new Error(`${file}: the context has KV cache types ${context.kvCacheKeyType}/${context.kvCacheValueType} `
                + `and flash attention ${context.flashAttention}, not F32/F32 and off`);
        }
        const sequence = context.getSequence();
        const greedyOptions = { probabilities: true, token: true, options: { temperature: 0 } };
        const results = await sequence.controlledEvaluate(PROMPT.map((id) => [id, { generateNext: greedyOptions }]));
        const vocab = results[0].next.probabilities.size;
        if (V !== vocab) {
            throw new Error(`${file}: the model reports ${V} tokens but the probabilities cover ${vocab}`);
        }
        const T = PROMPT.length;
        const rows = new Float32Array(T * vocab);
        for (let t = 0; t < T; t++) {
            const lp = logProbs(results[t].next.probabilities, vocab, `${file} position ${t}`);
            rows.set(lp, t * vocab);
            if (topTwo(lp).id !== results[t].next.token) {
                throw new Error(`${file} position ${t}: the greedy token ${results[t].next.token} is not the most probable`);
            }
        }
        // greedy continuation: the last prompt position's token, then one token at a time through the KV cache
        const greedy = [];
        const margins = [];
        let next = results[T - 1].next.token;
        margins.push(topTwo(rows.subarray((T - 1) * vocab, T * vocab)).margin);
        for (let step = 0; step < GREEDY_STEPS; step++) {
            greedy.push(next);
            if (step === GREEDY_STEPS - 1) {
                break;
            }
            const [r] = await sequence.controlledEvaluate([[next, { generateNext: greedyOptions }]]);
            const lp = logProbs(r.next.probabilities, vocab, `${file} greedy step ${step + 1}`);
            const top = topTwo(lp);
            if (top.id !== r.next.token) {
                throw new Error(`${file} greedy step ${step + 1}: token ${r.next.token} is not the most probable`);
            }
            margins.push(top.margin);
            next = r.next.token;
        }
        const name = path.basename(file).replace(/\.gguf$/, "") + suffix;
        const dir = path.join(outDir, name);
        mkdirSync(dir, { recursive: true });
        writeFileSync(path.join(dir, "logprobs.npy"), npyFloat32([T, vocab], rows));
        const json = {
            file: path.basename(file), sha256, bytes: bytes.length, vocab_size: vocab, prompt_ids: PROMPT,
            greedy_ids: greedy, greedy_margins: margins.map((m) => Number(m.toPrecision(6))),
            min_greedy_margin: Number(Math.min(...margins).toPrecision(6)),
            tokenized: { text: TOKENIZE_TEXT, ids: Array.from(model.tokenize(TOKENIZE_TEXT, false)) },
            ...meta
        };
        writeFileSync(path.join(dir, "greedy.json"), JSON.stringify(json, null, 2) + "\n");
        console.log(`${name}: V=${vocab}, greedy ${greedy.join(" ")}, min margin ${json.min_greedy_margin}`);
    } finally {
        await context.dispose();
        await model.dispose();
    }
}

async function main() {
    const args = parseArgs(process.argv.slice(2));
    const { lib, version, llamaCppInfo } = await loadNodeLlamaCpp(args.modules);
    const llama = await lib.getLlama({ gpu: false, build: "never", logLevel: "error", progressLogs: false });
    const meta = {
        reference: "llama.cpp through node-llama-cpp " + version + " (llama.cpp " + llamaCppInfo.llamaCppGithubRepo + " "
            + llamaCppInfo.tag + ", " + llama.buildType + " CPU addon)",
        settings: "getLlama({gpu: false}); context " + args.context + ", 1 thread, 1 sequence, flashAttention false, "
            + "KV cache F32/F32; controlledEvaluate with generateNext {probabilities, token, temperature 0} (greedy "
            + "sampler only: probabilities are float32 softmax of the raw logits over the whole vocabulary); "
            + "logprobs = log(probability)",
        system_info: llama.systemInfo
    };
    mkdirSync(args.out, { recursive: true });
    for (const file of args.files) {
        await evaluateFile(llama, file, args.out, meta, args);
    }
    await llama.dispose();
}

main().catch((e) => {
    console.error("golden_llama_cpp: " + (e?.stack ?? e));
    process.exit(1);
});
