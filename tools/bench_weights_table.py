#!/usr/bin/python3
"""The table of tools/bench_weights.sh: per weight format, gpu-infer's prefill and decode beside llama.cpp's
llama-bench on the same GGUF file and PyTorch on the same (float32) weights, all from one session's JSON files in
BENCH_DIR (gpu_infer_<format>.json, llama_<format>.json, anchor_gpt2.json, machine.json).

    /usr/bin/python3 tools/bench_weights_table.py BENCH_DIR f32 f16 q8_0 q4_0 q4_k_m

Decode GB/s counts the bytes of weights one token reads (every matrix in its stored format, the vectors, one row of
each embedding table), over the copy bandwidth NumPy measured in the same session (the best of one and two threads).
Ratios are gpu-infer over the anchor: above 1 means gpu-infer is faster.
"""
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
    anchor = load(os.path.join(folder, "anchor_gpt2.json"))
    torch = {s["name"]: s for s in anchor["settings"]}

    print("machine: %s, %d cores; copy bandwidth %.1f GB/s, SGEMM %.0f GFLOP/s (%s)"
          % (machine.get("cpu", "?"), machine.get("cores", 0), copy, machine["sgemm_gflops"], machine.get("blas", "?")[:40]))
    print()
    header = ("| format | MB/token | gpu-infer prefill tok/s | llama.cpp prefill | x | gpu-infer decode tok/s "
              "| llama.cpp decode | x | decode GB/s | % of copy |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for fmt in formats:
        gi_path = os.path.join(folder, "gpu_infer_%s.json" % fmt)
        if not os.path.exists(gi_path):
            print("| %s | (not measured) |" % fmt)
            continue
        gi = load(gi_path)
        llama = gi.get("llamaCpp", {})
        lp = llama.get("prefillTokensPerSecond", float("nan"))
        ld = llama.get("decodeTokensPerSecond", float("nan"))
        print("| %s | %.1f | %.0f | %.0f | %.2f | %.1f | %.1f | %.2f | %.1f | %.0f%% |" % (
            fmt.upper(), gi["weightBytesPerToken"] / 1e6, gi["prefillTokensPerSecond"], lp, gi["prefillTokensPerSecond"] / lp,
            gi["decodeTokensPerSecond"], ld, gi["decodeTokensPerSecond"] / ld, gi["decodeGbps"], 100 * gi["decodeGbps"] / copy))
    print()
    f32 = os.path.join(folder, "gpu_infer_f32.json")
    if os.path.exists(f32):
        gi = load(f32)
        for name, s in torch.items():
            print("PyTorch %s (float32 weights): prefill %.0f tok/s, decode %.1f tok/s; gpu-infer F32 %.2fx prefill, %.2fx decode"
                  % (name, s["prefill_tokens_per_s"], s["decode_tokens_per_s"],
                     gi["prefillTokensPerSecond"] / s["prefill_tokens_per_s"], gi["decodeTokensPerSecond"] / s["decode_tokens_per_s"]))


if __name__ == "__main__":
    main()
