#!/usr/bin/python3
"""Hugging Face llama / qwen2 folder -> GGUF, following llama.cpp's convert_hf_to_gguf.py conventions, written
independently (NumPy only; the GGUF encoding and the Q8_0 quantiser come from tools/gguf_reference_writer.py, which is
written from the GGUF specification and checked byte for byte against ggml; nothing from gguf-py or llama.cpp).

    /usr/bin/python3 tools/llama_gguf_writer.py HF_DIR OUT.gguf --type f32|f16|q8_0 [--name NAME]

What it writes (what convert_hf_to_gguf.py writes for LlamaModel / Qwen2Model):
  metadata, in this order:
    general.architecture "llama" | "qwen2", general.type "model", general.name, general.file_type (0 ALL_F32,
    1 MOSTLY_F16, 7 MOSTLY_Q8_0), general.quantization_version 2,
    {arch}.vocab_size (llama only, as LlamaModel adds it), {arch}.context_length (max_position_embeddings),
    .embedding_length, .block_count, .feed_forward_length, .rope.dimension_count (head_dim),
    .attention.head_count, .attention.head_count_kv, .attention.layer_norm_rms_epsilon (float32),
    .rope.freq_base (float32), .attention.key_length / .value_length (only when head_dim != hidden / heads),
    rope scaling "linear": .rope.scaling.type "linear" and .rope.scaling.factor; "llama3": no scaling keys, the
    rope_freqs.weight tensor instead (below)
    tokenizer.ggml.model: "gpt2" for a byte-level BPE tokenizer.json (with tokenizer.ggml.pre "llama-bpe" for llama,
    "qwen2" for qwen2), "llama" for a SentencePiece-style BPE tokenizer.json (byte_fallback, "▁" for spaces: Llama
    2 / TinyLlama); tokenizer.ggml.tokens (all ids, added tokens included), tokenizer.ggml.scores ("llama" only),
    tokenizer.ggml.token_type (int32: 1 normal, 2 unknown, 3 control = special added token, 4 user defined =
    non-special added token, 6 byte = <0xNN>), tokenizer.ggml.merges ("gpt2" only, "a b" strings in rank order),
    bos / eos / eot / unknown / padding token ids (uint32, those that exist), add_bos_token, add_eos_token,
    tokenizer.chat_template.
    bos / eos as gguf-py's SpecialVocab finds them: the tokens named by tokenizer_config.json's bos_token /
    eos_token, else config.json's bos_token_id / eos_token_id (the first of a list). eot: <|eot_id|> (llama) or
    <|im_end|> (qwen2) when present (llama.cpp would also find them by name). add_bos_token: tokenizer_config's
    flag, else true when tokenizer.json's post-processor prepends the bos token, else false.
  tensors, shapes as ne (innermost first) = reversed Hugging Face shapes:
    rope_freqs.weight (llama3 scaling only, F32 [head_dim/2]: the factors convert computes in float32 from
      config: 1 where wavelen < orig/high_freq_factor, factor where wavelen > orig/low_freq_factor, else
      1 / ((1 - smooth) / factor + smooth); llama.cpp divides the rotary frequency base^(-2i/d) by factor i)
    token_embd, blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_q.bias, attn_k.bias, attn_v.bias, attn_output,
    ffn_norm, ffn_gate, ffn_up, ffn_down}, output_norm, output (absent when tie_word_embeddings).
    llama only: attn_q and attn_k rows (and their biases) permuted from Hugging Face's rotate_half layout to
    llama.cpp's interleaved pairs: w.reshape(n, 2, head_dim/2, in).swapaxes(1, 2).reshape(w.shape) with n the
    head count of that matrix (num_key_value_heads for attn_k). qwen2: not permuted (llama.cpp runs it with NEOX
    rope, which is rotate_half).
  types: 1-D tensors always F32; matrices F32, F16 (round to nearest even) or Q8_0 (every matrix, token_embd and
    output included, as convert --outtype q8_0 does; ggml's reference quantiser).
Tensors are read (memory-mapped) and written one at a time, so a multi-GB model needs little memory.
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_reference_writer as gw  # noqa: E402
from gguf_reference_writer import ARRAY, BOOL, FLOAT32, INT32, STRING, UINT32, Array  # noqa: E402
from llama_reference import Config, safetensors_files  # noqa: E402
from safetensors_io import read_header  # noqa: E402

FILE_TYPES = {"f32": ("F32", 0), "f16": ("F16", 1), "q8_0": ("Q8_0", 7)}
TOKEN_NORMAL, TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_USER_DEFINED, TOKEN_BYTE = 1, 2, 3, 4, 6


# ---------------------------------------------------------------------------------------------------------------
# lazy safetensors

class LazyWeights:
    """name -> float32 array, each read through a memory map when asked for."""

    def __init__(self, folder):
        self.where = {}
        files, _ = safetensors_files(folder)
        for fname in files:
            path = os.path.join(folder, fname)
            header, start = read_header(path)
            for name, info in header.items():
                if name != "__metadata__":
                    self.where[name] = (path, start, info)

    def __contains__(self, name):
        return name in self.where

    def __getitem__(self, name):
        path, start, info = self.where[name]
        begin, end = info["data_offsets"]
        dt = {"F32": "<f4", "F16": "<f2", "BF16": "<u2"}[info["dtype"]]
        raw = np.memmap(path, dtype=dt, mode="r", offset=start + begin, shape=((end - begin) // np.dtype(dt).itemsize,))
        if info["dtype"] == "BF16":
            arr = (raw.astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.asarray(raw, dtype=np.float32)
        return arr.reshape(info["shape"])


# ---------------------------------------------------------------------------------------------------------------
# conventions

def permute(w, n_head):
    """convert_hf_to_gguf.py LlamaModel.permute: rotate_half rows -> interleaved pairs, per head."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def llama3_rope_freqs(config):
    """float32 factors, computed as convert_hf_to_gguf.py does (torch float32 frequencies, Python float maths)."""
    rs = config.rope_scaling
    d = config.head_dim
    base = np.float32(config.theta)
    freqs = np.float32(1.0) / (base ** (np.arange(0, d, 2, dtype=np.float32) / np.float32(d)))
    factor = float(rs.get("factor", 8.0))
    low = float(rs.get("low_freq_factor", 1.0))
    high = float(rs.get("high_freq_factor", 4.0))
    orig = float(rs.get("original_max_position_embeddings", 8192))
    low_wl, high_wl = orig / low, orig / high
    out = []
    for f in freqs:
        wavelen = 2 * math.pi / float(f)
        if wavelen < high_wl:
            out.append(1.0)
        elif wavelen > low_wl:
            out.append(factor)
        else:
            smooth = (orig / wavelen - low) / (high - low)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


def tensor_plan(config, weights):
    """[(gguf name, hf name or None, transform)] in convert's order."""
    arch = config.model_type if config.model_type != "mistral" else "llama"
    plan = []
    kind = (config.rope_scaling or {}).get("rope_type", (config.rope_scaling or {}).get("type"))
    if kind == "llama3":
        plan.append(("rope_freqs.weight", None, lambda _: llama3_rope_freqs(config)))
    plan.append(("token_embd.weight", "model.embed_tokens.weight", None))
    for i in range(config.layers):
        p, g = "model.layers.%d." % i, "blk.%d." % i
        q_perm = (lambda w: permute(w, config.heads)) if arch == "llama" else None
        k_perm = (lambda w: permute(w, config.kv_heads)) if arch == "llama" else None
        plan.append((g + "attn_norm.weight", p + "input_layernorm.weight", None))
        plan.append((g + "attn_q.weight", p + "self_attn.q_proj.weight", q_perm))
        plan.append((g + "attn_k.weight", p + "self_attn.k_proj.weight", k_perm))
        plan.append((g + "attn_v.weight", p + "self_attn.v_proj.weight", None))
        if config.bias:
            plan.append((g + "attn_q.bias", p + "self_attn.q_proj.bias", q_perm))
            plan.append((g + "attn_k.bias", p + "self_attn.k_proj.bias", k_perm))
            plan.append((g + "attn_v.bias", p + "self_attn.v_proj.bias", None))
        plan.append((g + "attn_output.weight", p + "self_attn.o_proj.weight", None))
        plan.append((g + "ffn_norm.weight", p + "post_attention_layernorm.weight", None))
        plan.append((g + "ffn_gate.weight", p + "mlp.gate_proj.weight", None))
        plan.append((g + "ffn_up.weight", p + "mlp.up_proj.weight", None))
        plan.append((g + "ffn_down.weight", p + "mlp.down_proj.weight", None))
    plan.append(("output_norm.weight", "model.norm.weight", None))
    if not config.tied and "lm_head.weight" in weights:
        plan.append(("output.weight", "lm_head.weight", None))
    return plan


def special_id(name_or_none, vocab):
    if isinstance(name_or_none, dict):
        name_or_none = name_or_none.get("content")
    return vocab.get(name_or_none) if name_or_none else None


def tokenizer_metadata(folder, config):
    with open(os.path.join(folder, "tokenizer.json"), encoding="utf-8") as f:
        tok = json.load(f)
    tc_path = os.path.join(folder, "tokenizer_config.json")
    tc = json.load(open(tc_path, encoding="utf-8")) if os.path.exists(tc_path) else {}
    model = tok["model"]
    if model["type"] != "BPE":
        raise ValueError("tokenizer.json model %s: only BPE" % model["type"])
    vocab = dict(model["vocab"])
    added = {t["content"]: t for t in tok.get("added_tokens", [])}
    for content, t in added.items():
        vocab[content] = t["id"]
    n = max(vocab.values()) + 1
    if n != config.vocab:
        raise ValueError("tokenizer has %d ids, config vocab_size %d (padding is not handled here)" % (n, config.vocab))
    tokens = [None] * n
    for text, i in vocab.items():
        tokens[i] = text
    if any(t is None for t in tokens):
        raise ValueError("tokenizer ids are not contiguous")
    merges = [m if isinstance(m, str) else " ".join(m) for m in model.get("merges", [])]
    spm = bool(model.get("byte_fallback"))
    meta = []
    types = []
    for i, text in enumerate(tokens):
        if text in added:
            types.append(TOKEN_CONTROL if added[text].get("special") else TOKEN_USER_DEFINED)
        elif spm and len(text) == 6 and text.startswith("<0x") and text.endswith(">"):
            types.append(TOKEN_BYTE)
        else:
            types.append(TOKEN_NORMAL)
    if spm:
        unk = model.get("unk_token")
        if unk in vocab:
            types[vocab[unk]] = TOKEN_UNKNOWN
        # scores: a merged token's score is -(rank of the first merge that produces it); tokens no merge produces
        # (single characters) score below every merge, -(number of merges + id); <unk>, control and byte tokens 0,
        # as SentencePiece stores them.
        rank = {}
        for r, m in enumerate(merges):
            a, b = m.split(" ", 1)
            rank.setdefault(a + b, r)
        scores = []
        for i, text in enumerate(tokens):
            if types[i] != TOKEN_NORMAL:
                scores.append(0.0)
            elif text in rank:
                scores.append(-float(rank[text]))
            else:
                scores.append(-float(len(merges) + i))
        meta += [("tokenizer.ggml.model", STRING, "llama"),
                 ("tokenizer.ggml.tokens", ARRAY, Array(STRING, tokens)),
                 ("tokenizer.ggml.scores", ARRAY, Array(FLOAT32, scores)),
                 ("tokenizer.ggml.token_type", ARRAY, Array(INT32, types))]
    else:
        pre = {"llama": "llama-bpe", "mistral": "llama-bpe", "qwen2": "qwen2"}[config.model_type]
        meta += [("tokenizer.ggml.model", STRING, "gpt2"), ("tokenizer.ggml.pre", STRING, pre),
                 ("tokenizer.ggml.tokens", ARRAY, Array(STRING, tokens)),
                 ("tokenizer.ggml.token_type", ARRAY, Array(INT32, types)),
                 ("tokenizer.ggml.merges", ARRAY, Array(STRING, merges))]

    def first(v):
        return v[0] if isinstance(v, list) else v
    bos = special_id(tc.get("bos_token"), vocab)
    if bos is None:
        bos = first(config.raw.get("bos_token_id"))
    eos = special_id(tc.get("eos_token"), vocab)
    if eos is None:
        eos = first(config.raw.get("eos_token_id"))
    eot = next((vocab[t] for t in ("<|eot_id|>", "<|im_end|>") if t in vocab), None)
    unk = special_id(tc.get("unk_token"), vocab)
    pad = special_id(tc.get("pad_token"), vocab)
    for key, value in (("bos", bos), ("eos", eos), ("eot", eot), ("unknown", unk), ("padding", pad)):
        if value is not None:
            meta.append(("tokenizer.ggml.%s_token_id" % key, UINT32, int(value)))
    add_bos = tc.get("add_bos_token")
    if add_bos is None:
        post = json.dumps(tok.get("post_processor"))
        add_bos = bos is not None and "TemplateProcessing" in post and tokens[bos] in post
    meta.append(("tokenizer.ggml.add_bos_token", BOOL, bool(add_bos)))
    meta.append(("tokenizer.ggml.add_eos_token", BOOL, bool(tc.get("add_eos_token", False))))
    if tc.get("chat_template"):
        meta.append(("tokenizer.chat_template", STRING, tc["chat_template"]))
    return meta


def model_metadata(config, name, file_type):
    arch = "llama" if config.model_type == "mistral" else config.model_type
    a = arch + "."
    m = [("general.architecture", STRING, arch), ("general.type", STRING, "model"), ("general.name", STRING, name),
         ("general.file_type", UINT32, file_type), ("general.quantization_version", UINT32, 2)]
    if arch == "llama":
        m.append((a + "vocab_size", UINT32, config.vocab))
    m += [(a + "context_length", UINT32, int(config.raw["max_position_embeddings"])),
          (a + "embedding_length", UINT32, config.hidden), (a + "block_count", UINT32, config.layers),
          (a + "feed_forward_length", UINT32, config.intermediate),
          (a + "rope.dimension_count", UINT32, config.head_dim),
          (a + "attention.head_count", UINT32, config.heads),
          (a + "attention.head_count_kv", UINT32, config.kv_heads),
          (a + "attention.layer_norm_rms_epsilon", FLOAT32, float(np.float32(config.eps))),
          (a + "rope.freq_base", FLOAT32, float(np.float32(config.theta)))]
    if config.head_dim != config.hidden // config.heads:
        m += [(a + "attention.key_length", UINT32, config.head_dim),
              (a + "attention.value_length", UINT32, config.head_dim)]
    rs = config.rope_scaling or {}
    kind = rs.get("rope_type", rs.get("type"))
    if kind == "linear":
        m += [(a + "rope.scaling.type", STRING, "linear"),
              (a + "rope.scaling.factor", FLOAT32, float(np.float32(rs["factor"])))]
    elif kind not in (None, "default", "llama3"):
        raise ValueError("rope_scaling %r is not handled" % kind)
    return m


# ---------------------------------------------------------------------------------------------------------------
# streaming GGUF

def encode(kind, values):
    values = np.ascontiguousarray(values, dtype=np.float32)
    if kind == "F32":
        return values.astype("<f4").tobytes()
    if kind == "F16":
        return values.astype("<f2").tobytes()   # round to nearest even, as gw.f16_bits (no NaNs here)
    if kind == "Q8_0":
        return quantize_q8_0(values.ravel())
    raise ValueError(kind)


def quantize_q8_0(x):
    """gguf_reference_writer's Q8_0 (ggml's quantize_row_q8_0_ref), vectorised over blocks; checked against the
    scalar version in main() on the first rows of every matrix."""
    blocks = x.reshape(-1, 32).astype(np.float32)
    amax = np.abs(blocks).max(axis=1)
    d = (amax / np.float32(127)).astype(np.float32)
    with np.errstate(divide="ignore"):
        inv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    v = (blocks * inv[:, None]).astype(np.float32).astype(np.float64)
    q = (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(np.int8)
    out = np.empty((blocks.shape[0], 34), dtype=np.uint8)
    out[:, 0:2] = d.astype("<f2").view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q.view(np.uint8)
    return out.tobytes()


def write_streaming(path, metadata, tensors, alignment=32):
    """tensors: [(name, kind, shape outermost first, make() -> stored bytes)]; made and written one at a time."""
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata))
    for key, vtype, value in metadata:
        head += gw.gguf_string(key) + struct.pack("<I", vtype) + gw.gguf_value(vtype, value)
    offset = 0
    sizes = []
    for name, kind, shape, _ in tensors:
        _, per_block, block_bytes = gw.GGML[kind]
        n = int(np.prod(shape, dtype=np.int64))
        assert shape[-1] % per_block == 0, (name, shape, kind)
        size = n // per_block * block_bytes
        sizes.append(size)
        ne = list(reversed(shape))
        head += gw.gguf_string(name) + struct.pack("<I", len(ne)) + struct.pack("<%dQ" % len(ne), *ne)
        head += struct.pack("<IQ", gw.GGML[kind][0], offset)
        offset += size + gw.pad(size, alignment)
    with open(path, "wb") as f:
        f.write(head + bytes(gw.pad(len(head), alignment)))
        for (name, kind, shape, make), size in zip(tensors, sizes):
            data = make()
            if len(data) != size:
                raise ValueError("%s: %d bytes, expected %d" % (name, len(data), size))
            f.write(data + bytes(gw.pad(size, alignment)))


def convert(folder, out, out_type, name=None, check_q8=True):
    with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
        config = Config(json.load(f))
    kind, file_type = FILE_TYPES[out_type]
    weights = LazyWeights(folder)
    metadata = model_metadata(config, name or os.path.basename(os.path.normpath(folder)), file_type)
    metadata += tokenizer_metadata(folder, config)
    tensors = []
    for gname, hname, transform in tensor_plan(config, weights):
        if hname is None:
            shape = [config.head_dim // 2]
        else:
            shape = list(weights.where[hname][2]["shape"])
        tkind = kind if len(shape) == 2 else "F32"

        def make(hname=hname, transform=transform, tkind=tkind, gname=gname):
            w = weights[hname] if hname is not None else None
            if transform is not None:
                w = transform(w)
            data = encode(tkind, w)
            if tkind == "Q8_0" and check_q8:
                rows = np.asarray(w, np.float32).reshape(-1, w.shape[-1])[:2].ravel()
                if gw.quantize_q8_0(rows) != data[:len(rows) // 32 * 34]:
                    raise AssertionError("%s: vectorised Q8_0 differs from the reference quantiser" % gname)
            return data
        tensors.append((gname, tkind, shape, make))
    write_streaming(out, metadata, tensors)
    return config, metadata, tensors


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("out")
    parser.add_argument("--type", choices=sorted(FILE_TYPES), default="f32")
    parser.add_argument("--name", help="general.name (default: the folder's name)")
    args = parser.parse_args()
    config, metadata, tensors = convert(args.model, args.out, args.type, args.name)
    print("%s: %s, %s, %d metadata entries, %d tensors, %d bytes" % (
        args.out, config.model_type, args.type, len(metadata), len(tensors), os.path.getsize(args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
