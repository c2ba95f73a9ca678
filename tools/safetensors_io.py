#!/usr/bin/python3
"""A small reader and writer for the safetensors format, with NumPy only (the safetensors package is not needed).

Format: 8 bytes little-endian unsigned header length N, then N bytes of UTF-8 JSON
    {"name": {"dtype": "F32"|"F16"|"BF16", "shape": [...], "data_offsets": [begin, end]}, ...,
     "__metadata__": {"format": "pt"}}
(offsets relative to the start of the data section, which follows the header), then the raw little-endian data.
This writer packs the tensors in the order given, with no gaps, and pads the header with spaces to a multiple of 8.

BF16 is rounded from float32 to nearest, ties to even (as torch's .to(torch.bfloat16) does); F16 with NumPy's
float16 conversion (also round to nearest even). Library use:

    from safetensors_io import write_safetensors, read_safetensors, round_to_dtype
    write_safetensors("model.safetensors", {"wte.weight": array, ...}, dtype="F32")
    write_safetensors_streaming("big.safetensors", [(name, shape), ...], "F16", make)  # one tensor in memory
    tensors = read_safetensors("model.safetensors")   # name -> float32 numpy array

Command line (from the repository root): list the tensors of a file

    /usr/bin/python3 tools/safetensors_io.py models/gpt2-brown/model.safetensors
"""
import json
import struct
import sys

import numpy as np

DTYPES = ("F32", "F16", "BF16")


def f32_to_bf16_bits(values):
    """float32 array -> uint16 array of bfloat16 bits, round to nearest even (NaN stays NaN)."""
    bits = np.ascontiguousarray(values, dtype="<f4").view("<u4").astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(values)
    if nan.any():
        rounded = np.where(nan, (bits >> 16).astype(np.uint16) | 0x0040, rounded)
    return rounded


def bf16_bits_to_f32(bits):
    return (np.asarray(bits, dtype=np.uint32) << 16).view("<f4")


def round_to_dtype(values, dtype):
    """float32 values as they read back after storing them as dtype (returned as float32)."""
    values = np.asarray(values, dtype=np.float32)
    if dtype == "F32":
        return values.copy()
    if dtype == "F16":
        return values.astype("<f2").astype(np.float32)
    if dtype == "BF16":
        return bf16_bits_to_f32(f32_to_bf16_bits(values)).reshape(values.shape)
    raise ValueError("unknown dtype %r" % dtype)


def encode(values, dtype):
    values = np.ascontiguousarray(values, dtype=np.float32)
    if dtype == "F32":
        return values.astype("<f4").tobytes()
    if dtype == "F16":
        return values.astype("<f2").tobytes()
    if dtype == "BF16":
        return f32_to_bf16_bits(values).astype("<u2").tobytes()
    raise ValueError("unknown dtype %r" % dtype)


def write_safetensors(path, tensors, dtype="F32", metadata=None):
    """tensors: dict name -> array (any float type, converted to dtype), written in the dict's order."""
    specs = [(name, np.shape(value)) for name, value in tensors.items()]
    write_safetensors_streaming(path, specs, dtype, lambda name, shape: tensors[name], metadata)


def write_safetensors_streaming(path, specs, dtype, make, metadata=None):
    """Writes tensors one at a time, so that only one is in memory: specs is a list of (name, shape) in file
    order, make(name, shape) returns that tensor's values (any float type, converted to dtype)."""
    size = {"F32": 4, "F16": 2, "BF16": 2}[dtype]
    header = {}
    offset = 0
    for name, shape in specs:
        n = size * int(np.prod(shape, dtype=np.int64))
        header[name] = {"dtype": dtype, "shape": [int(d) for d in shape], "data_offsets": [offset, offset + n]}
        offset += n
    header["__metadata__"] = dict(metadata or {"format": "pt"})
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name, shape in specs:
            value = np.asarray(make(name, shape))
            if list(value.shape) != header[name]["shape"]:
                raise ValueError("%s: made shape %s, declared %s" % (name, value.shape, shape))
            f.write(encode(value, dtype))


def read_header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n).decode("utf-8")), 8 + n


def read_safetensors(path):
    """Returns dict name -> float32 numpy array, in file order."""
    header, start = read_header(path)
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = data[begin:end]
        if info["dtype"] == "F32":
            arr = np.frombuffer(raw, dtype="<f4")
        elif info["dtype"] == "F16":
            arr = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif info["dtype"] == "BF16":
            arr = bf16_bits_to_f32(np.frombuffer(raw, dtype="<u2"))
        else:
            raise ValueError("%s: tensor %s has unsupported dtype %s" % (path, name, info["dtype"]))
        out[name] = arr.reshape(info["shape"]).astype(np.float32)
    return out


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print("usage: safetensors_io.py FILE.safetensors...  (lists each file's tensors)")
        return 0 if len(sys.argv) >= 2 else 2
    for path in sys.argv[1:]:
        header, start = read_header(path)
        print("%s: header %d bytes, metadata %s" % (path, start - 8, header.get("__metadata__")))
        for name, info in header.items():
            if name != "__metadata__":
                print("  %-32s %-4s %-16s %s" % (name, info["dtype"], info["shape"], info["data_offsets"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
