#!/usr/bin/python3
"""Golden rotary-embedding frequencies and rotations from PyTorch, independent of gpu-infer's Java code.

Inverse frequencies: the plain 1 / theta^(2i/d) of Hugging Face's `_compute_default_rope_parameters`, then Llama 3's
scaling as Hugging Face's `_compute_llama3_parameters` writes it (torch.where over wavelength bands), all in float64
(Hugging Face computes the default frequencies in float32; float64 here lets the Java side be checked to 1e-12).

Rotations of one head x [dims] (float32 values) at a few positions, in float64:
  halves       x * cos + rotate_half(x) * sin with cos, sin of cat([freqs, freqs]) (Hugging Face's apply_rotary_pos_emb)
  interleaved  view_as_real(view_as_complex(x.reshape(-1, 2)) * polar(1, angles)) (Meta's llama apply_rotary_emb)

Writes src/test/resources/golden/rope/rope.json (floats as Python's shortest round-trip repr, so the Java side reads
the float64 values exactly). Run from the repository root:

    /usr/bin/python3 tools/golden_rope.py

The file is small and committed; RopeTest reads it.
"""
import json
import math
import os

import numpy as np
import torch

OUT = os.path.join("src", "test", "resources", "golden", "rope", "rope.json")

# name: (dims, theta, llama3 scaling (factor, low_freq_factor, high_freq_factor, original_max_position_embeddings) or None)
CASES = {
    "d64_theta1e4": (64, 10000.0, None),
    "d128_theta1e4": (128, 10000.0, None),
    "d128_theta5e5": (128, 500000.0, None),
    "d128_theta5e5_llama3_8_1_4_8192": (128, 500000.0, (8.0, 1.0, 4.0, 8192)),   # Llama 3.1 8B
    "d64_theta5e5_llama3_32_1_4_8192": (64, 500000.0, (32.0, 1.0, 4.0, 8192)),   # Llama 3.2 1B
    "d64_theta1e4_llama3_8_1_4_64": (64, 10000.0, (8.0, 1.0, 4.0, 64)),          # the smooth band at small dims
    "d16_theta1e4_llama3_4_1_4_32": (16, 10000.0, (4.0, 1.0, 4.0, 32)),
}
POSITIONS = [0, 1, 100, 8191, 131071]


def default_inv_freq(dims, theta):
    """Hugging Face _compute_default_rope_parameters, in float64."""
    return 1.0 / (theta ** (torch.arange(0, dims, 2, dtype=torch.int64).to(torch.float64) / dims))


def llama3_inv_freq(inv_freq, factor, low_freq_factor, high_freq_factor, old_context_len):
    """Hugging Face _compute_llama3_parameters (transformers/modeling_rope_utils.py), unchanged apart from dtype."""
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor

    wavelen = 2 * math.pi / inv_freq
    # wavelen < high_freq_wavelen: do nothing
    # wavelen > low_freq_wavelen: divide by factor
    inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    # otherwise: interpolate between the two, using a smooth factor
    smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
    is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    inv_freq_llama = torch.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)
    return inv_freq_llama


def bands(inv_freq, llama3):
    """How many pairs Llama 3's scaling keeps, divides by the factor, and interpolates (the smooth band)."""
    if llama3 is None:
        return None
    _, low_freq_factor, high_freq_factor, old_context_len = llama3
    wavelen = 2 * math.pi / inv_freq
    kept = int((wavelen < old_context_len / high_freq_factor).sum())
    divided = int((wavelen > old_context_len / low_freq_factor).sum())
    return {"kept": kept, "divided": divided, "smoothed": len(inv_freq) - kept - divided}


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rotate_halves(x, inv_freq, positions):
    """x [dims] -> [len(positions), dims]: Hugging Face apply_rotary_pos_emb."""
    freqs = torch.outer(torch.tensor(positions, dtype=torch.float64), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return x * emb.cos() + rotate_half(x) * emb.sin()


def rotate_interleaved(x, inv_freq, positions):
    """x [dims] -> [len(positions), dims]: Meta's llama apply_rotary_emb (complex multiplication)."""
    freqs = torch.outer(torch.tensor(positions, dtype=torch.float64), inv_freq)
    freqs_cis = torch.polar(torch.ones_like(freqs), freqs)
    x_complex = torch.view_as_complex(x.reshape(-1, 2).contiguous())
    return torch.view_as_real(x_complex * freqs_cis).flatten(1)


def main():
    rng = np.random.default_rng(20240723)
    cases = []
    for name, (dims, theta, llama3) in CASES.items():
        plain = default_inv_freq(dims, theta)
        inv_freq = plain if llama3 is None else llama3_inv_freq(plain, *llama3)
        x32 = rng.standard_normal(dims).astype(np.float32)
        x = torch.from_numpy(x32.astype(np.float64))
        cases.append({
            "name": name,
            "dims": dims,
            "theta": theta,
            "llama3": None if llama3 is None else {
                "factor": llama3[0], "low_freq_factor": llama3[1], "high_freq_factor": llama3[2],
                "original_max_position_embeddings": llama3[3]},
            "bands": bands(plain, llama3),
            "inverse_frequency": [float(f) for f in inv_freq],
            "x": [float(v) for v in x32],
            "positions": POSITIONS,
            "halves": [[float(v) for v in row] for row in rotate_halves(x, inv_freq, POSITIONS)],
            "interleaved": [[float(v) for v in row] for row in rotate_interleaved(x, inv_freq, POSITIONS)],
        })
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"generator": "tools/golden_rope.py", "torch": torch.__version__, "cases": cases}, f,
                  separators=(",", ":"))
        f.write("\n")
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
