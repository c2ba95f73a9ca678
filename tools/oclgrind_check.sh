#!/usr/bin/env bash
# Runs every kernel variant under Oclgrind, a second OpenCL implementation that checks every memory access of every
# work-item (out of bounds, misaligned), looks for data races and checks every OpenCL call, and fails on any of its
# diagnostics, on any result that differs from the CPU reference, and on a run that was not on Oclgrind.
#
# The checks are listed once, in src/test/java/gpuinfer/oclgrind/OclgrindChecks.java (the linear layer's and the
# transformer ops' shape sweeps, attention on every path, the tiny GPT-2 and Llama models, each with what it covers);
# OclgrindCheckTest runs them in child JVMs, two at a time, inside `mvn -B test` and so in CI. This script runs just
# that test class, with CI=true so that it fails instead of skipping when Oclgrind is missing, and prints the summary
# (each check with its time).
#
# Needs: apt-get install oclgrind (or OCLGRIND_ICD=/path/to/liboclgrind-rt-icd.so).
#     tools/oclgrind_check.sh                 every check (a few minutes on two cores)
#     tools/oclgrind_check.sh attention       only the checks whose name contains "attention" (linear, sweep, model, ...)
#     tools/oclgrind_check.sh linear -o       further arguments go to Maven (-o: offline)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
icd_lib="${OCLGRIND_ICD:-/usr/lib/oclgrind/liboclgrind-rt-icd.so}"
[ -f "$icd_lib" ] || { echo "oclgrind_check: no $icd_lib; install Oclgrind (apt-get install oclgrind) or set OCLGRIND_ICD" >&2; exit 2; }
only=()
if [ $# -gt 0 ] && [[ "$1" != -* ]]; then
    only=("-Dgpuinfer.oclgrind.only=$1")
    shift
fi
report=target/surefire-reports/gpuinfer.oclgrind.OclgrindCheckTest-output.txt
rm -f "$report"
status=0
CI=true mvn -q -B "$@" test -Dtest=OclgrindCheckTest "${only[@]}" || status=$?
[ -f "$report" ] && cat "$report"
exit $status
