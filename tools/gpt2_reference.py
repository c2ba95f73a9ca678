#!/usr/bin/python3
"""Independent GPT-2 reference forward (PyTorch, float64) and the golden files gpu-infer's Java code is tested with.

Written directly against Hugging Face's GPT-2 tensor layout and config.json; it shares no code with gpu-infer's
Java side nor with tools/train_model.py (only tools/bpe.py for token ids and tools/safetensors_io.py for reading and
writing files). For every model folder it reads config.json and model.safetensors (F32, F16 or BF16: the stored
values are widened to float64 exactly), then computes, in float64:

    x = wte[ids] + wpe[0..T-1]
    for each layer i:  a = ln_1(x); qkv = a @ c_attn.weight + c_attn.bias      (weights stored (in, out))
                       q, k, v = columns [0,C), [C,2C), [2C,3C) of qkv; head h uses columns h*D .. h*D+D-1
                       attn = softmax(q k^T / sqrt(D), causal) v, heads concatenated; o = attn @ c_proj.weight + b
                       x = x + o
                       m = gelu_new(ln_2(x) @ c_fc.weight + c_fc.bias) @ mlp.c_proj.weight + mlp.c_proj.bias
                       x = x + m
    logits = ln_f(x) @ wte^T
LayerNorm: (x - mean) / sqrt(biased variance + layer_norm_epsilon) * weight + bias (eps from config.json, 1e-5).
gelu_new: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). Greedy decoding recomputes the whole sequence each
step (no KV cache), takes the argmax (lowest id on an exact tie) and does not stop at <|endoftext|>.

Writes (run from the repository root):
    src/test/resources/golden/gpt2/<bundled-name>/   prompt<i>.json and prompt<i>_logits.npy for 3 prompts of
                                                      the bundled model (models/gpt2-brown by default)
    src/test/resources/golden/gpt2/random-tiny/       a random model (config.json, model.safetensors F32,
                                                      vocab.json, merges.txt), golden files for 2 prompts, per-layer
                                                      activations act_*.npy for prompt 0, README.md
    src/test/resources/golden/gpt2/random-tiny-f16/   the same weights stored as F16 (model.safetensors), goldens
    src/test/resources/golden/gpt2/random-tiny-bf16/  the same weights stored as BF16 (model.safetensors), goldens
prompt<i>.json: {"prompt", "ids" (prompt ids), "greedy_ids" (32 continuation ids), "greedy_text" (decoded
continuation only), "full_text" (prompt + continuation decoded), "min_greedy_margin" (the smallest top-1 minus top-2
logit over the 32 greedy steps: how much float32 error the greedy golden tolerates)}.
prompt<i>_logits.npy: float32 [T, vocab_size] logits at every prompt position, C order.

    /usr/bin/python3 tools/gpt2_reference.py                 # all of the above
    /usr/bin/python3 tools/gpt2_reference.py --only bundled  # or: --only random-tiny
    /usr/bin/python3 tools/gpt2_reference.py --model models/gpt2-brown --prompt "Hello there" --greedy 20
                                                             # print ids and a greedy continuation, write nothing

(Debian: apt-get install python3-torch python3-numpy python3-regex.)
"""
import argparse
import json
import math
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
from safetensors_io import read_safetensors, round_to_dtype, write_safetensors  # noqa: E402

GOLDEN = os.path.join("src", "test", "resources", "golden", "gpt2")
BUNDLED = os.path.join("models", "gpt2-brown")
BUNDLED_PROMPTS = [
    "The meaning of life is",
    "It was a dark and stormy night",
    'On May 3, 1961 the jury said:  "Costs rose 12.5% -- again!"',
]
TINY_PROMPTS = [
    "The meaning of life is",
    "Hi,  you! 42\tcafé<|endoftext|>It",
]
GREEDY_STEPS = 32


def load_model(folder):
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    files = [n for n in os.listdir(folder) if n.endswith(".safetensors")]
    if len(files) != 1:
        raise ValueError("%s: expected exactly one .safetensors file, found %s" % (folder, files))
    weights = {k: torch.from_numpy(v.astype(np.float64)) for k, v in read_safetensors(os.path.join(folder, files[0])).items()}
    return config, weights


def layer_norm(x, w, b, eps):
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * w + b


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)))


def forward(config, w, ids, acts=None):
    """ids: list of ints. Returns float64 logits [T, vocab]. acts (a dict), if given, receives activations."""
    c, n_head, eps = config["n_embd"], config["n_head"], config["layer_norm_epsilon"]
    d = c // n_head
    t = len(ids)
    if t > config["n_positions"]:
        raise ValueError("sequence of %d tokens is longer than n_positions %d" % (t, config["n_positions"]))
    x = w["wte.weight"][torch.tensor(ids)] + w["wpe.weight"][:t]
    record = (lambda name, value: acts.__setitem__(name, value.clone())) if acts is not None else (lambda *a: None)
    record("embeddings", x)
    visible = torch.tril(torch.ones(t, t, dtype=torch.bool))
    for i in range(config["n_layer"]):
        p = "h.%d." % i
        a = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = a @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
        heads = []
        for h in range(n_head):
            q = qkv[:, h * d:(h + 1) * d]
            k = qkv[:, c + h * d:c + (h + 1) * d]
            v = qkv[:, 2 * c + h * d:2 * c + (h + 1) * d]
            scores = (q @ k.T) / math.sqrt(d)
            scores = torch.where(visible, scores, torch.tensor(float("-inf"), dtype=scores.dtype))
            probs = torch.softmax(scores, dim=-1)
            heads.append(probs @ v)
        o = torch.cat(heads, dim=1) @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        x = x + o
        m_in = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        hidden = gelu_new(m_in @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        m = hidden @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
        record("ln_1_layer%d" % i, a)
        record("qkv_layer%d" % i, qkv)
        record("attn_out_layer%d" % i, o)
        record("resid_attn_layer%d" % i, x)
        record("ln_2_layer%d" % i, m_in)
        record("mlp_hidden_layer%d" % i, hidden)
        record("mlp_out_layer%d" % i, m)
        x = x + m
        record("resid_block_layer%d" % i, x)
    x = layer_norm(x, w["ln_f.weight"], w["ln_f.bias"], eps)
    record("ln_f", x)
    logits = x @ w["wte.weight"].T
    record("logits", logits)
    return logits


def greedy(config, w, ids, steps):
    """Returns (continuation ids, smallest top-1 minus top-2 logit over the steps)."""
    seq = list(ids)
    margin = float("inf")
    for _ in range(steps):
        last = forward(config, w, seq)[-1]
        top = torch.topk(last, 2)
        margin = min(margin, float(top.values[0] - top.values[1]))
        seq.append(int(torch.argmax(last)))  # torch.argmax returns the first maximal index
    return seq[len(ids):], margin


def write_golden(folder, config, w, tokenizer, prompts, activations_for=None):
    os.makedirs(folder, exist_ok=True)
    for i, prompt in enumerate(prompts):
        ids = tokenizer.encode(prompt)
        acts = {} if activations_for == i else None
        logits = forward(config, w, ids, acts)
        cont, margin = greedy(config, w, ids, GREEDY_STEPS)
        np.save(os.path.join(folder, "prompt%d_logits.npy" % i), np.ascontiguousarray(logits.numpy(), dtype=np.float32))
        meta = {"prompt": prompt, "ids": ids, "greedy_ids": cont, "greedy_text": tokenizer.decode(cont),
                "full_text": tokenizer.decode(ids + cont), "min_greedy_margin": margin}
        with open(os.path.join(folder, "prompt%d.json" % i), "w", encoding="utf-8") as f:
            json.dump(meta, f, indent=2, ensure_ascii=False)
            f.write("\n")
        print("%s prompt%d: %d ids, margin %.3g: %r" % (folder, i, len(ids), margin, meta["full_text"]))
        if acts is not None:
            for name, value in acts.items():
                if name != "logits":
                    np.save(os.path.join(folder, "act_%s.npy" % name),
                            np.ascontiguousarray(value.numpy(), dtype=np.float32))


def random_tiny_weights(vocab_size, seed=20261128):
    """float32 weights of the random test model: n_layer 2, n_embd 48, n_head 3, n_positions 64."""
    rng = np.random.default_rng(seed)
    c, layers, positions = 48, 2, 64

    def normal(shape, std, mean=0.0):
        return (mean + std * rng.standard_normal(shape)).astype(np.float32)

    w = {"wte.weight": normal((vocab_size, c), 0.05), "wpe.weight": normal((positions, c), 0.05)}
    for i in range(layers):
        p = "h.%d." % i
        w[p + "ln_1.weight"] = normal(c, 0.2, 1.0)
        w[p + "ln_1.bias"] = normal(c, 0.1)
        w[p + "attn.c_attn.weight"] = normal((c, 3 * c), 0.12)
        w[p + "attn.c_attn.bias"] = normal(3 * c, 0.05)
        w[p + "attn.c_proj.weight"] = normal((c, c), 0.3)
        w[p + "attn.c_proj.bias"] = normal(c, 0.05)
        w[p + "ln_2.weight"] = normal(c, 0.2, 1.0)
        w[p + "ln_2.bias"] = normal(c, 0.1)
        w[p + "mlp.c_fc.weight"] = normal((c, 4 * c), 0.1)
        w[p + "mlp.c_fc.bias"] = normal(4 * c, 0.05)
        w[p + "mlp.c_proj.weight"] = normal((4 * c, c), 0.2)
        w[p + "mlp.c_proj.bias"] = normal(c, 0.05)
    w["ln_f.weight"] = normal(c, 0.2, 1.0)
    w["ln_f.bias"] = normal(c, 0.1)
    config = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": vocab_size,
              "n_positions": positions, "n_ctx": positions, "n_embd": c, "n_layer": layers, "n_head": 3,
              "n_inner": None, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new",
              "bos_token_id": vocab_size - 1, "eos_token_id": vocab_size - 1, "tie_word_embeddings": True,
              "scale_attn_weights": True}
    return config, w


TINY_README = """# random-tiny: golden files for gpu-infer's GPT-2 forward pass

Generated by `/usr/bin/python3 tools/gpt2_reference.py --only random-tiny` (float64 PyTorch forward written
against the Hugging Face layout; see that script's docstring). Do not edit by hand.

The model is random (seeded): n_layer 2, n_embd 48, n_head 3 (head_dim 16), n_positions 64, vocab_size %(vocab)d
(the bundled tokenizer's vocab.json and merges.txt, copied here; <|endoftext|> is id %(eot)d). Weights are normal
with std 0.05 to 0.3 (the c_proj outputs are large, so that the blocks rather than the tied embedding decide the
next token) and LayerNorm weights 1 + N(0, 0.2), biases N(0, 0.1), so LayerNorm and biases matter.

| folder | weights |
|---|---|
| `random-tiny/` | `model.safetensors`, F32 |
| `random-tiny-f16/` | `model.safetensors`, F16: the F32 weights rounded to nearest even; goldens from the rounded values |
| `random-tiny-bf16/` | `model.safetensors`, BF16: the F32 weights rounded to nearest even; goldens from the rounded values |

Each folder is a complete model folder (config.json, model.safetensors, vocab.json, merges.txt) with:

- `prompt<i>.json`: `prompt`, `ids` (its token ids), `greedy_ids` (32 greedy continuation ids: argmax at each
  step, no stop at <|endoftext|>), `greedy_text` (the continuation decoded), `full_text`, `min_greedy_margin` (the
  smallest top-1 minus top-2 logit along the greedy path).
- `prompt<i>_logits.npy`: float32 `[T, vocab_size]` logits of every prompt position.

`random-tiny/` also has the activations of prompt 0 (T = %(t0)d tokens), float32, C order, computed in float64:

| file | shape | what |
|---|---|---|
| `act_embeddings.npy` | [T, 48] | wte[ids] + wpe[0..T-1] |
| `act_ln_1_layer<i>.npy` | [T, 48] | ln_1 of the residual stream entering layer i |
| `act_qkv_layer<i>.npy` | [T, 144] | c_attn output: q, k, v columns, heads contiguous inside each |
| `act_attn_out_layer<i>.npy` | [T, 48] | attention output after c_proj (bias included) |
| `act_resid_attn_layer<i>.npy` | [T, 48] | residual after the attention add |
| `act_ln_2_layer<i>.npy` | [T, 48] | ln_2 of that residual |
| `act_mlp_hidden_layer<i>.npy` | [T, 192] | gelu_new(c_fc output) |
| `act_mlp_out_layer<i>.npy` | [T, 48] | MLP output after c_proj (bias included) |
| `act_resid_block_layer<i>.npy` | [T, 48] | residual after the block (input of layer i+1) |
| `act_ln_f.npy` | [T, 48] | ln_f output (logits = this @ wte^T, in `prompt0_logits.npy`) |
"""


def make_random_tiny(tokenizer_dir):
    tokenizer = bpe.Tokenizer.load(tokenizer_dir)
    vocab_size = len(tokenizer.encoder)
    config, w32 = random_tiny_weights(vocab_size)
    for suffix, dtype in (("", "F32"), ("-f16", "F16"), ("-bf16", "BF16")):
        folder = os.path.join(GOLDEN, "random-tiny" + suffix)
        os.makedirs(folder, exist_ok=True)
        cfg = dict(config, torch_dtype={"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[dtype])
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
            f.write("\n")
        write_safetensors(os.path.join(folder, "model.safetensors"), w32, dtype)
        for name in ("vocab.json", "merges.txt"):
            shutil.copyfile(os.path.join(tokenizer_dir, name), os.path.join(folder, name))
        cfg_read, w = load_model(folder)  # goldens from exactly what the file holds
        for k, v in w32.items():
            assert np.array_equal(w[k].numpy().astype(np.float32), round_to_dtype(v, dtype)), k
        write_golden(folder, cfg_read, w, tokenizer, TINY_PROMPTS, activations_for=0 if dtype == "F32" else None)
    with open(os.path.join(GOLDEN, "random-tiny", "README.md"), "w") as f:
        f.write(TINY_README % {"vocab": vocab_size, "eot": tokenizer.eot_id,
                               "t0": len(tokenizer.encode(TINY_PROMPTS[0]))})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=("bundled", "random-tiny"))
    parser.add_argument("--bundled", default=BUNDLED, help="bundled model folder (default %(default)s)")
    parser.add_argument("--model", help="with --prompt: a model folder to run, writing nothing")
    parser.add_argument("--prompt")
    parser.add_argument("--greedy", type=int, default=GREEDY_STEPS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.prompt is not None:
        folder = args.model or args.bundled
        config, w = load_model(folder)
        tokenizer = bpe.Tokenizer.load(folder)
        ids = tokenizer.encode(args.prompt)
        cont, margin = greedy(config, w, ids, args.greedy)
        print(json.dumps({"ids": ids, "greedy_ids": cont, "full_text": tokenizer.decode(ids + cont),
                          "min_greedy_margin": margin}, ensure_ascii=False))
        return 0
    if args.only in (None, "bundled"):
        config, w = load_model(args.bundled)
        name = os.path.basename(os.path.normpath(args.bundled))
        write_golden(os.path.join(GOLDEN, name), config, w, bpe.Tokenizer.load(args.bundled), BUNDLED_PROMPTS)
    if args.only in (None, "random-tiny"):
        make_random_tiny(args.bundled)
    return 0


if __name__ == "__main__":
    sys.exit(main())
