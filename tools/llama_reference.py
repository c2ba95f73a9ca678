#!/usr/bin/python3
"""A float64 reference forward of the Hugging Face llama / mistral / qwen2 architectures, in plain PyTorch.

Written from the architecture's definition, not from Hugging Face transformers (not installed, not imported). It
reads a Hugging Face folder: config.json and model.safetensors, or shards model-0000N-of-0000M.safetensors named by
model.safetensors.index.json (tools/safetensors_io.py reads them; F32, F16, BF16). Every weight is widened to
float64 and every operation runs in float64.

Per token ids x_0..x_{T-1} (positions 0..T-1):
    h = embed_tokens[ids]
    per layer:
        a = RMSNorm(h) * input_layernorm            RMSNorm(x) = x / sqrt(mean(x^2) + rms_norm_eps)
        q = a Wq^T (+ bq), k = a Wk^T (+ bk), v = a Wv^T (+ bv)
              biases: qwen2 always; llama / mistral when config attention_bias is true
        q, k split into heads of head_dim (config head_dim, default hidden_size / num_attention_heads);
        rotary embedding, Hugging Face's rotate_half convention: the first and second halves of each head are the
              pairs: for i < head_dim/2, angle = pos * inv_freq[i],
              (x_i, x_{i+d/2}) -> (x_i cos - x_{i+d/2} sin, x_{i+d/2} cos + x_i sin)
              inv_freq[i] = rope_theta^(-2i/head_dim), then rope_scaling:
                None / "default": as is
                {"rope_type": "linear", "factor": f}: inv_freq / f (positions divided by f)
                {"rope_type": "llama3", factor, low_freq_factor, high_freq_factor, original_max_position_embeddings}:
                    wavelen = 2 pi / inv_freq; low_wl = orig / low_freq_factor; high_wl = orig / high_freq_factor
                    wavelen < high_wl: unchanged; wavelen > low_wl: inv_freq / factor;
                    otherwise smooth = (orig / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor),
                    inv_freq = (1 - smooth) * inv_freq / factor + smooth * inv_freq
              ("type" is accepted for "rope_type", as older configs write it)
        grouped-query attention: query head j uses key/value head j // (num_attention_heads / num_key_value_heads);
              scores q.k / sqrt(head_dim), causal mask (and mistral's sliding_window when set and, for qwen2,
              use_sliding_window is true), softmax, times v
        h = h + concat(heads) Wo^T
        m = RMSNorm(h) * post_attention_layernorm
        h = h + down(silu(gate(m)) * up(m))                silu(x) = x / (1 + exp(-x))
    logits = RMSNorm(h) * norm  @ lm_head^T          lm_head = embed_tokens when tie_word_embeddings (or absent)

The one difference from Hugging Face's own code: HF computes inv_freq in float32 (and the model in its dtype); here
everything, inv_freq and the llama3 factors included, is float64, the exact value of the definition.

Library use:
    from llama_reference import load_model, forward, greedy
    model = load_model("src/test/resources/golden/llama/llama-tiny")
    logits = forward(model, [1, 2, 3])          # torch.float64 [T, V]
    ids = greedy(model, [1, 2, 3], 8)           # the 8 next tokens, argmax each step

Command line (from the repository root):
    /usr/bin/python3 tools/llama_reference.py MODEL_DIR --ids 1,2,3 [--greedy 8] [--logits-out logits.npy]
    /usr/bin/python3 tools/llama_reference.py MODEL_DIR --config-only      (reads config.json, prints the shapes)
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import read_header, read_safetensors  # noqa: E402

SUPPORTED = ("llama", "mistral", "qwen2")


class Config:
    def __init__(self, raw):
        self.raw = raw
        self.model_type = raw.get("model_type", "llama")
        if self.model_type not in SUPPORTED:
            raise ValueError("model_type %r: only %s" % (self.model_type, ", ".join(SUPPORTED)))
        self.hidden = int(raw["hidden_size"])
        self.layers = int(raw["num_hidden_layers"])
        self.heads = int(raw["num_attention_heads"])
        self.kv_heads = int(raw.get("num_key_value_heads") or self.heads)
        self.head_dim = int(raw.get("head_dim") or self.hidden // self.heads)
        self.intermediate = int(raw["intermediate_size"])
        self.vocab = int(raw["vocab_size"])
        self.eps = float(raw.get("rms_norm_eps", 1e-6))
        self.theta = float(raw.get("rope_theta", 10000.0))
        self.rope_scaling = raw.get("rope_scaling")
        self.tied = bool(raw.get("tie_word_embeddings", False))
        self.bias = self.model_type == "qwen2" or bool(raw.get("attention_bias", False))
        self.mlp_bias = bool(raw.get("mlp_bias", False))
        act = raw.get("hidden_act", "silu")
        if act not in ("silu", "swish"):
            raise ValueError("hidden_act %r: only silu" % act)
        window = raw.get("sliding_window")
        if self.model_type == "qwen2" and not raw.get("use_sliding_window", False):
            window = None
        self.sliding_window = int(window) if window else None
        if self.heads % self.kv_heads:
            raise ValueError("num_attention_heads %d is not a multiple of num_key_value_heads %d"
                             % (self.heads, self.kv_heads))

    def shapes(self):
        """name -> shape of every tensor the model needs (lm_head only when untied)."""
        H, D, I = self.hidden, self.head_dim, self.intermediate
        s = {"model.embed_tokens.weight": [self.vocab, H]}
        for i in range(self.layers):
            p = "model.layers.%d." % i
            s[p + "input_layernorm.weight"] = [H]
            s[p + "self_attn.q_proj.weight"] = [self.heads * D, H]
            s[p + "self_attn.k_proj.weight"] = [self.kv_heads * D, H]
            s[p + "self_attn.v_proj.weight"] = [self.kv_heads * D, H]
            if self.bias:
                s[p + "self_attn.q_proj.bias"] = [self.heads * D]
                s[p + "self_attn.k_proj.bias"] = [self.kv_heads * D]
                s[p + "self_attn.v_proj.bias"] = [self.kv_heads * D]
            s[p + "self_attn.o_proj.weight"] = [H, self.heads * D]
            s[p + "post_attention_layernorm.weight"] = [H]
            s[p + "mlp.gate_proj.weight"] = [I, H]
            s[p + "mlp.up_proj.weight"] = [I, H]
            s[p + "mlp.down_proj.weight"] = [H, I]
            if self.mlp_bias:
                s[p + "mlp.gate_proj.bias"] = [I]
                s[p + "mlp.up_proj.bias"] = [I]
                s[p + "mlp.down_proj.bias"] = [H]
        s["model.norm.weight"] = [H]
        if not self.tied:
            s["lm_head.weight"] = [self.vocab, H]
        return s


def inv_freq(config):
    """float64 [head_dim / 2]: the rotary frequencies after rope_scaling."""
    d = config.head_dim
    f = config.theta ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    rs = config.rope_scaling
    if not rs:
        return f
    kind = rs.get("rope_type", rs.get("type"))
    if kind in (None, "default"):
        return f
    if kind == "linear":
        return f / float(rs["factor"])
    if kind == "llama3":
        factor = float(rs["factor"])
        low, high = float(rs["low_freq_factor"]), float(rs["high_freq_factor"])
        orig = float(rs["original_max_position_embeddings"])
        wavelen = 2 * math.pi / f
        out = torch.where(wavelen > orig / low, f / factor, f)
        smooth = (orig / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * out / factor + smooth * out
        medium = (wavelen >= orig / high) & (wavelen <= orig / low)
        return torch.where(medium, smoothed, out)
    raise ValueError("rope_scaling type %r is not supported" % kind)


def llama3_rope_factors(config):
    """The factors inv_freq_unscaled / inv_freq_scaled (float64), what llama.cpp's rope_freqs tensor holds."""
    d = config.head_dim
    f = config.theta ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    return f / inv_freq(config)


class Model:
    def __init__(self, folder, config, weights):
        self.folder = folder
        self.config = config
        self.w = weights


def read_config(folder):
    with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
        return Config(json.load(f))


def safetensors_files(folder):
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index, encoding="utf-8") as f:
            weight_map = json.load(f)["weight_map"]
        return sorted(set(weight_map.values())), weight_map
    single = os.path.join(folder, "model.safetensors")
    if os.path.exists(single):
        return ["model.safetensors"], None
    raise FileNotFoundError("%s: neither model.safetensors nor model.safetensors.index.json" % folder)


def check_tensor_names(folder, config):
    """Reads only the safetensors headers: every needed tensor present with the right shape."""
    files, weight_map = safetensors_files(folder)
    found = {}
    for name in files:
        header, _ = read_header(os.path.join(folder, name))
        for key, info in header.items():
            if key != "__metadata__":
                found[key] = (info["shape"], name)
                if weight_map is not None and weight_map.get(key) != name:
                    raise ValueError("%s: the index puts %s in %s, found in %s" % (folder, key, weight_map.get(key), name))
    for key, shape in config.shapes().items():
        if key not in found:
            raise ValueError("%s: tensor %s missing" % (folder, key))
        if list(found[key][0]) != shape:
            raise ValueError("%s: %s has shape %s, config says %s" % (folder, key, found[key][0], shape))
    return found


def load_model(folder):
    config = read_config(folder)
    check_tensor_names(folder, config)
    files, _ = safetensors_files(folder)
    w = {}
    for name in files:
        for key, value in read_safetensors(os.path.join(folder, name)).items():
            w[key] = torch.from_numpy(value.astype(np.float64))
    if config.tied or "lm_head.weight" not in w:
        w["lm_head.weight"] = w["model.embed_tokens.weight"]
    return Model(folder, config, w)


def rms_norm(x, weight, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def linear(x, w, b=None):
    y = x @ w.T
    return y + b if b is not None else y


def forward(model, ids):
    """float64 logits [T, V] for token ids at positions 0..T-1."""
    c, w = model.config, model.w
    ids = torch.as_tensor(list(ids), dtype=torch.long)
    T, D = len(ids), c.head_dim
    x = w["model.embed_tokens.weight"][ids]
    pos = torch.arange(T, dtype=torch.float64)
    angles = pos[:, None] * inv_freq(c)[None, :]                          # [T, D/2]
    cos = torch.cat([torch.cos(angles)] * 2, -1)[None]                      # [1, T, D]
    sin = torch.cat([torch.sin(angles)] * 2, -1)[None]
    i = torch.arange(T)
    allowed = i[None, :] <= i[:, None]
    if c.sliding_window:
        allowed &= (i[:, None] - i[None, :]) < c.sliding_window
    mask = torch.where(allowed, 0.0, -math.inf).to(torch.float64)
    group = c.heads // c.kv_heads
    for layer in range(c.layers):
        p = "model.layers.%d." % layer
        a = rms_norm(x, w[p + "input_layernorm.weight"], c.eps)
        q = linear(a, w[p + "self_attn.q_proj.weight"], w.get(p + "self_attn.q_proj.bias"))
        k = linear(a, w[p + "self_attn.k_proj.weight"], w.get(p + "self_attn.k_proj.bias"))
        v = linear(a, w[p + "self_attn.v_proj.weight"], w.get(p + "self_attn.v_proj.bias"))
        q = q.view(T, c.heads, D).transpose(0, 1)                           # [heads, T, D]
        k = k.view(T, c.kv_heads, D).transpose(0, 1)
        v = v.view(T, c.kv_heads, D).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(group, dim=0)
        v = v.repeat_interleave(group, dim=0)
        s = q @ k.transpose(1, 2) / math.sqrt(D) + mask
        s = torch.softmax(s, dim=-1)
        o = (s @ v).transpose(0, 1).reshape(T, c.heads * D)
        x = x + linear(o, w[p + "self_attn.o_proj.weight"])
        m = rms_norm(x, w[p + "post_attention_layernorm.weight"], c.eps)
        g = linear(m, w[p + "mlp.gate_proj.weight"], w.get(p + "mlp.gate_proj.bias"))
        u = linear(m, w[p + "mlp.up_proj.weight"], w.get(p + "mlp.up_proj.bias"))
        x = x + linear(g * torch.sigmoid(g) * u, w[p + "mlp.down_proj.weight"], w.get(p + "mlp.down_proj.bias"))
    x = rms_norm(x, w["model.norm.weight"], c.eps)
    return x @ w["lm_head.weight"].T


def greedy(model, ids, steps):
    """The next `steps` tokens, each the argmax of the last position's logits (the full prefix recomputed each
    step: no cache to get wrong). Also returns the top-1 minus top-2 logit margin of each step."""
    ids = list(ids)
    out, margins = [], []
    for _ in range(steps):
        last = forward(model, ids)[-1]
        top = torch.topk(last, 2).values
        nxt = int(torch.argmax(last))
        out.append(nxt)
        margins.append(float(top[0] - top[1]))
        ids.append(nxt)
    return out, margins


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("--ids", help="comma-separated token ids")
    parser.add_argument("--greedy", type=int, default=0, help="greedy continuation length")
    parser.add_argument("--logits-out", help="write the float64 logits [T, V] here (.npy)")
    parser.add_argument("--config-only", action="store_true", help="read config.json and the tensor headers only")
    args = parser.parse_args()
    if args.config_only:
        c = read_config(args.model)
        found = check_tensor_names(args.model, c)
        n = sum(int(np.prod(s)) for s in c.shapes().values())
        print("%s: %s, %d layers, hidden %d, heads %d/%d, head_dim %d, ffn %d, vocab %d, theta %g, scaling %s, "
              "tied %s; %d tensors present with the shapes config.json implies (%d parameters)"
              % (args.model, c.model_type, c.layers, c.hidden, c.heads, c.kv_heads, c.head_dim, c.intermediate,
                 c.vocab, c.theta, c.rope_scaling, c.tied, len(found), n))
        return 0
    if not args.ids:
        parser.error("--ids is required")
    ids = [int(t) for t in args.ids.split(",")]
    model = load_model(args.model)
    logits = forward(model, ids)
    if args.logits_out:
        np.save(args.logits_out, logits.numpy())
    print("logits [%d, %d], argmax per position %s" % (logits.shape[0], logits.shape[1],
                                                        logits.argmax(-1).tolist()))
    if args.greedy:
        toks, margins = greedy(model, ids, args.greedy)
        print("greedy %s, min margin %.4f" % (toks, min(margins)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
