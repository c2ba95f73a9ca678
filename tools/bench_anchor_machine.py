#!/usr/bin/python3
"""The machine's practical limits, measured in the same session as gpu-infer's benchmarks: a SGEMM rate and memory
bandwidth, the ceilings that gpu-infer's CPU-side figures (PoCL) are read against.

- SGEMM: NumPy float32 A @ B at 2048^3 (OpenBLAS), GFLOP/s = 2 n^3 / median time, on OpenBLAS's default thread count
  (the cores) and on one thread. Where OpenBLAS does not recognise the CPU and falls back to generic kernels (see
  --openblas-coretype; OpenBLAS 0.3.21 takes newer Xeons for a "Prescott"), the rate of OpenBLAS's own choice is
  measured too, in a child process, and reported as sgemm_gflops_detected_core.
- Memory: 1 GiB float32 arrays, touched before timing. Copy (np.copyto, counted as 2x the bytes: read + write) and a
  read-only sum (np.add.reduce), on one thread and on two (Python threads, each on its own half; NumPy releases the
  GIL for both), and PyTorch's own multi-threaded sum and copy for comparison.

Run from the repository root (about 30 seconds):

    /usr/bin/python3 tools/bench_anchor_machine.py [--repeats 10] [--json target/anchor-machine.json]
    /usr/bin/python3 tools/bench_anchor_machine.py --quick         # smoke test: 512^3, 64 MiB arrays

(Debian: apt-get install python3-numpy python3-torch libopenblas0-pthread.) All figures are medians.
"""
import argparse
import json
import os
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_common as bc  # noqa: E402


def sgemm(np, n, warmup, repeats):
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    c = np.empty((n, n), dtype=np.float32)
    runs = bc.measure(lambda: np.matmul(a, b, out=c), warmup, repeats)
    return 2.0 * n ** 3 / bc.median(runs) / 1e9, runs


def split_run(parts, fn):
    """Run fn(part) for every part on its own Python thread; NumPy drops the GIL inside."""
    threads = [threading.Thread(target=fn, args=(p,)) for p in parts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def bandwidth(np, nbytes, warmup, repeats, threads):
    n = nbytes // 4
    src = np.ones(n, dtype=np.float32)
    dst = np.zeros(n, dtype=np.float32)
    out = {}
    for t in threads:
        halves = list(zip(np.array_split(src, t), np.array_split(dst, t)))
        if t == 1:
            copy = lambda: np.copyto(dst, src)  # noqa: E731
            read = lambda: np.add.reduce(src)  # noqa: E731
        else:
            copy = lambda: split_run(halves, lambda p: np.copyto(p[1], p[0]))  # noqa: E731
            read = lambda: split_run(halves, lambda p: np.add.reduce(p[0]))  # noqa: E731
        out["copy_%dt" % t] = 2.0 * n * 4 / bc.median(bc.measure(copy, warmup, repeats)) / 1e9
        out["read_%dt" % t] = 1.0 * n * 4 / bc.median(bc.measure(read, warmup, repeats)) / 1e9
    return out


def torch_bandwidth(nbytes, warmup, repeats, threads):
    import torch
    torch.set_num_threads(threads)
    n = nbytes // 4
    src = torch.ones(n)
    dst = torch.zeros(n)
    copy = 2.0 * n * 4 / bc.median(bc.measure(lambda: dst.copy_(src), warmup, repeats)) / 1e9
    read = 1.0 * n * 4 / bc.median(bc.measure(lambda: src.sum(), warmup, repeats)) / 1e9
    return copy, read, torch.__version__, torch.get_num_threads()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=10, help="timed runs per figure (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first (default 2)")
    parser.add_argument("--quick", action="store_true", help="smoke test: 512^3 SGEMM, 64 MiB arrays, 3 repeats")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--sgemm-only", action="store_true", help=argparse.SUPPRESS)  # the child process
    bc.add_openblas_argument(parser)
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.warmup = min(args.repeats, 3), 1
    n = 512 if args.quick else 2048
    nbytes = (64 if args.quick else 1024) << 20

    blas_decision = bc.prepare_openblas(args.openblas_coretype)
    import numpy as np

    if args.sgemm_only:
        gflops, _ = sgemm(np, n, args.warmup, args.repeats)
        print(json.dumps({"sgemm_gflops": gflops, "blas": bc.blas_description()}))
        return 0

    cores = bc.core_count()
    np.ones((8, 8), np.float32) @ np.ones((8, 8), np.float32)  # load the BLAS before describing it
    blas = bc.blas_description()
    print("cpu        %s, %d cores" % (bc.cpu_model(), cores))
    print("blas       %s" % blas)
    print("openblas   %s" % blas_decision)
    print("env        %s" % bc.environment_line())
    load = bc.other_load()
    print("load       %s" % bc.load_line(load))
    print("runs       %d warm-up + %d timed, medians" % (args.warmup, args.repeats))
    print()

    result = {"sgemm_gflops": None, "sgemm_n": n, "copy_gbps": None, "read_gbps_1t": None, "read_gbps_2t": None,
              "blas": blas, "cpu": bc.cpu_model(), "cores": cores,
              "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"), "array_bytes": nbytes, "other_load": load}

    gflops, runs = sgemm(np, n, args.warmup, args.repeats)
    result["sgemm_gflops"] = round(gflops, 2)
    result["sgemm_runs_ms"] = [round(t * 1e3, 3) for t in runs]
    print("sgemm      %d^3 NumPy/OpenBLAS, %d threads: %8.1f GFLOP/s (median %.1f ms)" % (
        n, cores, gflops, bc.median(runs) * 1e3))
    if bc.openblas_set_threads(1):
        gflops1, runs1 = sgemm(np, n, args.warmup, args.repeats)
        bc.openblas_set_threads(cores)
        result["sgemm_gflops_1t"] = round(gflops1, 2)
        print("sgemm      %d^3 NumPy/OpenBLAS, 1 thread:  %8.1f GFLOP/s (median %.1f ms)" % (
            n, gflops1, bc.median(runs1) * 1e3))
    if "set OPENBLAS_CORETYPE" in blas_decision:  # auto replaced OpenBLAS's generic fallback: measure that too
        env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
        child = subprocess.run([sys.executable, os.path.abspath(__file__), "--sgemm-only", "--openblas-coretype",
                                "default", "--repeats", str(args.repeats), "--warmup", str(args.warmup)]
                               + (["--quick"] if args.quick else []), env=env, capture_output=True, text=True)
        if child.returncode == 0:
            other = json.loads(child.stdout.strip().splitlines()[-1])
            result["sgemm_gflops_detected_core"] = round(other["sgemm_gflops"], 2)
            result["blas_detected_core"] = other["blas"]
            print("sgemm      %d^3 with OpenBLAS's own core choice: %8.1f GFLOP/s (%s)" % (
                n, other["sgemm_gflops"], other["blas"].split(",")[1].strip()))
        else:
            print("sgemm      with OpenBLAS's own core choice: child failed: %s" % child.stderr.strip()[-300:])

    threads = [1, 2] if cores >= 2 else [1]
    bw = bandwidth(np, nbytes, args.warmup, args.repeats, threads)
    result["copy_gbps"] = round(bw["copy_1t"], 2)
    result["read_gbps_1t"] = round(bw["read_1t"], 2)
    result["read_gbps_2t"] = round(bw.get("read_2t", bw["read_1t"]), 2)
    if "copy_2t" in bw:
        result["copy_gbps_2t"] = round(bw["copy_2t"], 2)
    for t in threads:
        print("memory     %.0f MiB float32, NumPy, %d thread%s: copy %6.1f GB/s (read+write), read-only sum %6.1f GB/s"
              % (nbytes / 2 ** 20, t, "s" if t > 1 else " ", bw["copy_%dt" % t], bw["read_%dt" % t]))
    try:
        tcopy, tread, tversion, tthreads = torch_bandwidth(nbytes, args.warmup, args.repeats, cores)
        result["torch_copy_gbps"] = round(tcopy, 2)
        result["torch_read_gbps"] = round(tread, 2)
        result["torch_threads"] = tthreads
        print("memory     %.0f MiB float32, PyTorch %s, %d threads: copy %6.1f GB/s, sum %6.1f GB/s" % (
            nbytes / 2 ** 20, tversion, tthreads, tcopy, tread))
    except ImportError:
        print("memory     PyTorch not installed: no PyTorch figures")

    if args.json:
        bc.write_json(args.json, result)
        print("\nwrote %s" % args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
