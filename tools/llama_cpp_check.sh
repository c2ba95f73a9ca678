#!/usr/bin/env bash
# gpu-infer against llama.cpp on any GPT-2 GGUF files (e.g. the 124M-shaped ones of tools/bench_weights.sh): llama.cpp
# (through node-llama-cpp, as tools/golden_llama_cpp.mjs runs it) and gpu-infer evaluate the same prompt token ids;
# the NMSE of their log-probabilities at every prompt position, the largest difference and the argmax agreement are
# printed per file. The committed tiny files are checked the same way by LlamaCppGoldenTest; this is for files too
# large to commit.
#
#     tools/llama_cpp_check.sh FILE.gguf [FILE.gguf ...]
#
# Needs node-llama-cpp 3.21.1 (NODE_LLAMA_CPP_MODULES, see tools/golden_llama_cpp.mjs) and NumPy (/usr/bin/python3).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
[ $# -gt 0 ] || { echo "usage: tools/llama_cpp_check.sh FILE.gguf [FILE.gguf ...]" >&2; exit 2; }
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
node tools/golden_llama_cpp.mjs "$out" "$@" >&2
for file in "$@"; do
    stem="$(basename "$file" .gguf)"
    ids="$(/usr/bin/python3 -c 'import json,sys; print(",".join(map(str, json.load(open(sys.argv[1]))["prompt_ids"])))' "$out/$stem/greedy.json")"
    bin/gpu-infer run --model "$file" --prompt-ids "$ids" --max-tokens 1 --temperature 0 \
        --logits-out "$out/$stem/gpu_infer_logits.npy" > /dev/null 2>"$out/$stem/gpu_infer.log" \
        || { cat "$out/$stem/gpu_infer.log" >&2; exit 1; }
    /usr/bin/python3 - "$stem" "$out/$stem/logprobs.npy" "$out/$stem/gpu_infer_logits.npy" <<'PY'
import sys
import numpy as np
stem, llama_path, ours_path = sys.argv[1:4]
want = np.load(llama_path).astype(np.float64)
logits = np.load(ours_path).astype(np.float64)
got = logits - logits.max(axis=1, keepdims=True)
got = got - np.log(np.exp(got).sum(axis=1, keepdims=True))
nmse = ((got - want) ** 2).sum() / (want ** 2).sum()
agree = (got.argmax(axis=1) == want.argmax(axis=1)).mean()
print("%-28s positions %d  NMSE %.3e  max |d log p| %.3e  argmax agreement %.0f%%"
      % (stem, want.shape[0], nmse, np.abs(got - want).max(), 100 * agree))
PY
done
