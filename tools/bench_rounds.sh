# Sourced by tools/bench_weights.sh and tools/bench_llama.sh: ROUNDS times (default 3), per format, interleaved,
# llama.cpp's llama-bench on a GGUF file (prefill -p 512; decode -n 64 after -d 512; 2 threads, as gpu-infer's PoCL
# device uses; llama.cpp's defaults otherwise: F16 KV cache, flash attention auto; 3 repetitions), then gpu-infer
# bench run on the same file (the same prefill and decode, median of 3 rounds), then the table of medians.
#   bench_rounds OUT_DIR LLAMA_BENCH FILE_PATTERN "EXTRA gpu-infer OPTIONS" FORMAT...
# FILE_PATTERN has %s for the format (e.g. "$out/tinyllama.%s.gguf").
bench_rounds() {
    local out="$1" bench="$2" pattern="$3" extra="$4"
    shift 4
    local formats=("$@") round format file
    rm -f "$out"/llama_*.json "$out"/gpu_infer_*.json
    for round in $(seq 1 "${ROUNDS:-3}"); do
        for format in "${formats[@]}"; do
            # shellcheck disable=SC2059
            file="$(printf "$pattern" "$format")"
            echo "== round $round, $format: llama-bench" >&2
            "$bench" -m "$file" -p 512 -n 0 -r 3 -t 2 -o json > "$out/llama_prefill.json" 2>"$out/llama.log"
            "$bench" -m "$file" -p 0 -n 64 -d 512 -r 3 -t 2 -o json > "$out/llama_decode.json" 2>>"$out/llama.log"
            /usr/bin/python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])) + json.load(open(sys.argv[2])), indent=1))' \
                "$out/llama_prefill.json" "$out/llama_decode.json" > "$out/llama_${format}_$round.json"
            echo "== round $round, $format: gpu-infer" >&2
            # shellcheck disable=SC2086
            bin/gpu-infer bench run --model "$file" --prompt-tokens 512 --decode-tokens 64 --repeat 3 --gemm-anchor none $extra \
                --machine "$out/machine.json" --llama-bench "$out/llama_${format}_$round.json" \
                --json-out "$out/gpu_infer_${format}_$round.json"
        done
    done
    echo
    /usr/bin/python3 tools/bench_weights_table.py "$out" "${formats[@]}"
}
