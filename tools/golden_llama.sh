#!/usr/bin/env bash
# Regenerates src/test/resources/golden/llama/: random Llama-family models (llama with llama3 rope scaling and
# grouped-query attention; qwen2 with q/k/v biases and tied embeddings) as Hugging Face folders and GGUF files, and
# independent references on them: a float64 PyTorch forward of the Hugging Face folder, a float64 NumPy forward of
# each GGUF file in llama.cpp's conventions, and llama.cpp itself (node-llama-cpp). What each file is:
# src/test/resources/golden/llama/README.md.
#
#     tools/golden_llama.sh          (from the repository root; about 30 s)
#
# Needs: LLAMA_CPP (llama.cpp source with gguf-py and build/bin/llama-quantize) [/work/anchors/llama.cpp],
# NODE_LLAMA_CPP_MODULES (node-llama-cpp 3.21.1) [/work/anchors/node_modules], PYTHON (Python 3 with NumPy, PyTorch
# and the regex module: Debian python3-numpy python3-torch python3-regex) [/usr/bin/python3], node 18+.
# Getting llama.cpp: see tools/golden_gguf.sh's header.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
LLAMA_CPP="${LLAMA_CPP:-/work/anchors/llama.cpp}"
NODE_LLAMA_CPP_MODULES="${NODE_LLAMA_CPP_MODULES:-/work/anchors/node_modules}"
PYTHON="${PYTHON:-/usr/bin/python3}"
quantize="$LLAMA_CPP/build/bin/llama-quantize"
out="src/test/resources/golden/llama"

fail() { echo "golden_llama: $*" >&2; exit 1; }
[ -x "$quantize" ] || fail "no $quantize: build llama.cpp (tools/golden_gguf.sh's header), or set LLAMA_CPP"
[ -f "$LLAMA_CPP/gguf-py/gguf/quants.py" ] || fail "no gguf-py in $LLAMA_CPP/gguf-py"
[ -f "$NODE_LLAMA_CPP_MODULES/node-llama-cpp/package.json" ] || fail "no node-llama-cpp in $NODE_LLAMA_CPP_MODULES"
"$PYTHON" -c "import numpy, torch, regex" || fail "$PYTHON lacks numpy, torch or regex"
export PYTHONPATH="$LLAMA_CPP/gguf-py${PYTHONPATH:+:$PYTHONPATH}"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
rm -rf "$out/llama-tiny" "$out/qwen2-tiny" "$out/reference" "$out/llama-cpp" "$out"/*.gguf
mkdir -p "$out"

echo "== 1. Hugging Face folders (tools/make_random_llama.py)"
for m in llama-tiny qwen2-tiny; do
    "$PYTHON" tools/make_random_llama.py "$m" "$out/$m"
done

echo "== 2. GGUF F32, F16, Q8_0 (tools/llama_gguf_writer.py); Q8_0 compared with llama-quantize --pure of the F32 file"
for m in llama-tiny qwen2-tiny; do
    for t in f32 f16 q8_0; do
        "$PYTHON" tools/llama_gguf_writer.py "$out/$m" "$out/$m-$t.gguf" --type "$t"
    done
    "$quantize" --pure "$out/$m-f32.gguf" "$tmp/$m-q8_0.llama-quantize.gguf" Q8_0 > "$tmp/quantize.log" 2>&1 \
        || { cat "$tmp/quantize.log"; fail "llama-quantize failed"; }
    "$PYTHON" tools/golden_llama.py quantize-check "$out/$m-q8_0.gguf" "$tmp/$m-q8_0.llama-quantize.gguf" \
        "$tmp/quantize-check.json"
done

echo "== 3. float64 references: the Hugging Face folders (PyTorch) and every GGUF file (NumPy, llama.cpp conventions)"
"$PYTHON" tools/golden_llama.py reference "$out"

echo "== 4. llama.cpp (node-llama-cpp, CPU, 1 thread, F32 KV cache): log-probabilities and 8 greedy tokens"
for m in llama-tiny qwen2-tiny; do
    a="$("$PYTHON" tools/golden_llama.py prompt "$out/$m" a)"
    b="$("$PYTHON" tools/golden_llama.py prompt "$out/$m" b)"
    node tools/golden_llama_cpp.mjs --modules "$NODE_LLAMA_CPP_MODULES" --prompt "$a" --steps 8 \
        "$out/llama-cpp" "$out/$m-f32.gguf" "$out/$m-f16.gguf" "$out/$m-q8_0.gguf"
    node tools/golden_llama_cpp.mjs --modules "$NODE_LLAMA_CPP_MODULES" --prompt "$b" --steps 8 --suffix -bos \
        "$out/llama-cpp" "$out/$m-f32.gguf" "$out/$m-f16.gguf" "$out/$m-q8_0.gguf"
done

echo "== 5. golden.json"
"$PYTHON" tools/golden_llama.py summary "$out" "$tmp/quantize-check.json"

echo "== sizes"
du -ab "$out" | sort -k2 | awk '{printf "%10d  %s\n", $1, $2}'
