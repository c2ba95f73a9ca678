#!/usr/bin/env bash
# Attention benchmark beside its anchor, in one session on one machine:
#   1. the machine's practical limits: SGEMM rate and copy bandwidth (NumPy + OpenBLAS)
#   2. the PyTorch anchor: matmul + mask + softmax + matmul on the same shapes
#   3. gpu-infer bench attention, printing its figures, the naive path's and the anchor's side by side
# Usage: tools/bench_attention.sh [extra options for gpu-infer bench attention]
# Needs Debian's python3-torch, python3-numpy and libopenblas0-pthread; figures go to target/bench/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${BENCH_DIR:-$root/target/bench}"
mkdir -p "$out"
if ! /usr/bin/python3 -c 'import torch, numpy' 2>/dev/null; then
    echo "bench_attention.sh: the anchor needs PyTorch and NumPy from Debian: sudo apt-get install python3-torch python3-numpy libopenblas0-pthread" >&2
    exit 2
fi
cd "$root"
echo "== machine limits" >&2
/usr/bin/python3 tools/bench_anchor_machine.py --json "$out/machine.json" >&2
echo "== PyTorch anchor" >&2
/usr/bin/python3 tools/bench_anchor_attention.py --json "$out/anchor_attention.json" >&2
echo "== gpu-infer" >&2
bin/gpu-infer bench attention --anchor "$out/anchor_attention.json" --machine "$out/machine.json" \
    --json-out "$out/gpu_infer_attention.json" "$@"
