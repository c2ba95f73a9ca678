#!/usr/bin/env bash
# One call on a GPU machine (through the device tool): reports what the machine has, makes OpenCL work if it can,
# then runs devices, the device self-test, the attention and model checks, the benchmarks beside their anchors
# (attention with the GPU-shaped variants beside PyTorch's scaled_dot_product_attention on CUDA; the prefill GEMMs of
# a GPT-2 124M-shaped model with gpu-infer's linear kernel beside CLBlast's SGEMM on the same OpenCL device and
# cuBLAS through PyTorch, float32 with TF32 off), the device tests and a profile. Everything is written under $OUT
# (default target/gpu-check-out); summary.txt has every step's command, exit status and last lines.
#
# Prepare first, on a machine with network: tools/prepare_gpu_check.sh (carry dist/gpu-check). Then, e.g.
#   run(command="tools/gpu-check.sh", carry=["dist/gpu-check"], timeout_s=600)
#
# Environment:
#   GPU_CHECK_DEVICE    --device of every step (default gpu); auto checks the script on a machine without a GPU
#   GPU_CHECK_BUDGET_S  seconds the whole script may take (default 540, inside a 600 s device call); each step's
#                       timeout is cut to what is left, and a step with less than 20 s left is skipped (and logged)
#   GPU_CHECK_SKIP      step names to leave out, space-separated (e.g. "tests profile")
#   GPU_CHECK_QUICK=1   small shapes and the bundled model, anchors on PyTorch's CPU: a check of this script on a
#                       CPU runtime, not a measurement
#   STEP_TIMEOUT        the most seconds one step may take (default 240)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dist="$root/dist/gpu-check"
out="${OUT:-$root/target/gpu-check-out}"
device="${GPU_CHECK_DEVICE:-gpu}"
quick="${GPU_CHECK_QUICK:-0}"
budget="${GPU_CHECK_BUDGET_S:-540}"
started=$SECONDS
mkdir -p "$out"
cd "$root"
log() { echo "== $*" | tee -a "$out/summary.txt"; }
# step NAME COMMAND...: runs COMMAND with its output in NAME.txt, within the step timeout and the budget left
step() {
    local name="$1"; shift
    if [[ " ${GPU_CHECK_SKIP:-} " == *" $name "* ]]; then log "$name: skipped (GPU_CHECK_SKIP)"; return 0; fi
    local left=$(( budget - (SECONDS - started) ))
    if (( left < 20 )); then log "$name: skipped, ${left}s of the ${budget}s budget left"; return 0; fi
    local limit="${STEP_TIMEOUT:-240}"
    (( limit > left - 10 )) && limit=$(( left - 10 ))
    log "$name: $* (timeout ${limit}s)"
    local t0=$SECONDS
    timeout "$limit" "$@" >"$out/$name.txt" 2>&1
    local rc=$?
    log "$name exit $rc after $(( SECONDS - t0 ))s$( [ $rc -eq 124 ] && echo ' (timed out)')"
    tail -5 "$out/$name.txt" >>"$out/summary.txt"
    return 0
}

log "facts"
{ uname -a; cat /etc/os-release 2>/dev/null | head -2; nvidia-smi -L 2>&1 | head -4; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | head -3; } >>"$out/summary.txt"

# Java: the carried runtime, else one on PATH
java="$dist/jre/bin/java"
[ -x "$java" ] || java="$(command -v java || true)"
[ -n "$java" ] || { log "no Java: run tools/prepare_gpu_check.sh and carry dist/gpu-check"; exit 2; }
"$java" -version >>"$out/summary.txt" 2>&1
# the JVM's signal-chaining library, as bin/gpu-infer preloads it (see gpuinfer.cl.SignalChaining)
jsig="$(dirname "$(dirname "$(readlink -f "$java")")")/lib/libjsig.so"
[ -f "$jsig" ] && export LD_PRELOAD="$jsig${LD_PRELOAD:+:$LD_PRELOAD}"

# the OpenCL ICD loader: the system's, else the carried Debian package unpacked here
if ! ldconfig -p 2>/dev/null | grep -q 'libOpenCL\.so'; then
    deb="$(ls "$dist"/debs/ocl-icd-libopencl1*.deb 2>/dev/null | head -1)"
    if [ -n "$deb" ]; then
        mkdir -p "$out/icd" && dpkg-deb -x "$deb" "$out/icd"
        lib="$(dirname "$(find "$out/icd" -name 'libOpenCL.so.1*' | head -1)")"
        export GPU_INFER_OPENCL_LIBRARY="$lib/libOpenCL.so.1"
        export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"   # for libclblast, which links it
        log "ICD loader from the carried package: $GPU_INFER_OPENCL_LIBRARY"
    else
        log "no OpenCL ICD loader on this machine and none carried"
    fi
else
    log "ICD loader: $(ldconfig -p | grep 'libOpenCL\.so' | head -1)"
fi
# NVIDIA's OpenCL library without a registration file: write one
nvlib="$(ldconfig -p 2>/dev/null | grep -o '/[^ ]*libnvidia-opencl\.so[.0-9]*' | head -1)"
[ -n "$nvlib" ] || nvlib="$(find /usr/lib /usr/lib64 /usr/local -name 'libnvidia-opencl.so*' 2>/dev/null | head -1)"
log "NVIDIA OpenCL library: ${nvlib:-none}; /etc/OpenCL/vendors: $(ls /etc/OpenCL/vendors 2>/dev/null | tr '\n' ' ')"
if [ -n "$nvlib" ] && ! grep -qs nvidia /etc/OpenCL/vendors/*.icd; then
    mkdir -p "$out/vendors" && echo "$nvlib" >"$out/vendors/nvidia.icd"
    export OCL_ICD_VENDORS="$out/vendors"
    log "wrote $out/vendors/nvidia.icd; OCL_ICD_VENDORS=$OCL_ICD_VENDORS"
fi
# CLBlast for bench run's GEMM anchor: the system's, else the carried Debian package unpacked here
if ! ldconfig -p 2>/dev/null | grep -q 'libclblast\.so'; then
    deb="$(ls "$dist"/debs/libclblast1*.deb 2>/dev/null | head -1)"
    if [ -n "$deb" ]; then
        mkdir -p "$out/clblast" && dpkg-deb -x "$deb" "$out/clblast"
        export GPU_INFER_CLBLAST_LIBRARY="$(find "$out/clblast" -name 'libclblast.so.1*' | sort | head -1)"
        log "CLBlast from the carried package: $GPU_INFER_CLBLAST_LIBRARY"
    else
        log "no CLBlast on this machine and none carried: bench run says so and goes on"
    fi
else
    log "CLBlast: $(ldconfig -p | grep 'libclblast\.so' | head -1)"
fi

cp=( -cp "$dist/app/gpu-infer.jar:$dist/app/lib/*" )
gi=( "$java" "${cp[@]}" -Dgpuinfer.cacheDir="$out/cache" gpuinfer.cli.Main )
export GPU_INFER_HOME="$root"
# Python: the first of python3 and Debian's /usr/bin/python3 with PyTorch, else with NumPy (for the model)
python=""
for module in torch numpy; do
    for candidate in "$(command -v python3 || true)" /usr/bin/python3; do
        if [ -z "$python" ] && [ -x "$candidate" ] && "$candidate" -c "import $module" 2>/dev/null; then
            python="$candidate"
        fi
    done
done
cuda=0
if [ -n "$python" ] && "$python" -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
    cuda=1
fi
log "PyTorch with CUDA: $([ $cuda = 1 ] && echo yes || echo no) (${python:-no python3})"

# shapes: the full ones on a GPU; small ones (bundled model) when checking the script on a CPU runtime
if [ "$quick" = 1 ]; then
    attention_sizes=( --sizes 128 --decode-lengths 512 --repeat 2 --warmup 1 )
    profile_shape=1,4,4,128,128,64
    prompt=64; decode=4
else
    attention_sizes=()
    profile_shape=1,12,12,1024,1024,64
    prompt=512; decode=32
fi

step devices "${gi[@]}" devices --json
step devices-jocl "${gi[@]}" devices --binding jocl
# the device self-test: every kernel variant against the CPU reference on this driver (results in selftest.txt)
step selftest "${gi[@]}" selftest --json --device "$device"
step attention-naive "${gi[@]}" attention --shape 2,8,2,77,300,64 --causal --impl naive --check --device "$device"
step attention-flash "${gi[@]}" attention --shape 3,8,2,1,5000,128 --causal --kv-lens 5000,17,1 --impl flash --check --device "$device"
step attention-flash-gpu-shapes "${gi[@]}" attention --shape 2,8,2,300,300,64 --causal --kv-lens 300,1 --impl flash --check --kernels gpu --device "$device"
step attention-flash-jocl "${gi[@]}" attention --shape 2,8,2,300,300,64 --causal --impl flash --check --device "$device" --binding jocl
step compare-attention "${gi[@]}" compare attention --shape 1,8,8,512,512,64 --causal --b "device=$device,impl=flash" --json-out "$out/compare-attention.json"
step compare-model "${gi[@]}" compare --prompt "hello" --b "device=$device" --json-out "$out/compare-model.json"
step run "${gi[@]}" run --prompt "The meaning of life is" --max-tokens 40 --device "$device" --json
step attention-ring "${gi[@]}" attention --shape 1,8,8,4096,4096,64 --causal --ring 2 --check --device "$device"
step run-context-parallel "${gi[@]}" run --prompt "The history of the city begins with a small village on the river" \
    --max-tokens 8 --temperature 0 --context-parallel 2 --device "$device" --json

# attention: the GPU-shaped variants (--kernels gpu) beside scaled_dot_product_attention on CUDA
anchor_sdpa=()
if [ $cuda = 1 ]; then
    step anchor-sdpa-cuda "$python" tools/anchor_sdpa_cuda.py --json "$out/anchor-sdpa-cuda.json"
    [ -s "$out/anchor-sdpa-cuda.json" ] && anchor_sdpa=( --anchor "$out/anchor-sdpa-cuda.json" )
fi
step bench-attention "${gi[@]}" bench attention --device "$device" --kernels gpu ${attention_sizes[@]+"${attention_sizes[@]}"} ${anchor_sdpa[@]+"${anchor_sdpa[@]}"} \
    --json-out "$out/bench-attention.json"

# prefill GEMMs: a GPT-2 124M-shaped model with random weights (the bundled model's 4096-token vocabulary, so that
# no download is needed), gpu-infer's linear kernel beside CLBlast (same OpenCL device) and cuBLAS (PyTorch)
model="$root/models/gpt2-brown"
if [ "$quick" != 1 ]; then
    model="$out/gpt2-124m-shaped"
    step make-model "${python:-python3}" tools/make_random_gpt2.py "$model" --tokenizer "$root/models/gpt2-brown"
fi
anchor_gemm=()
if [ $cuda = 1 ] || [ "$quick" = 1 ]; then
    # quick: PyTorch's CPU matmul stands in for cuBLAS, only to check the plumbing (its JSON says so)
    step anchor-gemm-cuda "${python:-python3}" tools/anchor_gemm_cuda.py --model "$model" --prompt-tokens "$prompt" \
        $([ $cuda = 1 ] || echo --device cpu) --json "$out/anchor-gemm-cuda.json"
    [ -s "$out/anchor-gemm-cuda.json" ] && anchor_gemm=( --cublas "$out/anchor-gemm-cuda.json" )
fi
step bench-run "${gi[@]}" bench run --model "$model" --prompt-tokens "$prompt" --decode-tokens "$decode" --repeat 2 \
    --device "$device" ${anchor_gemm[@]+"${anchor_gemm[@]}"} --json-out "$out/bench-run.json"

step tests env GPU_INFER_TEST_DEVICE="$device" "$java" -Dgpuinfer.cacheDir="$out/test-cache" -jar "$dist"/testlib/junit-platform-console-standalone-*.jar \
    -cp "$dist/test-classes:$root/src/test/resources:$dist/app/gpu-infer.jar:$dist/app/lib/*:$dist/testlib/*" --select-package gpuinfer \
    --exclude-classname '.*(Fuzz|Soak|Interruption).*' --details=summary --disable-banner
step profile "${gi[@]}" profile attention --shape "$profile_shape" --causal --device "$device" --trace "$out/trace.json" --roofline "$out/roofline.svg"
# large, or rebuilt on every machine, or copies of what was carried: not worth bringing back
rm -rf "$out/gpt2-124m-shaped" "$out/icd" "$out/clblast" "$out/cache" "$out/test-cache"
log "done after $(( SECONDS - started ))s; files in $out"
