#!/usr/bin/python3
"""Train the small bundled GPT-2 (Hugging Face layout) on the prepared corpus, on the CPU, reproducibly.

Inputs:
    --corpus DIR      train.txt and valid.txt from tools/prepare_corpus.py (documents separated by <|endoftext|>)
    --tokenizer DIR   vocab.json and merges.txt from `tools/bpe.py train` (copied into the output folder)
Output (--out DIR, e.g. models/gpt2-brown):
    config.json, model.safetensors (F32, tensor names as Hugging Face GPT-2 without the "transformer." prefix,
    no lm_head: it is tied to wte), vocab.json, merges.txt, training_log.json (losses per evaluation, the
    arguments, and greedy and sampled samples).

The architecture is GPT-2's: learned position embeddings, pre-LayerNorm blocks (eps 1e-5)
    x = x + attn(ln_1(x)); x = x + mlp(ln_2(x)); logits = ln_f(x) @ wte.weight^T
causal self-attention with scale 1/sqrt(head_dim), Conv1D projections stored (in, out) as in Hugging Face
(c_attn's 3C output columns are q, k, v, heads contiguous inside each), MLP c_fc (C -> 4C), GELU tanh
approximation ("gelu_new"), c_proj (4C -> C). No dropout. Initialisation as GPT-2: N(0, 0.02), c_proj weights
N(0, 0.02 / sqrt(2 n_layer)), biases 0, LayerNorm weight 1 bias 0.

Training: each step takes --batch random windows of n_positions + 1 tokens from the training token stream (the
documents encoded and joined with the <|endoftext|> id), AdamW (betas 0.9/0.95, weight decay 0.1 on matrices),
linear warmup then cosine decay to 10% of --lr. Fixed seeds make runs repeatable on the same machine and torch
build. The weights with the lowest validation loss are the ones written.

Run from the repository root; models/gpt2-brown was made with exactly this (about an hour on 2 shared cores):

    /usr/bin/python3 tools/train_model.py --corpus /tmp/gpt2-work/corpus --tokenizer /tmp/gpt2-work/tok4096 \\
        --out models/gpt2-brown --n-layer 4 --n-embd 128 --n-head 4 --n-positions 256 \\
        --batch 8 --steps 2400 --warmup 100 --lr 2e-3 --eval-every 300

training_log.json's final_train_loss is measured like the validation loss, on the first 4 x len(valid) training
tokens.

(Debian: apt-get install python3-torch python3-numpy python3-regex.)
"""
import argparse
import json
import math
import os
import shutil
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
from safetensors_io import write_safetensors  # noqa: E402


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Conv1D(torch.nn.Module):
    """Hugging Face's Conv1D: y = x @ weight + bias with weight stored (in, out)."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.empty(n_in, n_out))
        self.bias = torch.nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).reshape(*x.shape[:-1], -1)


class Attention(torch.nn.Module):
    def __init__(self, c, n_head):
        super().__init__()
        self.n_head = n_head
        self.c_attn = Conv1D(c, 3 * c)
        self.c_proj = Conv1D(c, c)

    def forward(self, x, mask):
        b, t, c = x.shape
        hd = c // self.n_head
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = (z.view(b, t, self.n_head, hd).transpose(1, 2) for z in (q, k, v))
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
        scores = scores.masked_fill(~mask[:t, :t], float("-inf"))
        y = torch.softmax(scores, dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).reshape(b, t, c))


class MLP(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = Conv1D(c, 4 * c)
        self.c_proj = Conv1D(4 * c, c)

    def forward(self, x):
        return self.c_proj(gelu_new(self.c_fc(x)))


class Block(torch.nn.Module):
    def __init__(self, c, n_head, eps):
        super().__init__()
        self.ln_1 = torch.nn.LayerNorm(c, eps=eps)
        self.attn = Attention(c, n_head)
        self.ln_2 = torch.nn.LayerNorm(c, eps=eps)
        self.mlp = MLP(c)

    def forward(self, x, mask):
        x = x + self.attn(self.ln_1(x), mask)
        return x + self.mlp(self.ln_2(x))


class GPT2(torch.nn.Module):
    """Parameter names equal Hugging Face GPT2Model's (wte.weight, h.0.attn.c_attn.weight, ..., ln_f.bias)."""

    def __init__(self, vocab_size, n_positions, n_embd, n_layer, n_head, eps=1e-5):
        super().__init__()
        self.wte = torch.nn.Embedding(vocab_size, n_embd)
        self.wpe = torch.nn.Embedding(n_positions, n_embd)
        self.h = torch.nn.ModuleList(Block(n_embd, n_head, eps) for _ in range(n_layer))
        self.ln_f = torch.nn.LayerNorm(n_embd, eps=eps)
        self.register_buffer("mask", torch.tril(torch.ones(n_positions, n_positions, dtype=torch.bool)),
                             persistent=False)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                torch.nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * n_layer))
            elif name.endswith(".weight") and p.dim() == 2:
                torch.nn.init.normal_(p, 0.0, 0.02)

    def forward(self, ids):
        t = ids.shape[1]
        x = self.wte(ids) + self.wpe(torch.arange(t))
        for block in self.h:
            x = block(x, self.mask)
        return self.ln_f(x) @ self.wte.weight.t()


def encode_corpus(tokenizer, path):
    with open(path, encoding="utf-8") as f:
        return np.array(tokenizer.encode(f.read()), dtype=np.int64)


@torch.no_grad()
def evaluate(model, data, n_positions, batch):
    """Mean cross-entropy over consecutive non-overlapping windows covering the whole token stream."""
    model.eval()
    starts = list(range(0, len(data) - n_positions - 1, n_positions))
    total, count = 0.0, 0
    for i in range(0, len(starts), batch):
        x = torch.stack([torch.from_numpy(data[s:s + n_positions]) for s in starts[i:i + batch]])
        y = torch.stack([torch.from_numpy(data[s + 1:s + n_positions + 1]) for s in starts[i:i + batch]])
        loss = torch.nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten(), reduction="sum")
        total += loss.item()
        count += y.numel()
    model.train()
    return total / count


@torch.no_grad()
def generate(model, ids, n, n_positions, temperature=0.0, generator=None):
    model.eval()
    ids = list(ids)
    for _ in range(n):
        logits = model(torch.tensor([ids[-n_positions:]]))[0, -1]
        if temperature == 0.0:
            ids.append(int(torch.argmax(logits)))
        else:
            probs = torch.softmax(logits / temperature, dim=-1)
            ids.append(int(torch.multinomial(probs, 1, generator=generator)))
    model.train()
    return ids


def export(model, args, vocab_size, eot_id, out):
    os.makedirs(out, exist_ok=True)
    tensors = {name: p.detach().numpy() for name, p in model.named_parameters()}
    write_safetensors(os.path.join(out, "model.safetensors"), tensors, "F32")
    config = {
        "model_type": "gpt2",
        "architectures": ["GPT2LMHeadModel"],
        "vocab_size": vocab_size,
        "n_positions": args.n_positions,
        "n_ctx": args.n_positions,
        "n_embd": args.n_embd,
        "n_layer": args.n_layer,
        "n_head": args.n_head,
        "n_inner": None,
        "layer_norm_epsilon": 1e-5,
        "activation_function": "gelu_new",
        "bos_token_id": eot_id,
        "eos_token_id": eot_id,
        "tie_word_embeddings": True,
        "scale_attn_weights": True,
        "torch_dtype": "float32",
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    for name in ("vocab.json", "merges.txt"):
        if os.path.abspath(os.path.join(args.tokenizer, name)) != os.path.abspath(os.path.join(out, name)):
            shutil.copyfile(os.path.join(args.tokenizer, name), os.path.join(out, name))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--tokenizer", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--n-layer", type=int, default=4)
    parser.add_argument("--n-embd", type=int, default=128)
    parser.add_argument("--n-head", type=int, default=4)
    parser.add_argument("--n-positions", type=int, default=256)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--eval-every", type=int, default=250)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cache", default="/tmp/gpt2-work/tokens", help="folder for the encoded corpus")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    tokenizer = bpe.Tokenizer.load(args.tokenizer)
    vocab_size = len(tokenizer.encoder)
    data = {}
    os.makedirs(args.cache, exist_ok=True)
    for split in ("train", "valid"):
        cached = os.path.join(args.cache, "%s-%d.npy" % (split, vocab_size))
        if not os.path.exists(cached):
            np.save(cached, encode_corpus(tokenizer, os.path.join(args.corpus, split + ".txt")))
        data[split] = np.load(cached)
        print("%s: %d tokens" % (split, len(data[split])), flush=True)

    model = GPT2(vocab_size, args.n_positions, args.n_embd, args.n_layer, args.n_head)
    n_params = sum(p.numel() for p in model.parameters())
    print("parameters: %d" % n_params, flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() != 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95))
    rng = np.random.default_rng(args.seed)
    train = data["train"]
    t = args.n_positions
    log = {"args": vars(args), "parameters": n_params, "evals": []}
    best = None
    start = time.time()
    running = None
    for step in range(1, args.steps + 1):
        if step <= args.warmup:
            lr = args.lr * step / args.warmup
        else:
            progress = (step - args.warmup) / max(1, args.steps - args.warmup)
            lr = args.lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))
        for group in opt.param_groups:
            group["lr"] = lr
        starts = rng.integers(0, len(train) - t - 1, size=args.batch)
        x = torch.from_numpy(np.stack([train[s:s + t] for s in starts]))
        y = torch.from_numpy(np.stack([train[s + 1:s + t + 1] for s in starts]))
        loss = torch.nn.functional.cross_entropy(model(x).flatten(0, 1), y.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if step % 50 == 0:
            print("step %d  loss %.4f  lr %.2e  %.0f s" % (step, running, lr, time.time() - start), flush=True)
        if step % args.eval_every == 0 or step == args.steps:
            val = evaluate(model, data["valid"], t, 32)
            log["evals"].append({"step": step, "train_loss_smoothed": running, "valid_loss": val,
                                 "seconds": time.time() - start})
            print("eval step %d  train %.4f  valid %.4f" % (step, running, val), flush=True)
            if best is None or val < best:
                best = val
                export(model, args, vocab_size, tokenizer.eot_id, args.out)
                log["best"] = log["evals"][-1]
    # samples from the written weights
    from safetensors_io import read_safetensors
    weights = read_safetensors(os.path.join(args.out, "model.safetensors"))
    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
    log["final_train_loss"] = evaluate(model, train[:len(data["valid"]) * 4], t, 32)
    log["final_valid_loss"] = evaluate(model, data["valid"], t, 32)
    gen = torch.Generator().manual_seed(args.seed)
    log["samples"] = []
    for prompt in ("The meaning of life is", "It was a dark and stormy night", "The President said"):
        ids = tokenizer.encode(prompt)
        greedy = tokenizer.decode(generate(model, ids, 40, t))
        sampled = tokenizer.decode(generate(model, ids, 40, t, temperature=0.8, generator=gen))
        log["samples"].append({"prompt": prompt, "greedy": greedy, "sampled_t0.8": sampled})
        print("greedy : %r\nsampled: %r" % (greedy, sampled), flush=True)
    with open(os.path.join(args.out, "training_log.json"), "w") as f:
        json.dump(log, f, indent=2)
        f.write("\n")
    print("best valid loss %.4f; final train %.4f valid %.4f; %.0f s" % (
        best, log["final_train_loss"], log["final_valid_loss"], time.time() - start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
