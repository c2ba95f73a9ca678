#!/usr/bin/python3
"""A float64 forward of a llama / qwen2 GGUF file, written from llama.cpp's conventions (not from the Hugging Face
layout): the cross-check of tools/llama_gguf_writer.py's q/k permutation and rope_freqs against
tools/llama_reference.py on the Hugging Face folder.

The file is read with llama.cpp's gguf-py (GGUFReader; gguf.quants.dequantize widens F16 / Q8_0 exactly), every
tensor as float64. Then, with GGUF's row-major matrices [out, in] (ne[0] = in):
    RMSNorm (attention.layer_norm_rms_epsilon), q/k/v (+ biases when present), rotary embeddings in llama.cpp's
    mode for the architecture:
        llama: LLAMA_ROPE_TYPE_NORM, adjacent pairs (x_{2i}, x_{2i+1}) of each head rotated by
               pos * freq_base^(-2i/n_rot) / rope_freqs[i]   (rope_freqs.weight when present, else 1;
               rope.scaling.type linear divides the position by rope.scaling.factor)
        qwen2: LLAMA_ROPE_TYPE_NEOX, pairs (x_i, x_{i+n_rot/2})
    grouped-query attention (head j uses kv head j // (head_count / head_count_kv)), causal softmax with scale
    1/sqrt(key_length), attn_output, residual, ffn_norm, ffn_down(silu(ffn_gate x) * ffn_up x), residual,
    output_norm, output (token_embd when output is absent).

    PYTHONPATH=$LLAMA_CPP/gguf-py /usr/bin/python3 tools/llama_gguf_float64_forward.py FILE.gguf --ids 1,2,3 \
        [--logits-out logits.npy] [--compare hf_logits.npy] [--rope-freqs-from-config HF_DIR]

--compare prints the largest |difference| and the NMSE against other logits (e.g. tools/llama_reference.py's on the
Hugging Face folder). --rope-freqs-from-config replaces the file's float32 rope_freqs by the float64 factors of the
folder's config.json (what the Hugging Face reference uses): with it the only difference left is the order of
float64 operations, about 1e-13; without it, the float32 rounding of the factors shows (about 1e-8 relative).
"""
import argparse
import math
import os
import sys

import numpy as np

try:
    from gguf import GGUFReader
    from gguf.quants import dequantize
except ImportError:
    sys.exit("llama_gguf_float64_forward: put llama.cpp's gguf-py on PYTHONPATH")


def field(reader, key, default=None):
    f = reader.fields.get(key)
    return f.contents() if f is not None else default


def load(path):
    reader = GGUFReader(path)
    arch = field(reader, "general.architecture")
    meta = {k: f.contents() for k, f in reader.fields.items() if k.startswith(arch + ".")}
    meta["arch"] = arch
    tensors = {}
    for t in reader.tensors:
        shape = [int(d) for d in reversed(t.shape)]
        tensors[t.name] = dequantize(t.data, t.tensor_type).astype(np.float64).reshape(shape)
    return meta, tensors


def rms_norm(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def rope(x, pos, base, factors, neox, scale=1.0):
    """x [heads, T, d]; rotates all d dimensions."""
    d = x.shape[-1]
    theta = base ** (-np.arange(0, d, 2, dtype=np.float64) / d) / factors      # [d/2]
    ang = (pos[:, None] / scale) * theta[None, :]                                # [T, d/2]
    c, s = np.cos(ang), np.sin(ang)
    if neox:
        a, b = x[..., :d // 2], x[..., d // 2:]
        return np.concatenate([a * c - b * s, b * c + a * s], axis=-1)
    a, b = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = a * c - b * s
    out[..., 1::2] = b * c + a * s
    return out


def forward(meta, w, ids, rope_factors=None):
    arch = meta["arch"]
    p_ = arch + "."
    eps = float(meta[p_ + "attention.layer_norm_rms_epsilon"])
    heads = int(meta[p_ + "attention.head_count"])
    kv = int(meta[p_ + "attention.head_count_kv"])
    n_embd = int(meta[p_ + "embedding_length"])
    D = int(meta.get(p_ + "attention.key_length", n_embd // heads))
    n_rot = int(meta.get(p_ + "rope.dimension_count", D))
    assert n_rot == D, "partial rotary not handled"
    base = float(meta.get(p_ + "rope.freq_base", 10000.0))
    scale = 1.0
    if meta.get(p_ + "rope.scaling.type") == "linear":
        scale = float(meta[p_ + "rope.scaling.factor"])
    factors = rope_factors if rope_factors is not None else w.get("rope_freqs.weight", np.ones(D // 2))
    neox = {"llama": False, "qwen2": True}[arch]
    T = len(ids)
    x = w["token_embd.weight"][ids]
    pos = np.arange(T, dtype=np.float64)
    mask = np.triu(np.full((T, T), -np.inf), 1)
    group = heads // kv
    for i in range(int(meta[p_ + "block_count"])):
        b = "blk.%d." % i
        a = rms_norm(x, w[b + "attn_norm.weight"], eps)
        q = a @ w[b + "attn_q.weight"].T + w.get(b + "attn_q.bias", 0)
        k = a @ w[b + "attn_k.weight"].T + w.get(b + "attn_k.bias", 0)
        v = a @ w[b + "attn_v.weight"].T + w.get(b + "attn_v.bias", 0)
        q = rope(q.reshape(T, heads, D).transpose(1, 0, 2), pos, base, factors, neox, scale)
        k = rope(k.reshape(T, kv, D).transpose(1, 0, 2), pos, base, factors, neox, scale)
        v = v.reshape(T, kv, D).transpose(1, 0, 2)
        k, v = np.repeat(k, group, axis=0), np.repeat(v, group, axis=0)
        s = q @ k.transpose(0, 2, 1) / math.sqrt(D) + mask
        s = np.exp(s - s.max(-1, keepdims=True))
        o = (s / s.sum(-1, keepdims=True)) @ v
        x = x + o.transpose(1, 0, 2).reshape(T, heads * D) @ w[b + "attn_output.weight"].T
        m = rms_norm(x, w[b + "ffn_norm.weight"], eps)
        g = m @ w[b + "ffn_gate.weight"].T
        u = m @ w[b + "ffn_up.weight"].T
        x = x + (g / (1 + np.exp(-g)) * u) @ w[b + "ffn_down.weight"].T
    x = rms_norm(x, w["output_norm.weight"], eps)
    return x @ w.get("output.weight", w["token_embd.weight"]).T


def config_rope_factors(hf_dir):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from llama_reference import llama3_rope_factors, read_config
    return llama3_rope_factors(read_config(hf_dir)).numpy()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("gguf")
    parser.add_argument("--ids", required=True)
    parser.add_argument("--logits-out")
    parser.add_argument("--compare")
    parser.add_argument("--rope-freqs-from-config", metavar="HF_DIR")
    args = parser.parse_args()
    ids = [int(t) for t in args.ids.split(",")]
    meta, w = load(args.gguf)
    factors = config_rope_factors(args.rope_freqs_from_config) if args.rope_freqs_from_config else None
    logits = forward(meta, w, ids, factors)
    if args.logits_out:
        np.save(args.logits_out, logits)
    print("%s: logits %s, argmax %s" % (args.gguf, list(logits.shape), logits.argmax(-1).tolist()))
    if args.compare:
        ref = np.load(args.compare).astype(np.float64)
        d = logits - ref
        print("vs %s: max |d| %.3e, NMSE %.3e" % (args.compare, np.abs(d).max(), (d ** 2).sum() / (ref ** 2).sum()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
