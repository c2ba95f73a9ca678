#!/usr/bin/env bash
# One call on a GPU machine (through the device tool): reports what the machine has, makes OpenCL work if it can,
# then runs devices, the device tests, the attention and model checks, and the benchmarks beside PyTorch's
# scaled_dot_product_attention on CUDA. Everything is written under $OUT (default target/gpu-check-out).
# Prepare first, on a machine with network: tools/prepare_gpu_check.sh (carry dist/gpu-check).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dist="$root/dist/gpu-check"
out="${OUT:-$root/target/gpu-check-out}"
device="${GPU_CHECK_DEVICE:-gpu}"   # GPU_CHECK_DEVICE=auto checks the script on a machine without a GPU
mkdir -p "$out"
cd "$root"
log() { echo "== $*" | tee -a "$out/summary.txt"; }
step() { local name="$1"; shift; log "$name: $*"; timeout "${STEP_TIMEOUT:-240}" "$@" >"$out/$name.txt" 2>&1; local rc=$?; log "$name exit $rc"; tail -5 "$out/$name.txt" >>"$out/summary.txt"; }

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

cp=( -cp "$dist/app/gpu-infer.jar:$dist/app/lib/*" )
gi() { "$java" "${cp[@]}" -Dgpuinfer.cacheDir="$out/cache" gpuinfer.cli.Main "$@"; }
export GPU_INFER_HOME="$root"

step devices gi devices --json
step devices-jocl gi devices --binding jocl
step attention-naive gi attention --shape 2,8,2,77,300,64 --causal --impl naive --check --device "$device"
step attention-flash gi attention --shape 3,8,2,1,5000,128 --causal --kv-lens 5000,17,1 --impl flash --check --device "$device"
step attention-flash-jocl gi attention --shape 2,8,2,300,300,64 --causal --impl flash --check --device "$device" --binding jocl
step compare-attention gi compare attention --shape 1,8,8,512,512,64 --causal --b "device=$device,impl=flash" --report "$out/compare-attention.json"
step compare-model gi compare --prompt "hello" --b "device=$device" --report "$out/compare-model.json"
step run gi run --prompt "The meaning of life is" --max-tokens 40 --device "$device" --json
step tests env GPU_INFER_TEST_DEVICE="$device" "$java" -Dgpuinfer.cacheDir="$out/test-cache" -jar "$dist"/testlib/junit-platform-console-standalone-*.jar \
    -cp "$dist/test-classes:$dist/app/gpu-infer.jar:$dist/app/lib/*:$dist/testlib/*" --select-package gpuinfer \
    --exclude-classname '.*(Fuzz|Soak|Interruption).*' --details=summary --disable-banner
if command -v python3 >/dev/null && python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
    step anchor-cuda python3 tools/anchor_sdpa_cuda.py --json "$out/anchor-cuda.json"
    step bench-attention gi bench attention --device "$device" --anchor "$out/anchor-cuda.json" --json "$out/bench-attention.json"
else
    step bench-attention gi bench attention --device "$device" --json "$out/bench-attention.json"
fi
step profile gi profile attention --shape 1,12,12,1024,1024,64 --causal --device "$device" --trace "$out/trace.json" --roofline "$out/roofline.svg"
log "done; files in $out"
