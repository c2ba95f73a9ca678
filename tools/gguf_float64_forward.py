#!/usr/bin/python3
"""Where the differences between llama.cpp and gpu-infer come from: a float64 GPT-2 forward of a GGUF file's
dequantised weights, compared with llama.cpp's log-probabilities for the same file.

For each golden folder src/test/resources/golden/gguf/llama-cpp/<stem>/ (greedy.json names the GGUF file), this
reads the file with llama.cpp's gguf-py, dequantises every tensor to float64 (gguf.quants.dequantize), runs GPT-2 in
float64 with NumPy (LayerNorm with biased variance, tanh GELU, causal attention scaled by 1/sqrt(head_dim), tied
head) over the prompt ids, and prints the NMSE and the largest absolute difference of log-softmax against
llama.cpp's logprobs.npy. When these equal what LlamaCppGoldenTest measures for gpu-infer (they do, to three
digits, for the F32, F16, Q8_0 and Q4_0 files), the differences are llama.cpp's own rounding (F16 / 8-bit
activations, fp16 GELU table), not gpu-infer's.

    PYTHONPATH=/path/to/llama.cpp/gguf-py /usr/bin/python3 tools/gguf_float64_forward.py
"""
import json
import os
import sys

import numpy as np

try:
    from gguf import GGUFReader
    from gguf.quants import dequantize
except ImportError:
    sys.exit("gguf_float64_forward: put llama.cpp's gguf-py on PYTHONPATH")

GOLDEN = os.path.join("src", "test", "resources", "golden", "gguf")


def load(path):
    reader = GGUFReader(path)
    meta = {k: f.contents() for k, f in reader.fields.items() if k.startswith("gpt2.")}
    tensors = {}
    for t in reader.tensors:
        shape = [int(d) for d in reversed(t.shape)]
        tensors[t.name] = dequantize(t.data, t.tensor_type).astype(np.float64).reshape(shape)
    return meta, tensors


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def gelu(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def forward(meta, w, ids):
    """Logits [T, V] in float64; matrices are [out, in] as GGUF stores them (ne[0] = in)."""
    eps = float(meta["gpt2.attention.layer_norm_epsilon"])
    heads = int(meta["gpt2.attention.head_count"])
    T = len(ids)
    x = w["token_embd.weight"][ids] + w["position_embd.weight"][:T]
    C = x.shape[1]
    D = C // heads
    mask = np.triu(np.full((T, T), -np.inf), 1)
    for i in range(int(meta["gpt2.block_count"])):
        p = "blk.%d." % i
        a = layer_norm(x, w[p + "attn_norm.weight"], w[p + "attn_norm.bias"], eps)
        qkv = a @ w[p + "attn_qkv.weight"].T + w[p + "attn_qkv.bias"]
        q, k, v = (qkv[:, j * C:(j + 1) * C].reshape(T, heads, D).transpose(1, 0, 2) for j in range(3))
        s = q @ k.transpose(0, 2, 1) / np.sqrt(D) + mask
        s = np.exp(s - s.max(-1, keepdims=True))
        o = (s / s.sum(-1, keepdims=True)) @ v
        x = x + o.transpose(1, 0, 2).reshape(T, C) @ w[p + "attn_output.weight"].T + w[p + "attn_output.bias"]
        m = layer_norm(x, w[p + "ffn_norm.weight"], w[p + "ffn_norm.bias"], eps)
        h = gelu(m @ w[p + "ffn_up.weight"].T + w[p + "ffn_up.bias"])
        x = x + h @ w[p + "ffn_down.weight"].T + w[p + "ffn_down.bias"]
    x = layer_norm(x, w["output_norm.weight"], w["output_norm.bias"], eps)
    return x @ w.get("output.weight", w["token_embd.weight"]).T


def main():
    root = os.path.join(GOLDEN, "llama-cpp")
    for stem in sorted(os.listdir(root)):
        with open(os.path.join(root, stem, "greedy.json")) as f:
            golden = json.load(f)
        path = next(os.path.join(GOLDEN, d, golden["file"]) for d in ("tiny", "kquants")
                    if os.path.exists(os.path.join(GOLDEN, d, golden["file"])))
        meta, w = load(path)
        logits = forward(meta, w, golden["prompt_ids"])
        ls = logits - logits.max(1, keepdims=True)
        ls -= np.log(np.exp(ls).sum(1, keepdims=True))
        lp = np.load(os.path.join(root, stem, "logprobs.npy")).astype(np.float64)
        d = lp - ls
        print("%-10s llama.cpp vs float64 on the file's dequantised weights: NMSE %.3e, max |d| %.3e"
              % (stem, (d ** 2).sum() / (lp ** 2).sum(), np.abs(d).max()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
