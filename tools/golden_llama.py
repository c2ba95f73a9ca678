#!/usr/bin/python3
"""The float64 references and golden.json of src/test/resources/golden/llama/ (tools/golden_llama.sh runs it).

    PYTHONPATH=$LLAMA_CPP/gguf-py /usr/bin/python3 tools/golden_llama.py reference OUT_DIR
        float64 logits of tools/llama_reference.py on each Hugging Face folder for both prompts, and its greedy
        continuations; float64 logits of tools/llama_gguf_float64_forward.py on each GGUF file's (dequantised)
        weights
    PYTHONPATH=... /usr/bin/python3 tools/golden_llama.py summary OUT_DIR [QUANTIZE_CHECK.json]
        golden.json: configs, prompts, greedy tokens, and the agreement numbers (float64 HF vs float64 GGUF,
        llama.cpp (OUT_DIR/llama-cpp/<file>[-bos]/logprobs.npy) vs float64, greedy agreement)

Prompts (token ids; "a" avoids every special token, "b" starts with the model's bos_token_id):
"""
import hashlib
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llama_reference as lr  # noqa: E402

MODELS = ("llama-tiny", "qwen2-tiny")
FORMATS = ("f32", "f16", "q8_0")
PROMPT_A = [84, 258, 263, 290, 32, 101, 330, 275, 44, 400, 265, 13]
PROMPT_B_TAIL = [40, 300, 270, 11, 350, 260, 99, 380, 17, 290, 71]
STEPS = 8
__doc__ += "    a = %s\n    b = [bos] + %s\n" % (PROMPT_A, PROMPT_B_TAIL)


def prompts(model_dir):
    bos = lr.read_config(model_dir).raw["bos_token_id"]
    return {"a": PROMPT_A, "b": [bos] + PROMPT_B_TAIL}


def log_softmax(x):
    x = np.asarray(x, np.float64)
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def nmse(got, want):
    return float(((got - want) ** 2).sum() / (want ** 2).sum())


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def reference(out):
    import llama_gguf_float64_forward as gf
    ref_dir = os.path.join(out, "reference")
    os.makedirs(ref_dir, exist_ok=True)
    greedy = {}
    for m in MODELS:
        model = lr.load_model(os.path.join(out, m))
        for p, ids in prompts(os.path.join(out, m)).items():
            logits = lr.forward(model, ids).numpy()
            np.save(os.path.join(ref_dir, "%s.%s.npy" % (m, p)), logits)
            toks, margins = lr.greedy(model, ids, STEPS)
            greedy["%s.%s" % (m, p)] = {"ids": toks, "margins": [round(x, 6) for x in margins]}
            for fmt in FORMATS:
                meta, w = gf.load(os.path.join(out, "%s-%s.gguf" % (m, fmt)))
                g = gf.forward(meta, w, ids)
                np.save(os.path.join(ref_dir, "%s-%s.gguf-float64.%s.npy" % (m, fmt, p)), g)
            print("%s prompt %s: greedy %s (min margin %.4f)" % (m, p, toks, min(margins)))
    with open(os.path.join(ref_dir, "greedy.json"), "w") as f:
        json.dump(greedy, f, indent=1)
        f.write("\n")


def summary(out, quantize_check=None):
    import llama_gguf_float64_forward as gf
    ref_dir = os.path.join(out, "reference")
    with open(os.path.join(ref_dir, "greedy.json")) as f:
        greedy = json.load(f)
    doc = {"generator": "tools/golden_llama.sh (tools/make_random_llama.py, tools/llama_gguf_writer.py, "
                        "tools/llama_reference.py, tools/llama_gguf_float64_forward.py, tools/golden_llama_cpp.mjs)",
           "greedy_steps": STEPS,
           "metrics": "nmse = sum((got - want)^2) / sum(want^2) over all positions and tokens; llama.cpp is compared "
                      "as log-softmax (its log-probabilities) against the log-softmax of the float64 reference; "
                      "float64 forwards are compared as raw logits",
           "models": {}}
    keep_npy = []
    for m in MODELS:
        hf = os.path.join(out, m)
        c = lr.read_config(hf)
        with open(os.path.join(hf, "tokenizer.json"), encoding="utf-8") as f:
            tok = json.load(f)
        entry = {
            "hf_dir": m,
            "config": {k: c.raw.get(k) for k in ("model_type", "hidden_size", "num_hidden_layers",
                                                  "num_attention_heads", "num_key_value_heads", "head_dim",
                                                  "intermediate_size", "vocab_size", "max_position_embeddings",
                                                  "rms_norm_eps", "rope_theta", "rope_scaling",
                                                  "tie_word_embeddings", "attention_bias", "bos_token_id",
                                                  "eos_token_id")},
            "head_dim": c.head_dim, "qkv_bias": c.bias,
            "inv_freq_float64": [float(v) for v in lr.inv_freq(c)],
            "special_tokens": {t["content"]: t["id"] for t in tok["added_tokens"]},
            "gguf": {}, "prompts": {},
        }
        if c.rope_scaling:
            entry["rope_freqs_float64"] = [float(v) for v in lr.llama3_rope_factors(c)]
        for fmt in FORMATS:
            path = os.path.join(out, "%s-%s.gguf" % (m, fmt))
            meta, w = gf.load(path)
            info = {"file": os.path.basename(path), "bytes": os.path.getsize(path), "sha256": sha256(path)}
            if "rope_freqs.weight" in w:
                info["rope_freqs"] = [float(v) for v in w["rope_freqs.weight"]]
            entry["gguf"][fmt] = info
        for p, ids in prompts(hf).items():
            ref = np.load(os.path.join(ref_dir, "%s.%s.npy" % (m, p)))
            ref_ls = log_softmax(ref)
            g = greedy["%s.%s" % (m, p)]
            pe = {"ids": ids, "reference_logits": "reference/%s.%s.npy" % (m, p),
                  "reference_greedy_ids": g["ids"], "reference_greedy_margins": g["margins"],
                  "reference_argmax": [int(v) for v in ref.argmax(-1)],
                  "float64_gguf": {}, "llama_cpp": {}}
            for fmt in FORMATS:
                name = "%s-%s.gguf-float64.%s.npy" % (m, fmt, p)
                x = np.load(os.path.join(ref_dir, name))
                d = x - ref
                pe["float64_gguf"][fmt] = {"nmse_vs_reference": nmse(x, ref), "max_abs_diff": float(np.abs(d).max()),
                                           "argmax_agreement": float((x.argmax(-1) == ref.argmax(-1)).mean())}
                if fmt == "f32":
                    factors = gf.config_rope_factors(hf) if c.rope_scaling else None
                    meta, w = gf.load(os.path.join(out, "%s-f32.gguf" % m))
                    y = gf.forward(meta, w, ids, factors)
                    pe["float64_gguf"][fmt]["max_abs_diff_with_float64_rope_freqs"] = float(np.abs(y - ref).max())
                    os.remove(os.path.join(ref_dir, name))   # equal to the reference to ~1e-7: not kept
                else:
                    pe["float64_gguf"][fmt]["logits"] = "reference/" + name
                    keep_npy.append(name)
                suffix = "" if p == "a" else "-bos"
                lc_dir = os.path.join(out, "llama-cpp", "%s-%s%s" % (m, fmt, suffix))
                lp = np.load(os.path.join(lc_dir, "logprobs.npy")).astype(np.float64)
                with open(os.path.join(lc_dir, "greedy.json")) as f:
                    lg = json.load(f)
                assert lg["prompt_ids"] == ids, (lc_dir, lg["prompt_ids"], ids)
                agree = 0
                for a, b in zip(lg["greedy_ids"], g["ids"]):
                    if a != b:
                        break
                    agree += 1
                q_ls = log_softmax(x)
                pe["llama_cpp"][fmt] = {
                    "dir": "llama-cpp/%s-%s%s" % (m, fmt, suffix),
                    "nmse_vs_reference": nmse(lp, ref_ls), "max_abs_diff_vs_reference": float(np.abs(lp - ref_ls).max()),
                    "nmse_vs_float64_on_file_weights": nmse(lp, q_ls),
                    "max_abs_diff_vs_float64_on_file_weights": float(np.abs(lp - q_ls).max()),
                    "argmax_agreement": float((lp.argmax(-1) == ref.argmax(-1)).mean()),
                    "greedy_ids": lg["greedy_ids"], "greedy_prefix_agreeing_with_reference": agree,
                    "min_greedy_margin": lg["min_greedy_margin"]}
            entry["prompts"][p] = pe
        doc["models"][m] = entry
    if quantize_check:
        with open(quantize_check) as f:
            doc["q8_0_vs_llama_quantize"] = json.load(f)
    with open(os.path.join(out, "golden.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")
    for m, e in doc["models"].items():
        for p, pe in e["prompts"].items():
            print("%s %s: float64 GGUF f32 vs HF max |d| %.2e (%.2e with float64 rope factors)" % (
                m, p, pe["float64_gguf"]["f32"]["max_abs_diff"],
                pe["float64_gguf"]["f32"]["max_abs_diff_with_float64_rope_freqs"]))
            for fmt in FORMATS:
                l = pe["llama_cpp"][fmt]
                print("   llama.cpp %-5s NMSE %.2e (vs float64 on its weights %.2e), greedy %d/%d, argmax %.0f%%" % (
                    fmt, l["nmse_vs_reference"], l["nmse_vs_float64_on_file_weights"],
                    l["greedy_prefix_agreeing_with_reference"], STEPS, 100 * l["argmax_agreement"]))


def quantize_check(ours, theirs, out_json):
    """Tensor data of our Q8_0 file against llama-quantize --pure's Q8_0 of the F32 file: bytes per tensor."""
    from gguf import GGUFReader
    a, b = GGUFReader(ours), GGUFReader(theirs)
    tb = {t.name: t for t in b.tensors}
    result = {}
    for t in a.tensors:
        u = tb[t.name]
        same = t.tensor_type == u.tensor_type and bytes(np.asarray(t.data).tobytes()) == bytes(np.asarray(u.data).tobytes())
        result[t.name] = {"type": t.tensor_type.name, "llama_quantize_type": u.tensor_type.name, "identical": same}
    doc = json.load(open(out_json)) if os.path.exists(out_json) else {}
    doc[os.path.basename(ours)] = {"tensors": len(result), "identical": sum(r["identical"] for r in result.values()),
                                   "different": [n for n, r in result.items() if not r["identical"]]}
    with open(out_json, "w") as f:
        json.dump(doc, f, indent=1)
    print("%s vs llama-quantize --pure: %d of %d tensors identical %s" % (
        os.path.basename(ours), doc[os.path.basename(ours)]["identical"], len(result),
        doc[os.path.basename(ours)]["different"]))


def main():
    cmd = sys.argv[1]
    if cmd == "reference":
        reference(sys.argv[2])
    elif cmd == "summary":
        summary(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    elif cmd == "quantize-check":
        quantize_check(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "prompt":
        print(",".join(map(str, prompts(sys.argv[2])[sys.argv[3]])))
    else:
        sys.exit("usage: golden_llama.py reference|summary|quantize-check|prompt ...")
    return 0


if __name__ == "__main__":
    sys.exit(main())
