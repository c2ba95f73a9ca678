#!/usr/bin/python3
"""Golden attention tensors from an implementation independent of gpu-infer's Java code.

NumPy, float64, whole matrices: scores = scale * Q K^T, a boolean mask from np.tril, softmax over the visible keys,
then P V. Inputs are drawn as float32 and the reference is computed from exactly those float32 values.

Writes src/test/resources/golden/attention/<case>/{q,k,v,out,lse}.npy and meta.json. Run from the repository root:

    /usr/bin/python3 tools/golden_attention.py

(Debian: apt-get install python3-numpy.) The files are small and committed; tests read them.
"""
import json
import os
import sys

import numpy as np

OUT_DIR = os.path.join("src", "test", "resources", "golden", "attention")

# name: (B, H, Hkv, Sq, Sk, D, causal, scale or None for 1/sqrt(D), largest |logit| or None)
CASES = {
    "basic":            (1, 2, 2, 5, 7, 8, False, None, None),
    "single":           (1, 1, 1, 1, 1, 4, True, None, None),
    "decode_cache":     (2, 4, 2, 3, 10, 16, True, None, None),
    "gqa_causal_scale": (1, 8, 2, 17, 33, 32, True, 0.3, None),
    "masked_rows":      (1, 2, 1, 9, 4, 8, True, None, None),
    "large_logits":     (1, 2, 2, 6, 6, 16, True, None, 1.0e4),
    "d128":             (1, 1, 1, 13, 29, 128, False, None, None),
}


def attention(q, k, v, causal, scale):
    """q [B,H,Sq,D], k and v [B,Hkv,Sk,D], float64. Returns out [B,H,Sq,D] and lse [B,H,Sq]."""
    b, h, sq, d = q.shape
    hkv, sk = k.shape[1], k.shape[2]
    group = h // hkv
    k_full = np.repeat(k, group, axis=1)  # kv head h // group serves query head h
    v_full = np.repeat(v, group, axis=1)
    scores = scale * np.einsum("bhid,bhjd->bhij", q, k_full)
    visible = np.ones((sq, sk), dtype=bool)
    if causal:
        visible = np.tril(visible, k=sk - sq)  # query i sees keys j <= i + (Sk - Sq)
    scores = np.where(visible, scores, -np.inf)
    row_max = scores.max(axis=-1, keepdims=True)
    empty = ~np.isfinite(row_max)  # rows that see no key
    row_max = np.where(empty, 0.0, row_max)
    weights = np.where(visible, np.exp(scores - row_max), 0.0)
    total = weights.sum(axis=-1, keepdims=True)
    probs = np.where(empty, 0.0, weights / np.where(empty, 1.0, total))
    out = np.einsum("bhij,bhjd->bhid", probs, v_full)
    lse = np.where(empty[..., 0], -np.inf, (row_max + np.log(np.where(empty, 1.0, total)))[..., 0])
    return out, lse


def main():
    rng = np.random.default_rng(20261128)
    for name, (b, h, hkv, sq, sk, d, causal, scale, largest_logit) in CASES.items():
        scale32 = np.float32(scale if scale is not None else 1.0 / np.sqrt(d))
        q = rng.standard_normal((b, h, sq, d)).astype(np.float32)
        k = rng.standard_normal((b, hkv, sk, d)).astype(np.float32)
        v = rng.standard_normal((b, hkv, sk, d)).astype(np.float32)
        if largest_logit is not None:
            logits = np.float64(scale32) * np.einsum("bhid,bhjd->bhij", q.astype(np.float64),
                                                     np.repeat(k, h // hkv, axis=1).astype(np.float64))
            q = (q * (largest_logit / np.abs(logits).max())).astype(np.float32)
        out, lse = attention(q.astype(np.float64), k.astype(np.float64), v.astype(np.float64), causal,
                             np.float64(scale32))
        folder = os.path.join(OUT_DIR, name)
        os.makedirs(folder, exist_ok=True)
        for tensor_name, value in (("q", q), ("k", k), ("v", v), ("out", out), ("lse", lse)):
            np.save(os.path.join(folder, tensor_name + ".npy"), np.ascontiguousarray(value, dtype=np.float32))
        meta = {"B": b, "H": h, "Hkv": hkv, "Sq": sq, "Sk": sk, "D": d, "causal": causal, "scale": float(scale32),
                "generator": "tools/golden_attention.py (NumPy %s, float64)" % np.__version__}
        with open(os.path.join(folder, "meta.json"), "w") as f:
            json.dump(meta, f, indent=2)
            f.write("\n")
        print("%-17s B=%d H=%d Hkv=%d Sq=%d Sk=%d D=%d causal=%s scale=%.6g" % (name, b, h, hkv, sq, sk, d, causal, scale32))
    return 0


if __name__ == "__main__":
    sys.exit(main())
