#!/usr/bin/python3
"""Golden attention tensors from an implementation independent of gpu-infer's Java code.

NumPy, float64, whole matrices: scores = scale * Q K^T, a boolean mask from np.tril and from the key-padding
lengths, softmax over the visible keys, then P V. Inputs are drawn as float32 and the reference is computed from
exactly those float32 values.

Scale: most cases write the scale they used into meta.json. The cases marked "default" leave it out, so that the
reader must pick the default itself (gpu-infer: 1/sqrt(D), AttentionProblem.defaultScale and the CLI without
--scale); their reference uses 1/sqrt(D) computed here in float64, not a value copied from gpu-infer.

Key padding (kv_lens, one length per batch entry): batch b sees only keys j < kv_lens[b], on top of the causal mask
(which stays aligned to Sk: query i sees keys j <= i + Sk - Sq). A row that sees no key has output 0 and
log-sum-exp -inf.

Writes src/test/resources/golden/attention/<case>/{q,k,v,out,lse}.npy and meta.json. Run from the repository root:

    /usr/bin/python3 tools/golden_attention.py

(Debian: apt-get install python3-numpy.) The files are small and committed; tests read them.
"""
import json
import os
import sys

import numpy as np

OUT_DIR = os.path.join("src", "test", "resources", "golden", "attention")

# Cases written before the default/kv_lens columns: their meta.json carries the scale (1/sqrt(D) rounded to float32
# unless given). Unchanged, so that regenerating leaves their files as they are.
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

DEFAULT = "default"  # scale left out of meta.json: the reader's default must be 1/sqrt(D)

# name: (B, H, Hkv, Sq, Sk, D, causal, scale or DEFAULT, kv_lens or None). D is not a square, so that 1/sqrt(D) is
# not a round number; every kv_lens case has a length of 1 and the full length Sk.
CASES_DEFAULT_SCALE_AND_PADDING = {
    "default_scale":        (2, 6, 2, 5, 12, 24, True, DEFAULT, None),
    "default_scale_cross":  (1, 3, 3, 9, 7, 40, False, DEFAULT, None),
    "kv_lens_causal_gqa":   (3, 4, 2, 6, 10, 16, True, DEFAULT, [1, 10, 7]),
    "kv_lens_cross_gqa":    (3, 6, 3, 7, 13, 32, False, 0.3, [13, 1, 5]),
    "kv_lens_decode":       (4, 4, 2, 1, 48, 16, True, DEFAULT, [48, 1, 17, 0]),
}


def attention(q, k, v, causal, scale, kv_lens=None):
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
    visible = np.broadcast_to(visible, (b, 1, sq, sk))
    if kv_lens is not None:
        padding = np.arange(sk)[None, :] < np.asarray(kv_lens)[:, None]  # [B, Sk]: key j of batch b is valid
        visible = visible & padding[:, None, None, :]
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


def write_case(name, tensors, meta):
    folder = os.path.join(OUT_DIR, name)
    os.makedirs(folder, exist_ok=True)
    for tensor_name, value in tensors:
        np.save(os.path.join(folder, tensor_name + ".npy"), np.ascontiguousarray(value, dtype=np.float32))
    with open(os.path.join(folder, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


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
        meta = {"B": b, "H": h, "Hkv": hkv, "Sq": sq, "Sk": sk, "D": d, "causal": causal, "scale": float(scale32),
                "generator": "tools/golden_attention.py (NumPy %s, float64)" % np.__version__}
        write_case(name, (("q", q), ("k", k), ("v", v), ("out", out), ("lse", lse)), meta)
        print("%-22s B=%d H=%d Hkv=%d Sq=%d Sk=%d D=%d causal=%s scale=%.6g" % (name, b, h, hkv, sq, sk, d, causal, scale32))

    # A generator of its own, so that these cases do not shift the random draws of the ones above.
    rng = np.random.default_rng(20270611)
    for name, (b, h, hkv, sq, sk, d, causal, scale, kv_lens) in CASES_DEFAULT_SCALE_AND_PADDING.items():
        q = rng.standard_normal((b, h, sq, d)).astype(np.float32)
        k = rng.standard_normal((b, hkv, sk, d)).astype(np.float32)
        v = rng.standard_normal((b, hkv, sk, d)).astype(np.float32)
        # the default computed here, in float64: 1/sqrt(D); an explicit scale is used as the float32 the reader parses
        used = 1.0 / np.sqrt(np.float64(d)) if scale == DEFAULT else np.float64(np.float32(scale))
        out, lse = attention(q.astype(np.float64), k.astype(np.float64), v.astype(np.float64), causal, used, kv_lens)
        meta = {"B": b, "H": h, "Hkv": hkv, "Sq": sq, "Sk": sk, "D": d, "causal": causal}
        if scale == DEFAULT:
            meta["scale_omitted"] = "the reader's default; the reference used 1/sqrt(D) = %.17g" % used
        else:
            meta["scale"] = float(used)
        if kv_lens is not None:
            meta["kv_lens"] = list(kv_lens)
        meta["generator"] = "tools/golden_attention.py (NumPy %s, float64)" % np.__version__
        write_case(name, (("q", q), ("k", k), ("v", v), ("out", out), ("lse", lse)), meta)
        print("%-22s B=%d H=%d Hkv=%d Sq=%d Sk=%d D=%d causal=%s scale=%s kv_lens=%s"
              % (name, b, h, hkv, sq, sk, d, causal, "1/sqrt(D)" if scale == DEFAULT else scale, kv_lens))
    return 0


if __name__ == "__main__":
    sys.exit(main())
