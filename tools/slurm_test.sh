#!/usr/bin/env bash
# The Slurm array example (examples/slurm/) run for real on a one-node Slurm on this machine: installs Debian's
# slurm-wlm and munge (apt-get; needs root), starts munged, slurmctld and slurmd on localhost with 2 CPUs, submits
# examples/slurm/generate.sbatch as an array of 2 shards on the bundled model, waits, merges with gpu-infer job merge,
# and checks the merged file against a single-process run of the same requests (every line equal but its timings).
# The example asks for one GPU per task (--gres=gpu:1); this node has none, so the copy submitted here leaves that
# line out: everything else is the example as shipped. Usage: tools/slurm_test.sh (about 20 s after the install).
# The test suite runs it (gpuinfer.hardening.SlurmExampleTest) under CI=true, where .ci/run installs the packages.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# the gpu-infer launcher the jobs run (the test suite passes one that runs its own classes)
gpu_infer="${GPU_INFER_CMD:-$root/bin/gpu-infer}"
work="${SLURM_TEST_DIR:-$root/target/slurm-test}"
log() { echo "slurm_test: $*" >&2; }

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    log "installing slurm-wlm and munge"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >&2
fi
rm -rf "$work" && mkdir -p "$work"/{spool,state,log,job}
host="$(hostname -s)"

# munge: a key, and the daemon (Slurm's authentication)
if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge && dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
fi
chown -R munge:munge /etc/munge /var/log/munge /var/lib/munge 2>/dev/null || true
chmod 400 /etc/munge/munge.key
mkdir -p /run/munge && chown munge:munge /run/munge
# munged is left running afterwards, as the package's service would be
if ! { munge -n | unmunge; } >/dev/null 2>&1; then
    runuser -u munge -- munged
fi
for _ in $(seq 20); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
    sleep 0.5
done
munge -n | unmunge >/dev/null

conf="$work/slurm.conf"
cat > "$conf" <<CONF
ClusterName=gpuinfertest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$conf"
# the daemons in the foreground of background jobs, so that their process ids are known and they end with the test
daemons=()
cleanup() {
    for pid in "${daemons[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
}
trap cleanup EXIT
log "starting slurmctld and slurmd on $host"
slurmctld -D -i >"$work/log/slurmctld.out" 2>&1 &
daemons+=($!)
slurmd -D >"$work/log/slurmd.out" 2>&1 &
daemons+=($!)
for _ in $(seq 60); do
    sinfo -h -o %T 2>/dev/null | grep -qx idle && break
    sleep 1
done
sinfo -h -o %T | grep -qx idle || { log "the node did not come up:"; sinfo >&2; tail "$work"/log/*.log >&2; exit 1; }

# the job: 60 requests of the bundled model
cd "$work/job"
"$gpu_infer" --version >/dev/null  # builds the jar once, outside the jobs
python3 - <<'PY'
import json
starts = ["The man said", "It was a", "In the morning", "She looked at the", "When the war", "The city of"]
with open("in.jsonl", "w") as f:
    for i in range(60):
        r = {"id": "s%d" % i, "prompt": starts[i % 6] + " old" * (i % 4), "max_tokens": 6 + i * 7 % 20}
        if i % 2:
            r.update(temperature=0.8, seed=i)
        f.write(json.dumps(r) + "\n")
PY
sed '/--gres=gpu/d' "$root/examples/slurm/generate.sbatch" > generate.sbatch
log "submitting the array of 2 shards"
GPU_INFER="$gpu_infer" GPU_INFER_ARGS="--impl cpu" sbatch --wait --array=0-1 generate.sbatch in.jsonl results >&2
"$gpu_infer" job merge --requests in.jsonl --shards 'results.*.jsonl' --out merged.jsonl >&2
"$gpu_infer" run --impl cpu --requests in.jsonl --results single.jsonl --batch 8 >&2
python3 - <<'PY'
import json, sys
def lines(name):
    out = []
    for line in open(name):
        r = json.loads(line)
        r.pop("timings")
        out.append(r)
    return out
merged, single = lines("merged.jsonl"), lines("single.jsonl")
single = sorted(single, key=lambda r: r["line"])
if merged != single:
    sys.exit("slurm_test: the merged shards differ from the single-process run")
print("slurm_test: OK: %d results from 2 Slurm array tasks, merged, equal to the single-process run" % len(merged))
PY
