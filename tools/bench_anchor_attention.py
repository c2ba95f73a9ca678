#!/usr/bin/python3
"""PyTorch attention anchor: the figures gpu-infer's attention benchmarks print beside their own.

Computes exactly gpu-infer's attention (README, `gpu-infer attention`) with plain PyTorch operations, float32:
scores = scale * Q K^T (scale 1/sqrt(D)), the causal mask bottom-right aligned (query i sees keys j <= i + Sk - Sq),
softmax over the keys, then P V. Four explicit steps: matmul, in-place mask (masked_fill), softmax, matmul. The
mask is a boolean [Sq, Sk] matrix built once per shape, outside the timed region; when it hides nothing (decode,
Sq = 1) it is not applied. This PyTorch (1.13) has no scaled_dot_product_attention; where one exists, an extra row
times it too.

Shapes (B=1, H=12, D=64, causal): prefill Sq = Sk = 512, 1024, 2048, 4096; decode Sq = 1 at Sk = 4096 and 32768.
Per shape: one untimed warm-up, then --repeats timed runs; the median is reported.
GFLOP/s counts 2*B*H*Sq*Sk*D for causal prefill (Sq = Sk: half the 4*B*H*Sq*Sk*D of the full matrix products) and
4*B*H*Sq*Sk*D for unmasked and decode shapes. Decode also reports the GB/s of reading K and V (2*B*H*Sk*D*4 bytes).
S = 4096 holds two 12 x 4096 x 4096 float32 matrices at once (scores and probabilities, 805 MB each); a shape that
does not fit the available memory is skipped, and a failed allocation is reported as a row with an "error", not a
crash.

Run from the repository root (about 30 seconds on 2 cores):

    /usr/bin/python3 tools/bench_anchor_attention.py [--repeats 10] [--json target/anchor-attention.json]
    /usr/bin/python3 tools/bench_anchor_attention.py --quick        # smoke test, tiny shapes, seconds

(Debian: apt-get install python3-torch libopenblas0-pthread; without OpenBLAS, PyTorch runs on the reference BLAS,
~50x slower, and the BLAS line says so.) The number of threads is set to the core count (--threads overrides).
"""
import argparse
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_common as bc  # noqa: E402

PREFILL = (512, 1024, 2048, 4096)
DECODE = (4096, 32768)


def shapes(quick):
    """(name, B, H, Sq, Sk, D, causal) of every row."""
    if quick:
        return [("prefill S=64", 1, 2, 64, 64, 64, True), ("prefill S=128", 1, 2, 128, 128, 64, True),
                ("decode Sk=256", 1, 2, 1, 256, 64, True)]
    rows = [("prefill S=%d" % s, 1, 12, s, s, 64, True) for s in PREFILL]
    rows += [("decode Sk=%d" % s, 1, 12, 1, s, 64, True) for s in DECODE]
    return rows


def flops(b, h, sq, sk, d, causal):
    if causal and sq == sk:
        return 2.0 * b * h * sq * sk * d
    if not causal or sq == 1:
        return 4.0 * b * h * sq * sk * d
    visible = sum(min(sk, max(0, i + sk - sq + 1)) for i in range(sq))  # other causal shapes: the visible pairs
    return 4.0 * b * h * visible * d


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=10, help="timed runs per shape (default 10)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs per shape first (default 1)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: the core count)")
    parser.add_argument("--quick", action="store_true", help="tiny shapes, 2 repeats: a smoke test")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    bc.add_openblas_argument(parser)
    args = parser.parse_args()
    if args.quick:
        args.repeats = min(args.repeats, 2)

    blas_decision = bc.prepare_openblas(args.openblas_coretype)
    import torch  # after prepare_openblas: OpenBLAS reads OPENBLAS_CORETYPE when it is loaded

    threads = args.threads or bc.core_count()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    torch.ones(8, 8) @ torch.ones(8, 8)  # load the BLAS before describing it
    blas = bc.blas_description()
    sdpa = getattr(torch.nn.functional, "scaled_dot_product_attention", None)

    print("anchor     pytorch %s matmul+mask+softmax+matmul, float32" % torch.__version__)
    print("cpu        %s, %d cores" % (bc.cpu_model(), bc.core_count()))
    print("threads    torch.set_num_threads(%d) -> torch.get_num_threads() = %d" % (threads, torch.get_num_threads()))
    print("blas       %s" % blas)
    print("openblas   %s" % blas_decision)
    print("env        %s" % bc.environment_line())
    load = bc.other_load()
    print("load       %s" % bc.load_line(load))
    print("sdpa       %s" % ("torch.nn.functional.scaled_dot_product_attention: extra rows" if sdpa else
                             "not in this PyTorch"))
    if args.quick and not self_check(torch):
        return 1
    print("runs       %d warm-up + %d timed per shape, medians" % (args.warmup, args.repeats))
    print()
    print("%-22s %5s %3s %6s %6s %3s %10s %10s %8s" % ("row", "B", "H", "Sq", "Sk", "D", "median ms", "GFLOP/s",
                                                        "KV GB/s"))

    rows = []
    for name, b, h, sq, sk, d, causal in shapes(args.quick):
        variants = [(name, "explicit")]
        if sdpa is not None:
            variants.append((name + " sdpa", "sdpa"))
        for row_name, kind in variants:
            row = {"name": row_name, "B": b, "H": h, "Sq": sq, "Sk": sk, "D": d, "causal": causal,
                   "median_ms": None, "runs": [], "gflops": None, "kv_gbps": None}
            rows.append(row)
            error = run_row(torch, row, kind, args, sdpa)
            if error is not None:
                row["error"] = error
                print("%-22s %5d %3d %6d %6d %3d  %s" % (row_name, b, h, sq, sk, d, error))
                continue
            print("%-22s %5d %3d %6d %6d %3d %10.3f %10.2f %8s" % (
                row_name, b, h, sq, sk, d, row["median_ms"], row["gflops"],
                "%.2f" % row["kv_gbps"] if row["kv_gbps"] is not None else "-"))

    result = {"anchor": "pytorch %s matmul+mask+softmax+matmul" % torch.__version__, "threads": threads,
              "blas": blas, "cpu": bc.cpu_model(), "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
              "other_load": load, "warmup": args.warmup, "repeats": args.repeats, "rows": rows}
    if args.json:
        bc.write_json(args.json, result)
        print("\nwrote %s" % args.json)
    return 1 if any("error" in r for r in rows) and not any(r["median_ms"] for r in rows) else 0


def explicit_attention(torch, q, k, v, hidden, scale):
    """The anchor: matmul, scale, mask (hidden: bool [Sq, Sk], True = masked, or None), softmax, matmul."""
    scores = torch.matmul(q, k.transpose(-1, -2))
    scores.mul_(scale)
    if hidden is not None:
        scores.masked_fill_(hidden, float("-inf"))
    probs = torch.softmax(scores, dim=-1)
    del scores
    return torch.matmul(probs, v)


def self_check(torch):
    """--quick: the anchor against tools/golden_attention.py's float64 NumPy attention (Sq < Sk, causal)."""
    import numpy as np
    import golden_attention
    b, h, sq, sk, d = 1, 3, 5, 9, 64
    q, k, v = (torch.randn(b, h, n, d) for n in (sq, sk, sk))
    hidden = torch.ones(sq, sk, dtype=torch.bool).triu_(sk - sq + 1)
    got = explicit_attention(torch, q, k, v, hidden, 1.0 / math.sqrt(d)).numpy()
    want, _ = golden_attention.attention(q.double().numpy(), k.double().numpy(), v.double().numpy(), True,
                                         np.float64(np.float32(1.0 / math.sqrt(d))))
    err = float(np.abs(got - want).max())
    print("check      against tools/golden_attention.py (Sq=5 Sk=9 causal): max abs %.2e: %s" %
          (err, "PASS" if err < 1e-5 else "FAIL"))
    return err < 1e-5


def run_row(torch, row, kind, args, sdpa):
    """Fill row's timings; return None, or a one-line error (skipped for memory, or the allocation failed)."""
    b, h, sq, sk, d, causal = row["B"], row["H"], row["Sq"], row["Sk"], row["D"], row["causal"]
    # q, k, v, out, plus the score and probability matrices alive together during softmax
    need = 4 * (2 * b * h * sq * d + 2 * b * h * sk * d + 2 * b * h * sq * sk)
    available = bc.mem_available_bytes()
    if available is not None and need > 0.9 * available:
        return "skipped: needs %.2f GB, %.2f GB available" % (need / 1e9, available / 1e9)
    try:
        q = torch.randn(b, h, sq, d)
        k = torch.randn(b, h, sk, d)
        v = torch.randn(b, h, sk, d)
        scale = 1.0 / math.sqrt(d)
        hidden = None
        if causal:
            # query i sees keys j <= i + (Sk - Sq): hide the strict upper triangle above that diagonal
            hidden = torch.ones(sq, sk, dtype=torch.bool).triu_(sk - sq + 1)
            if not bool(hidden.any()):
                hidden = None  # decode (Sq = 1): every key is visible

        if kind == "explicit":
            def step():
                return explicit_attention(torch, q, k, v, hidden, scale)
        else:
            def step():
                return sdpa(q, k, v, is_causal=causal and sq == sk, scale=scale) if causal and sq == sk else \
                    sdpa(q, k, v, scale=scale)
        with torch.inference_mode():
            runs = bc.measure(step, args.warmup, args.repeats)
    except (RuntimeError, MemoryError) as error:
        if bc.is_out_of_memory(error):
            return "out of memory: %s" % str(error).splitlines()[0][:160]
        raise
    finally:
        q = k = v = None
    med = bc.median(runs)
    row["runs"] = [round(t * 1e3, 4) for t in runs]
    row["median_ms"] = round(med * 1e3, 4)
    row["gflops"] = round(flops(b, h, sq, sk, d, causal) / med / 1e9, 3)
    if sq == 1:
        row["kv_gbps"] = round(2.0 * b * h * sk * d * 4 / med / 1e9, 3)
    return None


if __name__ == "__main__":
    sys.exit(main())
