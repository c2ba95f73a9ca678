#!/usr/bin/env bash
# Regenerates src/test/resources/golden/gguf/: the GGUF golden files made by tools outside gpu-infer's Java code
# (an independent GGUF writer, llama.cpp's llama-quantize, llama.cpp's gguf-py, llama.cpp through node-llama-cpp).
# What each file is, and the tests that read them: src/test/resources/golden/gguf/README.md.
#
#     tools/golden_gguf.sh            (from the repository root; about 30 s)
#
# Needs (paths through environment variables, defaults in brackets):
#   LLAMA_CPP      llama.cpp's source with a native build in build/bin (llama-quantize, libggml-base.so)
#                  [/work/anchors/llama.cpp]
#   NODE_LLAMA_CPP_MODULES  a node_modules folder holding node-llama-cpp 3.21.1 [/work/anchors/node_modules]
#   PYTHON         Python 3 with NumPy [/usr/bin/python3]
#   a C compiler (cc), node 18+, and gpu-infer itself (bin/gpu-infer builds it).
# Getting llama.cpp as the golden files were made (node-llama-cpp ships llama.cpp's source as a git bundle):
#   mkdir -p /tmp/anchors && cd /tmp/anchors && npm i -E node-llama-cpp@3.21.1 --ignore-scripts
#   git clone node_modules/node-llama-cpp/llama/gitRelease.bundle llama.cpp && cd llama.cpp
#   cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DGGML_OPENMP=ON -DLLAMA_CURL=OFF \
#         -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF && ninja -C build -j2 llama-quantize
#   then LLAMA_CPP=/tmp/anchors/llama.cpp NODE_LLAMA_CPP_MODULES=/tmp/anchors/node_modules tools/golden_gguf.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
LLAMA_CPP="${LLAMA_CPP:-/work/anchors/llama.cpp}"
NODE_LLAMA_CPP_MODULES="${NODE_LLAMA_CPP_MODULES:-/work/anchors/node_modules}"
PYTHON="${PYTHON:-/usr/bin/python3}"
quantize="$LLAMA_CPP/build/bin/llama-quantize"
out="src/test/resources/golden/gguf"

fail() { echo "golden_gguf: $*" >&2; exit 1; }
[ -x "$quantize" ] || fail "no $quantize: build llama.cpp as the header of this script says, or set LLAMA_CPP"
[ -f "$LLAMA_CPP/gguf-py/gguf/quants.py" ] || fail "no gguf-py in $LLAMA_CPP/gguf-py"
[ -f "$NODE_LLAMA_CPP_MODULES/node-llama-cpp/package.json" ] || fail "no node-llama-cpp in $NODE_LLAMA_CPP_MODULES"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out/tiny" "$out/kquants" "$out/llama-cpp"

echo "== 1. reference.gguf: an independent writer; its conversions checked against ggml's C code"
cc -O2 -o "$tmp/ggml_quantize" tools/ggml_quantize.c -I"$LLAMA_CPP/ggml/include" -L"$LLAMA_CPP/build/bin" \
    -lggml-base -Wl,-rpath,"$LLAMA_CPP/build/bin"
"$PYTHON" tools/gguf_reference_writer.py --out "$out" --check-with-ggml "$tmp/ggml_quantize"

# Seeds: of seeds 1..7 (tiny) and 1..6 (kq), the ones whose greedy continuations in llama.cpp have the largest
# smallest top-1 minus top-2 margin over the formats (0.11 and 0.04 log-units), so that the greedy comparison of
# LlamaCppGoldenTest decides most steps instead of calling them ties.
echo "== 2. the tiny model (n_embd 64, n_inner 128, 2 layers): gpu-infer convert, and llama-quantize --pure from its F32 file"
"$PYTHON" tools/make_gguf_test_model.py "$tmp/tiny-hf" --n-embd 64 --n-layer 2 --n-head 4 --n-positions 64 \
    --n-inner 128 --vocab 512 --seed 6 --plant-edge-rows
for type in f32 f16 q8_0 q4_0; do
    bin/gpu-infer convert --model "$tmp/tiny-hf" --name tiny --type "$type" --out "$out/tiny/tiny-$type.gguf"
done
for type in q8_0 q4_0; do
    "$quantize" --pure "$out/tiny/tiny-f32.gguf" "$out/tiny/tiny-$type.llama-quantize.gguf" "$type" > "$tmp/quantize.log" 2>&1 \
        || { cat "$tmp/quantize.log"; fail "llama-quantize $type failed"; }
done

echo "== 3. K-quants: a model with n_embd 256 (1 layer), F32 by gpu-infer convert, then llama-quantize Q4_K_M / Q5_K_M"
"$PYTHON" tools/make_gguf_test_model.py "$tmp/kq-hf" --n-embd 256 --n-layer 1 --n-head 4 --n-positions 32 \
    --n-inner 256 --vocab 512 --seed 5
bin/gpu-infer convert --model "$tmp/kq-hf" --name kq --type f32 --out "$tmp/kq-f32.gguf"
for ftype in Q4_K_M Q5_K_M; do
    lower="$(echo "$ftype" | tr 'A-Z' 'a-z')"
    "$quantize" "$tmp/kq-f32.gguf" "$out/kquants/kq-$lower.gguf" "$ftype" > "$tmp/quantize.log" 2>&1 \
        || { cat "$tmp/quantize.log"; fail "llama-quantize $ftype failed"; }
    grep -E "converting to" "$tmp/quantize.log" | sed 's/^/    /'
done
PYTHONPATH="$LLAMA_CPP/gguf-py" "$PYTHON" tools/golden_kquant_rows.py "$out/kquants" \
    "$out/kquants/kq-q4_k_m.gguf" "$out/kquants/kq-q5_k_m.gguf"

echo "== 4. llama.cpp's log-probabilities and greedy continuations (node-llama-cpp, CPU, 1 thread, F32 KV cache)"
node tools/golden_llama_cpp.mjs --modules "$NODE_LLAMA_CPP_MODULES" "$out/llama-cpp" \
    "$out/tiny/tiny-f32.gguf" "$out/tiny/tiny-f16.gguf" "$out/tiny/tiny-q8_0.gguf" "$out/tiny/tiny-q4_0.gguf" \
    "$out/kquants/kq-q4_k_m.gguf" "$out/kquants/kq-q5_k_m.gguf"

echo "== sizes"
du -ab "$out" | sort -k2 | awk '{printf "%10d  %s\n", $1, $2}'
