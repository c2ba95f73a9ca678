#!/usr/bin/python3
"""Dequantised rows of every K-quant tensor (Q4_K, Q5_K, Q6_K) of GGUF files, by llama.cpp's gguf-py.

gguf-py (the Python package in llama.cpp's source tree, gguf-py/; NumPy only) has its own NumPy implementation of
every ggml format (gguf.quants.dequantize), independent of gpu-infer's Java code and of ggml's C code. This script
reads each FILE with gguf-py's GGUFReader and, for every tensor stored as Q4_K, Q5_K or Q6_K, dequantises rows
0, 1, n/2 and n-1 (n = rows of the tensor) and writes them as float32 [4, row length]:

    OUT_DIR/<file name without .gguf>/<tensor name>.npy
    OUT_DIR/<file name without .gguf>/rows.json   {"file", "sha256", "tensors": {name: {"type", "shape", "rows"}}}

src/test/java/gpuinfer/weights/KQuantsGoldenTest.java compares gpu-infer's dequantisation of the same rows with them.

    PYTHONPATH=/path/to/llama.cpp/gguf-py /usr/bin/python3 tools/golden_kquant_rows.py OUT_DIR FILE.gguf [...]
"""
import hashlib
import json
import os
import sys

import numpy as np

try:
    from gguf import GGUFReader, GGMLQuantizationType
    from gguf.quants import dequantize
except ImportError:
    sys.exit("golden_kquant_rows: llama.cpp's gguf-py is needed: PYTHONPATH=<llama.cpp source>/gguf-py (see "
             "src/test/resources/golden/gguf/README.md for how to get llama.cpp's source)")

K_QUANTS = {GGMLQuantizationType.Q4_K: "Q4_K", GGMLQuantizationType.Q5_K: "Q5_K", GGMLQuantizationType.Q6_K: "Q6_K"}


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out = sys.argv[1]
    for path in sys.argv[2:]:
        reader = GGUFReader(path)
        with open(path, "rb") as f:
            sha256 = hashlib.sha256(f.read()).hexdigest()
        stem = os.path.basename(path)[:-len(".gguf")] if path.endswith(".gguf") else os.path.basename(path)
        folder = os.path.join(out, stem)
        os.makedirs(folder, exist_ok=True)
        index = {"file": os.path.basename(path), "sha256": sha256, "dequantizer": "gguf-py gguf.quants.dequantize",
                 "tensors": {}}
        for t in reader.tensors:
            if t.tensor_type not in K_QUANTS:
                continue
            cols = int(t.shape[0])                   # ne[0]: the row length
            n = int(np.prod(t.shape)) // cols        # rows
            raw = np.asarray(t.data).reshape(n, -1)  # stored bytes, one row per line
            rows = sorted({0, 1, n // 2, n - 1})
            values = dequantize(raw[rows], t.tensor_type).astype(np.float32).reshape(len(rows), cols)
            np.save(os.path.join(folder, t.name + ".npy"), values)
            index["tensors"][t.name] = {"type": K_QUANTS[t.tensor_type],
                                        "shape": [int(d) for d in reversed(t.shape)], "rows": rows}
            print("%s %s %s %s rows %s" % (stem, t.name, K_QUANTS[t.tensor_type], index["tensors"][t.name]["shape"],
                                           rows))
        with open(os.path.join(folder, "rows.json"), "w") as f:
            json.dump(index, f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
