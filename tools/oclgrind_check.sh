#!/usr/bin/env bash
# Runs the weight-format kernel variants under Oclgrind, a second OpenCL implementation that checks every memory
# access (out of bounds, uninitialised reads of buffers, data races), and fails on any diagnostic:
#   - gpu-infer run on the tiny GGUF models of every stored format (F32, F16, Q8_0, Q4_0) and with --weights bf16:
#     prefill (linear_nt; with a long prompt, dequantize_rows then linear_nt) and decode (linear_rows) per format,
#     embed per table format, layernorm, attention;
#   - gpu-infer compare on the Q4_0 and Q8_0 files: the teacher-forced forward of every position on the device;
#   - the Llama family's golden models (llama-tiny, qwen2-tiny): run --chat, run, and compare of the folder;
#   - LinearShapeSweep (src/test/java/gpuinfer/ops), twice (prefill through linear_nt, and through pack_rows +
#     linear_packed as on CPUs): the linear layer in every format over shapes one short of and
#     one past the kernels' tiles (rows for each of linear_rows, linear_nt and the widened prefill; 63, 65 and 1
#     outputs; K not a multiple of the vector width), every activation, against the CPU reference;
#   - TransformerOpsSweep (same folder): rmsnorm, swiglu, heads (grouped kv heads, rope in both pair orders, partial
#     rope, GPT-2's fused rows) and embed without a position table, over shapes one short of and one past each
#     work-group size, against the CPU reference.
# Oclgrind interprets kernels (thousands of times slower than PoCL): the models are the tiny golden ones.
#
# Needs: apt-get install oclgrind. Only Oclgrind is visible to the runs (OCL_ICD_VENDORS points at it alone).
#     tools/oclgrind_check.sh            (from the repository root; a few minutes)
#     tools/oclgrind_check.sh sweeps     (only the two shape sweeps; about a minute)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
icd_lib="${OCLGRIND_ICD:-/usr/lib/oclgrind/liboclgrind-rt-icd.so}"
[ -f "$icd_lib" ] || { echo "oclgrind_check: no $icd_lib; install Oclgrind (apt-get install oclgrind)" >&2; exit 2; }
vendors="$(mktemp -d)"
trap 'rm -rf "$vendors"' EXIT
echo "$icd_lib" > "$vendors/oclgrind.icd"
export OCL_ICD_VENDORS="$vendors" OCLGRIND_CHECK_API=1 OCLGRIND_DATA_RACES=1
golden=src/test/resources/golden/gguf/tiny
failed=0

check() {
    local what="$1"
    shift
    local log="$vendors/log.txt"
    local status=0
    bin/gpu-infer "$@" > "$log" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
        echo "FAIL  $what: exit status $status" && cat "$log" && failed=1 && return
    fi
    # Oclgrind reports on stderr and still exits 0: any of its diagnostics is a failure
    if grep -E -q "Invalid (read|write)|out of bounds|data race|Uninitialized|Oclgrind - |Kernel .* exceeded|error:" "$log"; then
        echo "FAIL  $what:" && cat "$log" && failed=1 && return
    fi
    grep -q "Oclgrind" "$log" || { echo "FAIL  $what did not run on Oclgrind:" && cat "$log" && failed=1 && return; }
    echo "ok    $what"
}

if [ "${1:-}" != "sweeps" ]; then
    for format in f32 f16 q8_0 q4_0; do
        check "run $format (prefill and decode)" run --model "$golden/tiny-$format.gguf" --prompt "The meaning of life" \
            --max-tokens 3 --temperature 0 --no-cache
    done
    long="one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen"
    for format in f16 q8_0 q4_0; do
        # a prompt of 16 tokens or more: prefill widens the weights first (dequantize_rows), then linear_nt in float32
        check "run $format, long prompt (widened prefill)" run --model "$golden/tiny-$format.gguf" --prompt "$long" \
            --max-tokens 2 --temperature 0 --no-cache
    done
    check "run --weights bf16" run --model "$golden/tiny-f32.gguf" --weights bf16 --prompt "The meaning" --max-tokens 2 --temperature 0 --no-cache
    for format in q8_0 q4_0; do
        check "compare $format (teacher-forced prefill, CPU against device)" compare --model "$golden/tiny-$format.gguf" \
            --prompt "The meaning of life" --max-tokens 2
    done
    # the Llama family: rmsnorm, rotary heads with grouped kv heads, swiglu, fused q/k/v, untied and tied heads
    llama=src/test/resources/golden/llama
    check "run llama-tiny q8_0 --chat (GQA, llama3 rope, interleaved pairs)" run --model "$llama/llama-tiny-q8_0.gguf" \
        --chat --prompt "Hi" --max-tokens 3 --temperature 0 --no-cache
    check "run qwen2-tiny f16 (q/k/v biases, halves, tied head)" run --model "$llama/qwen2-tiny-f16.gguf" \
        --prompt "one two three" --max-tokens 3 --temperature 0 --no-cache
    check "compare llama-tiny folder (CPU against device)" compare --model "$llama/llama-tiny" --prompt "Hello" --max-tokens 2
fi
# the shape sweeps run from the test classes and target/lib (built here if needed: "sweeps" alone runs no gpu-infer)
[ -d target/lib ] || (cd "$root" && mvn -q -B -DskipTests package >&2)
(cd "$root" && mvn -q -B test-compile >&2)
classpath="target/classes:target/test-classes:$(ls target/lib/*.jar | tr '\n' ':')"
java_home="$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")"

sweep() {
    local what="$1" main="$2"
    shift 2
    local sweep_log="$vendors/sweep.txt"
    local status=0
    LD_PRELOAD="$java_home/lib/libjsig.so" java "$@" -cp "$classpath" "$main" > "$sweep_log" 2>&1 || status=$?
    if [ "$status" -ne 0 ]; then
        echo "FAIL  $what: exit status $status" && cat "$sweep_log" && failed=1
    elif grep -E -q "Invalid (read|write)|out of bounds|data race|Uninitialized|Oclgrind - |Kernel .* exceeded" "$sweep_log"; then
        echo "FAIL  $what:" && cat "$sweep_log" && failed=1
    elif ! grep -q "device Oclgrind" "$sweep_log"; then
        echo "FAIL  $what did not run on Oclgrind:" && cat "$sweep_log" && failed=1
    else
        echo "ok    $what: $(tail -1 "$sweep_log")"
    fi
}

sweep "linear shape sweep" gpuinfer.ops.LinearShapeSweep
# Oclgrind reports a GPU, so prefill takes linear_nt there; the CPU path (pack_rows + linear_packed) forced on:
sweep "linear shape sweep, packed prefill" gpuinfer.ops.LinearShapeSweep -Dgpuinfer.linear.prefill=packed
sweep "transformer ops sweep" gpuinfer.ops.TransformerOpsSweep
exit $failed
