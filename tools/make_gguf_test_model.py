#!/usr/bin/python3
"""Write a tiny random GPT-2 in the Hugging Face layout for the GGUF golden files (tools/golden_gguf.sh).

The tokenizer is a 512-token subset of the bundled model's (models/gpt2-brown): the 256 byte tokens (ids 0..255,
GPT-2's byte-to-unicode alphabet), the first 255 merges (ids 256..510, each merge's product is the token of its
line: the bundled vocabulary lists merge i as token 256 + i), and <|endoftext|> (id 511). A merge may only join
tokens that exist before it, so any prefix of a BPE merge list is itself a valid GPT-2 byte-level BPE vocabulary;
the script checks that, and that vocab.json and merges.txt agree. Both gpu-infer and llama.cpp load it.

Weights (float32, drawn with NumPy's default_rng(--seed) in the order listed below, written F32 in
model.safetensors): normal with the standard deviations of tools/gpt2_reference.py's random-tiny model scaled by
sqrt(48 / n_embd) for matrices (so that the blocks, not the tied embedding, decide the next token), LayerNorm
weights 1 + N(0, 0.2), biases N(0, 0.05..0.1); the final LayerNorm's weights are s·(1 + N(0, 0.2)) with s chosen
so that the logits have a standard deviation of about 2.5 (a peaked next-token distribution: clear greedy margins).

--plant-edge-rows replaces a few rows of the token embedding (token ids 400..406, never in the golden prompts)
with blocks that exercise the corners of ggml's Q8_0 and Q4_0 reference quantisers while staying as small as the
random weights (at most 0.0625), so as not to dominate the tied output head: an all-zero row, exact rounding ties of Q8_0 (x / d = k + 1/2), Q4_0's "first largest
magnitude wins" in both orders and its clamp at 15, Q4_0 values on a truncation boundary (x / d + 8.5 an integer),
a scale that rounds to zero or to a subnormal in fp16, float32 subnormal inputs, and -0.0. Each row is n_embd
values; the patterns are laid out in 32-value blocks (n_embd must be a multiple of 32).

    /usr/bin/python3 tools/make_gguf_test_model.py OUT_DIR [--n-embd 64] [--n-layer 2] [--n-head 4]
        [--n-positions 64] [--n-inner 4*n_embd] [--vocab 512] [--seed 1] [--plant-edge-rows]
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import write_safetensors  # noqa: E402

BUNDLED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "gpt2-brown")
END_OF_TEXT = "<|endoftext|>"
EDGE_ROW_FIRST = 400
LOGIT_STD = 2.5


def subset_tokenizer(vocab_size):
    """(vocab dict, merges lines) of the bundled tokenizer cut to vocab_size tokens (bytes, merges, end-of-text)."""
    with open(os.path.join(BUNDLED, "vocab.json"), encoding="utf-8") as f:
        full = json.load(f)
    with open(os.path.join(BUNDLED, "merges.txt"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    header, merges = lines[0], [m for m in lines[1:] if m]
    if not header.startswith("#version"):
        sys.exit("make_gguf_test_model: %s/merges.txt does not start with #version" % BUNDLED)
    by_id = {i: t for t, i in full.items()}
    n_merges = vocab_size - 257
    if n_merges < 0 or n_merges > len(merges):
        sys.exit("make_gguf_test_model: --vocab must be 257..%d" % (257 + len(merges)))
    vocab = {by_id[i]: i for i in range(256)}
    for i, line in enumerate(merges[:n_merges]):
        left, right = line.split(" ")
        if left not in vocab or right not in vocab:
            sys.exit("make_gguf_test_model: merge %d (%s) joins a token that does not exist before it" % (i, line))
        product = left + right
        if by_id.get(256 + i) != product or product in vocab:
            sys.exit("make_gguf_test_model: merge %d (%s) is not token %d of the bundled vocabulary" % (i, line, 256 + i))
        vocab[product] = 256 + i
    vocab[END_OF_TEXT] = vocab_size - 1
    if sorted(vocab.values()) != list(range(vocab_size)):
        sys.exit("make_gguf_test_model: the subset's ids are not 0..%d" % (vocab_size - 1))
    return vocab, [header] + merges[:n_merges]


def random_weights(rng, c, inner, n_layer, positions, vocab_size):
    def normal(shape, std, mean=0.0):
        return (mean + std * rng.standard_normal(shape)).astype(np.float32)

    s = np.sqrt(48.0 / c)
    w = {"wte.weight": normal((vocab_size, c), 0.05), "wpe.weight": normal((positions, c), 0.05)}
    for i in range(n_layer):
        p = "h.%d." % i
        w[p + "ln_1.weight"] = normal(c, 0.2, 1.0)
        w[p + "ln_1.bias"] = normal(c, 0.1)
        w[p + "attn.c_attn.weight"] = normal((c, 3 * c), 0.12 * s)
        w[p + "attn.c_attn.bias"] = normal(3 * c, 0.05)
        w[p + "attn.c_proj.weight"] = normal((c, c), 0.3 * s)
        w[p + "attn.c_proj.bias"] = normal(c, 0.05)
        w[p + "ln_2.weight"] = normal(c, 0.2, 1.0)
        w[p + "ln_2.bias"] = normal(c, 0.1)
        w[p + "mlp.c_fc.weight"] = normal((c, inner), 0.1 * s)
        w[p + "mlp.c_fc.bias"] = normal(inner, 0.05)
        w[p + "mlp.c_proj.weight"] = normal((inner, c), 0.2 * s * np.sqrt(4.0 * c / inner))
        w[p + "mlp.c_proj.bias"] = normal(c, 0.05)
    # ln_f scales the tied head: logits of standard deviation about LOGIT_STD whatever n_embd, so that the
    # next-token distribution is peaked enough for greedy margins well above float rounding
    scale = LOGIT_STD / (0.05 * np.sqrt(c))
    w["ln_f.weight"] = normal(c, 0.2 * scale, scale)
    w["ln_f.bias"] = normal(c, 0.1)
    return w


def edge_blocks():
    """32-value float32 blocks for the corners of the Q8_0 / Q4_0 quantisers, of magnitude at most 0.0625 (about the
    size of the random weights, so that the planted rows do not dominate the tied output head). Powers of two scale
    them without changing which corner they hit."""
    blocks = []
    blocks.append(np.zeros(32, np.float32))                                   # d = 0 (Q4_0: d = -0.0)
    u = np.float32(2.0 ** -11)
    ties = np.array([(k + 0.5) for k in range(-16, 15)] + [127.0], np.float32) * u
    blocks.append(ties)                                                        # Q8_0: d = 2^-11, x/d = k + 1/2
    m = np.float32(2.0 ** -5)
    b = np.linspace(-0.0125, 0.0125, 32).astype(np.float32)
    b[3], b[10] = m, -m                                                        # Q4_0: +m first; -m maps to 16 -> 15
    blocks.append(b)
    b = np.linspace(0.0125, -0.0125, 32).astype(np.float32)
    b[3], b[10] = -m, m                                                        # Q4_0: -m first
    blocks.append(b)
    v = np.float32(2.0 ** -9)
    b = (np.arange(32, dtype=np.float32) - np.float32(16.5)) * v / np.float32(2.0)
    b[0] = np.float32(-8) * v                                                  # Q4_0: d = 2^-9, x/d + 8.5 integers
    blocks.append(b)
    b = np.linspace(-1e-6, 1e-6, 32).astype(np.float32)                        # fp16(d) = 0, q nonzero
    blocks.append(b)
    b = np.linspace(-1e-5, 1e-5, 32).astype(np.float32)                        # fp16(d) subnormal
    blocks.append(b)
    b = np.full(32, np.float32(1e-40))                                         # float32 subnormals ...
    b[5] = np.float32(0.05)                                                    # ... beside a normal value
    b[6] = np.float32(-1e-39)
    blocks.append(b)
    b = np.full(32, np.float32(-0.0))                                          # -0.0 everywhere
    blocks.append(b)
    b = np.linspace(-0.04, 0.04, 32).astype(np.float32)
    b[7] = np.float32(0.06)
    b[8] = np.float32(1e-7)                                                    # 0.06 beside tiny values
    blocks.append(b)
    return blocks


def plant_edge_rows(wte):
    c = wte.shape[1]
    if c % 32:
        sys.exit("make_gguf_test_model: --plant-edge-rows needs n_embd a multiple of 32")
    flat = np.concatenate(edge_blocks())
    rows = -(-flat.size // c)
    padded = np.zeros(rows * c, np.float32)
    padded[:flat.size] = flat
    wte[EDGE_ROW_FIRST:EDGE_ROW_FIRST + rows] = padded.reshape(rows, c)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--n-embd", type=int, default=64)
    parser.add_argument("--n-layer", type=int, default=2)
    parser.add_argument("--n-head", type=int, default=4)
    parser.add_argument("--n-positions", type=int, default=64)
    parser.add_argument("--n-inner", type=int, default=None, help="MLP width (default 4 * n_embd)")
    parser.add_argument("--vocab", type=int, default=512)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--plant-edge-rows", action="store_true")
    args = parser.parse_args()
    if args.n_embd % args.n_head:
        sys.exit("make_gguf_test_model: n_embd %d is not a multiple of n_head %d" % (args.n_embd, args.n_head))
    vocab, merges = subset_tokenizer(args.vocab)
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(args.out_dir, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(merges) + "\n")
    config = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": args.vocab,
              "n_positions": args.n_positions, "n_ctx": args.n_positions, "n_embd": args.n_embd,
              "n_layer": args.n_layer, "n_head": args.n_head, "n_inner": args.n_inner, "layer_norm_epsilon": 1e-5,
              "activation_function": "gelu_new", "bos_token_id": args.vocab - 1, "eos_token_id": args.vocab - 1,
              "tie_word_embeddings": True, "scale_attn_weights": True, "torch_dtype": "float32"}
    with open(os.path.join(args.out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    inner = args.n_inner or 4 * args.n_embd
    w = random_weights(np.random.default_rng(args.seed), args.n_embd, inner, args.n_layer, args.n_positions, args.vocab)
    note = ""
    if args.plant_edge_rows:
        rows = plant_edge_rows(w["wte.weight"])
        note = ", edge-case blocks in wte rows %d..%d" % (EDGE_ROW_FIRST, EDGE_ROW_FIRST + rows - 1)
    write_safetensors(os.path.join(args.out_dir, "model.safetensors"), w, dtype="F32")
    n = sum(v.size for v in w.values())
    print("%s: %d parameters, vocab %d%s" % (args.out_dir, n, args.vocab, note))
    return 0


if __name__ == "__main__":
    sys.exit(main())
