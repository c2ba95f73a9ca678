#!/usr/bin/env python3
"""The GPU anchor: PyTorch's scaled_dot_product_attention on CUDA, on the shapes of `gpu-infer bench attention`.

B=1, H=12, D=64, float32, causal: prefill at S = 512, 1024, 2048, 4096 and decode (Sq = 1) at Sk = 4096, 32768.
Times are medians of CUDA-event timings after warm-up. The JSON has the rows `gpu-infer bench attention --anchor`
reads. Run on a machine with CUDA (tools/gpu-check.sh does):

    python3 tools/anchor_sdpa_cuda.py --json anchor-cuda.json
"""
import argparse
import json
import statistics

import torch
import torch.nn.functional as F


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--json")
    args = parser.parse_args()
    device = torch.device("cuda")
    rows = []
    shapes = [(s, s) for s in (512, 1024, 2048, 4096)] + [(1, 4096), (1, 32768)]
    for sq, sk in shapes:
        q = torch.randn(1, 12, sq, 64, device=device)
        k = torch.randn(1, 12, sk, 64, device=device)
        v = torch.randn(1, 12, sk, 64, device=device)
        # bottom-right causal: query i sees keys j <= i + sk - sq (Sq = 1 sees every key)
        mask = None if sq == 1 else torch.ones(sq, sk, dtype=torch.bool, device=device).tril(sk - sq)
        run = lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=False)
        for _ in range(3):
            run()
        torch.cuda.synchronize()
        times = []
        for _ in range(args.repeats):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            run()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
        ms = statistics.median(times)
        flops = (2 if sq == sk else 4) * 12 * sq * sk * 64
        row = {"name": ("prefill S=%d" % sq) if sq > 1 else ("decode Sk=%d" % sk), "B": 1, "H": 12, "Sq": sq, "Sk": sk,
               "D": 64, "causal": True, "median_ms": ms, "runs": times, "gflops": flops / ms / 1e6,
               "kv_gbps": (2 * 12 * sk * 64 * 4 / ms / 1e6) if sq == 1 else None}
        rows.append(row)
        print("%-16s %9.3f ms %9.1f GFLOP/s" % (row["name"], ms, row["gflops"]))
    doc = {"anchor": "pytorch %s scaled_dot_product_attention on %s" % (torch.__version__, torch.cuda.get_device_name()),
           "rows": rows}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=2)


if __name__ == "__main__":
    main()
