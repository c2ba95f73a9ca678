#!/bin/bash
# Submits a gpu-infer batch as a Slurm array of SHARDS tasks (one GPU each) and a merge job that runs once every
# task succeeded:
#   examples/slurm/submit.sh in.jsonl results 8     # -> results.0.jsonl .. results.7.jsonl, then results.jsonl
# Extra sbatch options for both jobs: SBATCH_ARGS (e.g. "--partition=gpu --time=02:00:00").
set -euo pipefail
requests=${1:?usage: examples/slurm/submit.sh REQUESTS.jsonl RESULTS_PREFIX SHARDS}
prefix=${2:?results prefix}
shards=${3:?number of shards}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck disable=SC2086
array=$(sbatch --parsable ${SBATCH_ARGS:-} --array="0-$(( shards - 1 ))" "$here/generate.sbatch" "$requests" "$prefix")
# shellcheck disable=SC2086
merge=$(sbatch --parsable ${SBATCH_ARGS:-} --dependency="afterok:$array" --job-name=gpu-infer-merge \
    --output="gpu-infer-merge-%j.log" --wrap "'$root/bin/gpu-infer' job merge --requests '$requests' \
    --shards '$prefix.*.jsonl' --out '$prefix.jsonl'")
echo "array job $array ($shards shards), merge job $merge -> $prefix.jsonl"
