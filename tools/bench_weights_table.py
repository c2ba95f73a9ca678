#!/usr/bin/python3
"""The table of tools/bench_weights.sh: per weight format, gpu-infer's prefill and decode beside llama.cpp's
llama-bench on the same GGUF file and PyTorch on the same (float32) weights, all from one session's JSON files in
BENCH_DIR (gpu_infer_<format>_<round>.json with llama.cpp's figures of the same round, anchor_gpt2.json,
machine.json). Every figure is the median over the rounds; each ratio is the median of the rounds' ratios, with
their range.

    /usr/bin/python3 tools/bench_weights_table.py BENCH_DIR f32 f16 q8_0 q4_0 q4_k_m

Decode GB/s counts the bytes of weights one token reads (every matrix in its stored format, the vectors, one row of
each embedding table), over the copy bandwidth NumPy measured in the same session (the best of one and two threads).
Ratios are gpu-infer over the anchor: above 1 means gpu-infer is faster.
"""
import glob
import json
import os
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    folder = sys.argv[1]
    formats = sys.argv[2:]
    machine = load(os.path.join(folder, "machine.json"))
    copy = max(machine.get("copy_gbps", 0), machine.get("copy_gbps_2t", 0))
    anchor_file = os.path.join(folder, "anchor_gpt2.json")  # the PyTorch anchor of bench_weights.sh (GPT-2 only)
    torch = {s["name"]: s for s in load(anchor_file)["settings"]} if os.path.exists(anchor_file) else {}

    print("machine: %s, %d cores; copy bandwidth %.1f GB/s, SGEMM %.0f GFLOP/s (%s)"
          % (machine.get("cpu", "?"), machine.get("cores", 0), copy, machine["sgemm_gflops"], machine.get("blas", "?")[:40]))
    print()
    header = ("| format | MB/token | gpu-infer prefill tok/s | llama.cpp prefill | x (range) | gpu-infer decode tok/s "
              "| llama.cpp decode | x (range) | decode GB/s | % of copy |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    f32_rounds = []
    for fmt in formats:
        rounds = sorted(glob.glob(os.path.join(folder, "gpu_infer_%s_*.json" % fmt)))
        if not rounds:
            print("| %s | (not measured) |" % fmt.upper())
            continue
        runs = [load(r) for r in rounds]
        if fmt == "f32":
            f32_rounds = runs
        gp = [r["prefillTokensPerSecond"] for r in runs]
        gd = [r["decodeTokensPerSecond"] for r in runs]
        lp = [r["llamaCpp"]["prefillTokensPerSecond"] for r in runs]
        ld = [r["llamaCpp"]["decodeTokensPerSecond"] for r in runs]
        xp = [a / b for a, b in zip(gp, lp)]
        xd = [a / b for a, b in zip(gd, ld)]
        gbps = median([r["decodeGbps"] for r in runs])
        print("| %s | %.1f | %.0f | %.0f | %.2f (%.2f-%.2f) | %.1f | %.1f | %.2f (%.2f-%.2f) | %.1f | %.0f%% |" % (
            fmt.upper(), runs[0]["weightBytesPerToken"] / 1e6, median(gp), median(lp), median(xp), min(xp), max(xp),
            median(gd), median(ld), median(xd), min(xd), max(xd), gbps, 100 * gbps / copy))
    print()
    print("%d round(s) per format" % max(len(glob.glob(os.path.join(folder, "gpu_infer_%s_*.json" % f))) for f in formats))
    if f32_rounds:
        gp = median([r["prefillTokensPerSecond"] for r in f32_rounds])
        gd = median([r["decodeTokensPerSecond"] for r in f32_rounds])
        for name, s in torch.items():
            print("PyTorch %s (float32 weights): prefill %.0f tok/s, decode %.1f tok/s; gpu-infer F32 %.2fx prefill, %.2fx decode"
                  % (name, s["prefill_tokens_per_s"], s["decode_tokens_per_s"], gp / s["prefill_tokens_per_s"],
                     gd / s["decode_tokens_per_s"]))


def median(values):
    values = sorted(values)
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


if __name__ == "__main__":
    main()
