#!/usr/bin/env python3
"""The GPU anchor of the prefill GEMMs: cuBLAS through PyTorch (torch.matmul on CUDA), float32 with TF32 OFF.

The products are gpu-infer's: y[R, N] = x[R, K] @ W[N, K]^T, row-major float32, x and W ~ N(0, 1) as in
`gpu-infer bench run`'s GEMM table. TF32 is switched off (torch.backends.cuda.matmul.allow_tf32 = False and
set_float32_matmul_precision("highest")), so cuBLAS computes true float32 products as gpu-infer and CLBlast do; the
JSON says so ("tf32": false). Each shape: warm-up calls, then CUDA-event timings of single calls; medians. A few
outputs are checked against float64 on the CPU (so a fast wrong product is reported, not timed).

The shapes: from a model's config.json and a prompt length (the same rows as `bench run`: q/k/v fused or separate,
attention out, MLP up (and gate), down, and the head for every row), or given as R,N,K. The JSON's rows are what
`gpu-infer bench run --cublas` reads (matched by R, N and K). Run on a machine with CUDA (tools/gpu-check.sh does):

    python3 tools/anchor_gemm_cuda.py --model DIR --prompt-tokens 512 --json anchor-gemm-cuda.json
    python3 tools/anchor_gemm_cuda.py --shapes 512,2304,768 512,768,3072 --json anchor-gemm-cuda.json

--device cpu runs the same code on PyTorch's CPU matmul, timed with perf_counter: a check of this script on a
machine without CUDA, not an anchor.
"""
import argparse
import json
import os
import statistics
import sys
import time


def model_shapes(model_dir, tokens):
    """The distinct (label, R, N, K) of a prefill of `tokens` rows, as gpuinfer.bench.PrefillGemm.forModel lists them."""
    with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
        c = json.load(f)
    gpt2 = c.get("model_type") == "gpt2"
    width = c["n_embd"] if gpt2 else c["hidden_size"]
    heads = c["n_head"] if gpt2 else c["num_attention_heads"]
    kv_heads = heads if gpt2 else c.get("num_key_value_heads") or heads
    head_dim = width // heads if gpt2 else c.get("head_dim") or width // heads
    inner = (c.get("n_inner") or 4 * width) if gpt2 else c["intermediate_size"]
    vocab = c["vocab_size"]
    q, kv = heads * head_dim, kv_heads * head_dim
    products = []
    if gpt2:
        products.append(("q/k/v (fused)", tokens, q + 2 * kv, width))
    else:
        products += [("q", tokens, q, width), ("k, v", tokens, kv, width)]
    products.append(("attention out", tokens, width, q))
    products.append(("mlp up" if gpt2 else "mlp gate, up", tokens, inner, width))
    products.append(("mlp down", tokens, width, inner))
    products.append(("head (every row)", tokens, vocab, width))
    merged = {}
    for label, r, n, k in products:
        merged.setdefault((r, n, k), []).append(label)
    return [(", ".join(labels), r, n, k) for (r, n, k), labels in merged.items()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a model folder whose config.json gives the shapes")
    parser.add_argument("--prompt-tokens", type=int, default=512, help="R with --model (default 512)")
    parser.add_argument("--shapes", nargs="*", default=[], metavar="R,N,K")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--device", default="cuda", help="cuda (default), or cpu to check this script without CUDA")
    parser.add_argument("--json")
    args = parser.parse_args()
    shapes = model_shapes(args.model, args.prompt_tokens) if args.model else []
    for s in args.shapes:
        r, n, k = (int(v) for v in s.split(","))
        shapes.append(("R=%d N=%d K=%d" % (r, n, k), r, n, k))
    if not shapes:
        parser.error("give --model DIR or --shapes R,N,K ...")

    import torch  # after the argument checks, so that --help works without PyTorch

    cuda = args.device == "cuda"
    if cuda and not torch.cuda.is_available():
        sys.exit("anchor_gemm_cuda.py: PyTorch sees no CUDA device")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    device = torch.device(args.device)
    generator = torch.Generator(device=device).manual_seed(11)
    rows = []
    for label, r, n, k in shapes:
        x = torch.randn(r, k, device=device, generator=generator)
        w = torch.randn(n, k, device=device, generator=generator)
        y = torch.empty(r, n, device=device)
        run = lambda: torch.matmul(x, w.t(), out=y)  # noqa: E731
        for _ in range(args.warmup):
            run()
        if cuda:
            torch.cuda.synchronize()
        times = []
        for _ in range(args.repeats):
            if cuda:
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                run()
                end.record()
                torch.cuda.synchronize()
                times.append(start.elapsed_time(end))
            else:
                start = time.perf_counter()
                run()
                times.append((time.perf_counter() - start) * 1e3)
        # 64 outputs against float64 on the CPU, relative to sum |x*w| of each dot product (as gpu-infer checks)
        idx = torch.linspace(0, r * n - 1, steps=min(64, r * n), dtype=torch.long)
        rr, nn = (idx // n).tolist(), (idx % n).tolist()
        xs, ws = x[rr].double().cpu(), w[nn].double().cpu()
        want = (xs * ws).sum(dim=1)
        magnitude = (xs * ws).abs().sum(dim=1)
        got = y.reshape(-1)[idx.to(device)].double().cpu()
        worst = float(((got - want).abs() / magnitude).max())
        ms = statistics.median(times)
        gflops = 2.0 * r * n * k / ms / 1e6
        rows.append({"label": label, "R": r, "N": n, "K": k, "median_ms": ms, "runs_ms": times, "gflops": gflops,
                     "worst_error": worst})
        print("%-28s %6d %6d %6d %10.4f ms %9.1f GFLOP/s  worst error %.1e" % (label, r, n, k, ms, gflops, worst))
    where = "cuBLAS) on " + torch.cuda.get_device_name() if cuda else "CPU, a check of the script, not an anchor)"
    doc = {"anchor": "pytorch %s torch.matmul (%s, float32, TF32 off" % (torch.__version__, where),
           "device": args.device, "tf32": False, "layout": "y[R,N] = x[R,K] @ W[N,K]^T, float32, row-major", "rows": rows}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=2)


if __name__ == "__main__":
    main()
