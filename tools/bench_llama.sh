#!/usr/bin/env bash
# Llama-family benchmark: a random model with TinyLlama 1.1B's dimensions (22 layers, d 2048, 32 heads sharing 4
# key/value heads, MLP 5632, vocabulary 32000: the real Llama 2 tokenizer) as GGUF F16, Q8_0 and Q4_0, gpu-infer
# beside llama.cpp's llama-bench on the same files, in one session on one machine:
#   1. the model as a Hugging Face F16 folder (tools/make_random_llama.py tinyllama, ~2.2 GB, made once in
#      $BENCH_DIR) and its GGUF files by gpu-infer convert (the same converter users run)
#   2. the machine's limits (copy bandwidth, SGEMM rate): tools/bench_anchor_machine.py
#   3. ROUNDS times (default 3), per format, interleaved: llama-bench (prefill of 512 tokens; 64 decoded tokens after
#      a 512-token context; 2 threads, 3 repetitions), then gpu-infer bench run (the same prefill and decode, median
#      of 3 rounds); every figure is a median over the rounds (the machines are shared and noisy)
#   4. one table: tools/bench_weights_table.py (tokens/s, ratios to llama.cpp with their range, GB/s of weights
#      against the copy bandwidth)
# Usage: [ROUNDS=3] tools/bench_llama.sh [formats...]   (default: f16 q8_0 q4_0)
# Needs what tools/bench_weights.sh needs (llama.cpp's llama-bench, Debian's python3-numpy and python3-torch); the
# tokenizer is the real Llama 2 one committed under src/test/resources/tokenizers/llama2.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${BENCH_DIR:-$root/target/bench-llama}"
model="$out/tinyllama-random"
LLAMA_CPP="${LLAMA_CPP:-/work/anchors/llama.cpp}"
bench="$LLAMA_CPP/build/bin/llama-bench"
formats=("$@")
[ ${#formats[@]} -gt 0 ] || formats=(f16 q8_0 q4_0)

fail() { echo "bench_llama: $*" >&2; exit 2; }
[ -x "$bench" ] || fail "no llama-bench in $LLAMA_CPP/build/bin: build llama.cpp as tools/bench_weights.sh's header says, or set LLAMA_CPP"
cd "$root"
mkdir -p "$out"

if [ ! -f "$model/config.json" ]; then
    echo "== writing random TinyLlama-shaped weights to $model" >&2
    /usr/bin/python3 tools/make_random_llama.py tinyllama "$model" --dtype f16 >&2
    # the real Llama 2 (= TinyLlama) vocabulary, rebuilt from llama-tokenizer-js (src/test/resources/tokenizers/llama2)
    gunzip -c src/test/resources/tokenizers/llama2/tokenizer.json.gz > "$model/tokenizer.json"
fi
for format in "${formats[@]}"; do
    file="$out/tinyllama.$format.gguf"
    [ -f "$file" ] && [ "$file" -nt "$root/target/gpu-infer.jar" ] || bin/gpu-infer convert --model "$model" --type "$format" --out "$file" >&2
done

echo "== machine limits" >&2
/usr/bin/python3 tools/bench_anchor_machine.py --json "$out/machine.json" >&2

. tools/bench_rounds.sh
bench_rounds "$out" "$bench" "$out/tinyllama.%s.gguf" "" "${formats[@]}"
