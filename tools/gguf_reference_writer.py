#!/usr/bin/python3
"""An independent GGUF v3 writer and the reference file that tests gpu-infer's GGUF reader, writer and quantisers.

Written from the GGUF specification (ggml's docs/gguf.md) with NumPy only; it shares no code with gpu-infer's Java
side, nor with llama.cpp's gguf-py. Layout, all little-endian:

    "GGUF", uint32 version (3), uint64 tensor count, uint64 metadata count
    metadata:  per entry a string key (uint64 byte length + UTF-8), uint32 value type, the value; an array is
               uint32 element type, uint64 count, then the elements (which may be arrays themselves)
    tensors:   per tensor a string name, uint32 n_dims, uint64 ne[n_dims] (ne[0] the innermost, contiguous
               dimension), uint32 ggml type, uint64 offset in the data section (a multiple of the alignment)
    padding to general.alignment (default 32), then the data section: each tensor at its offset, tensors in
               order, each followed by zero padding to the alignment (as llama.cpp and gguf-py write it)

Value types: 0 uint8, 1 int8, 2 uint16, 3 int16, 4 uint32, 5 int32, 6 float32, 7 bool, 8 string, 9 array,
10 uint64, 11 int64, 12 float64. Tensor types written here: 0 F32, 1 F16, 30 BF16, 8 Q8_0, 2 Q4_0.

The block quantisers are this script's own NumPy implementation of ggml's reference ("_ref") quantisers, in
float32 arithmetic step by step:
    Q8_0 (34 bytes per 32 values): amax = max |x|; d = amax / 127; id = 1 / d (0 when d is 0); the block stores
         fp16(d) (round to nearest even) and q_j = roundf(x_j * id) as int8, roundf rounding halfway cases away
         from zero (evaluated in float64, where |v| + 0.5 is exact for a float32 v).
    Q4_0 (18 bytes per 32 values): m = the x of largest |x| (the first one on ties); d = m / -8; id = 1 / d (0
         when d is 0); q_j = min(15, trunc(x_j * id + 8.5)), the product and the sum each rounded to float32;
         the block stores fp16(d) and 16 bytes, byte j = q_j | q_{j+16} << 4.
    F16: NumPy's float32 -> float16 conversion (round to nearest even; overflow to infinity); a NaN becomes the
         canonical quiet NaN with its sign (0x7e00 / 0xfe00). Only canonical NaN inputs are used: for other
         payloads the implementations disagree (ggml's portable C conversion, which llama-quantize uses, always
         gives 0x7e00; x86's F16C instruction sets the quiet bit and keeps the top payload bits; NumPy keeps the
         payload without quieting it).
    BF16: round to nearest even on the bits ((u + 0x7fff + ((u >> 16) & 1)) >> 16); NaN becomes quiet
         ((u >> 16) | 0x40); checked here against an exact float64 nearest-value computation.
Dequantisation: F16/BF16 widen exactly; Q8_0 value = fp16(d) * q; Q4_0 value = fp16(d) * (q - 8), in float32.

Writes (run from the repository root):
    src/test/resources/golden/gguf/reference.gguf          general.alignment = 64, every metadata value type
                                                            with edge values, arrays (empty and nested), and
                                                            tensors of every type in 1 to 4 dimensions
    src/test/resources/golden/gguf/reference-align32.gguf  the same without general.alignment (alignment 32)
    src/test/resources/golden/gguf/reference.json          every metadata entry and tensor of reference.gguf,
                                                            as described in that folder's README.md

    /usr/bin/python3 tools/gguf_reference_writer.py [--out DIR] [--check-with-ggml BIN]

--check-with-ggml BIN runs BIN (tools/ggml_quantize.c built against llama.cpp's ggml: ggml_quantize_chunk, the
function llama-quantize uses, and ggml's fp32 -> fp16 / bf16 row conversions) on the input of every F16, BF16, Q8_0
and Q4_0 tensor and fails unless its bytes equal this script's, block for block.
"""
import argparse
import json
import math
import os
import struct
import subprocess
import sys

import numpy as np

OUT = os.path.join("src", "test", "resources", "golden", "gguf")

# GGUF value types
UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 = range(13)
TYPE_NAMES = ["UINT8", "INT8", "UINT16", "INT16", "UINT32", "INT32", "FLOAT32", "BOOL", "STRING", "ARRAY",
              "UINT64", "INT64", "FLOAT64"]
SCALAR_FORMATS = {UINT8: "<B", INT8: "<b", UINT16: "<H", INT16: "<h", UINT32: "<I", INT32: "<i", FLOAT32: "<f",
                  BOOL: "<?", UINT64: "<Q", INT64: "<q", FLOAT64: "<d"}

# ggml tensor types: name -> (id, values per block, bytes per block)
GGML = {"F32": (0, 1, 4), "F16": (1, 1, 2), "BF16": (30, 1, 2), "Q8_0": (8, 32, 34), "Q4_0": (2, 32, 18)}

F32 = np.float32


class Array:
    """A GGUF array value: an element type and a list of values (nested Arrays when the element type is ARRAY)."""

    def __init__(self, element_type, values):
        self.element_type = element_type
        self.values = list(values)


# ---------------------------------------------------------------------------------------------------------------
# conversions from float32

def f32_bits(x):
    return int(np.array(x, dtype="<f4").view("<u4"))


def f16_bits(x):
    """float32 -> binary16 bits: NumPy's round to nearest even; NaN the canonical quiet NaN with its sign."""
    u = f32_bits(x)
    if (u & 0x7fffffff) > 0x7f800000:
        return ((u >> 16) & 0x8000) | 0x7e00
    with np.errstate(over="ignore"):
        return int(np.array(x, dtype="<f4").astype("<f2").view("<u2"))


def bf16_bits(x):
    """float32 -> bfloat16 bits, round to nearest even on the bits; NaN made quiet."""
    u = f32_bits(x)
    if (u & 0x7fffffff) > 0x7f800000:
        return (u >> 16) | 0x40
    return ((u + 0x7fff + ((u >> 16) & 1)) >> 16) & 0xffff


def bf16_nearest_check(x):
    """bfloat16 bits of a finite float32, by comparing the two candidates exactly in float64 (a cross-check)."""
    u = f32_bits(x)
    low, high = u >> 16, (u >> 16) + 1
    v = float(np.float32(x))
    lo_v = float(np.array(low << 16, dtype="<u4").view("<f4"))
    hi_v = float(np.array((high << 16) & 0xffffffff, dtype="<u4").view("<f4"))
    if math.isinf(hi_v):
        hi_v = math.copysign(2.0 ** 128, v)   # rounding treats the step past the largest value as 2^128
    dlo, dhi = abs(v - lo_v), abs(hi_v - v)
    if dlo != dhi:
        return low if dlo < dhi else high
    return low if low % 2 == 0 else high


def f16_to_f32(bits):
    return F32(np.array(bits, dtype="<u2").view("<f2").astype("<f4"))


def round_half_away(v):
    """C's roundf of a float32 value, exactly (float64 holds |v| + 0.5 exactly for float32 v)."""
    a = math.floor(abs(float(v)) + 0.5)
    return -a if v < 0 else a


def quantize_q8_0(x):
    """float32 values (whole blocks of 32) -> Q8_0 bytes."""
    out = bytearray()
    for b in range(0, len(x), 32):
        block = [F32(v) for v in x[b:b + 32]]
        amax = F32(0)
        for v in block:
            amax = max(amax, F32(abs(v)))
        d = F32(amax / F32(127))
        inv = F32(F32(1) / d) if d != 0 else F32(0)
        out += struct.pack("<H", f16_bits(d))
        for v in block:
            out += struct.pack("<b", int(round_half_away(F32(v * inv))))
    return bytes(out)


def quantize_q4_0(x):
    """float32 values (whole blocks of 32) -> Q4_0 bytes."""
    out = bytearray()
    for b in range(0, len(x), 32):
        block = [F32(v) for v in x[b:b + 32]]
        amax, m = F32(0), F32(0)
        for v in block:
            if amax < abs(v):
                amax, m = F32(abs(v)), v
        d = F32(m / F32(-8))
        inv = F32(F32(1) / d) if d != 0 else F32(0)
        q = [min(15, int(F32(F32(v * inv) + F32(8.5)))) for v in block]
        out += struct.pack("<H", f16_bits(d))
        out += bytes(q[j] | (q[j + 16] << 4) for j in range(16))
    return bytes(out)


def encode(kind, values):
    """Stored bytes of float32 values in a tensor type."""
    if kind == "F32":
        return np.asarray(values, dtype="<f4").tobytes()
    if kind == "F16":
        return b"".join(struct.pack("<H", f16_bits(v)) for v in values)
    if kind == "BF16":
        return b"".join(struct.pack("<H", bf16_bits(v)) for v in values)
    if kind == "Q8_0":
        return quantize_q8_0(values)
    if kind == "Q4_0":
        return quantize_q4_0(values)
    raise ValueError(kind)


def decode(kind, data):
    """float32 values of stored bytes."""
    if kind == "F32":
        return np.frombuffer(data, dtype="<f4").copy()
    if kind == "F16":
        return np.frombuffer(data, dtype="<f2").astype("<f4")
    if kind == "BF16":
        return (np.frombuffer(data, dtype="<u2").astype("<u4") << 16).view("<f4")
    out = []
    with np.errstate(invalid="ignore", over="ignore"):
        if kind == "Q8_0":
            for b in range(0, len(data), 34):
                d = f16_to_f32(struct.unpack_from("<H", data, b)[0])
                out += [F32(d * F32(q)) for q in struct.unpack_from("<32b", data, b + 2)]
        elif kind == "Q4_0":
            for b in range(0, len(data), 18):
                d = f16_to_f32(struct.unpack_from("<H", data, b)[0])
                qs = data[b + 2:b + 18]
                out += [F32(d * F32((q & 15) - 8)) for q in qs] + [F32(d * F32((q >> 4) - 8)) for q in qs]
    return np.array(out, dtype="<f4")


# ---------------------------------------------------------------------------------------------------------------
# the file

def gguf_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def gguf_value(vtype, value):
    if vtype == STRING:
        return gguf_string(value)
    if vtype == ARRAY:
        out = struct.pack("<IQ", value.element_type, len(value.values))
        for v in value.values:
            out += gguf_value(value.element_type, v)
        return out
    return struct.pack(SCALAR_FORMATS[vtype], value)


def pad(n, alignment):
    return (alignment - n % alignment) % alignment


def write_gguf(path, metadata, tensors, alignment):
    """metadata: [(key, type, value)]; tensors: [(name, kind, shape outermost first, stored bytes)]."""
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(metadata))
    for key, vtype, value in metadata:
        head += gguf_string(key) + struct.pack("<I", vtype) + gguf_value(vtype, value)
    offsets, offset = [], 0
    for name, kind, shape, data in tensors:
        offsets.append(offset)
        ne = list(reversed(shape))
        head += gguf_string(name) + struct.pack("<I", len(ne)) + struct.pack("<%dQ" % len(ne), *ne)
        head += struct.pack("<IQ", GGML[kind][0], offset)
        offset += len(data) + pad(len(data), alignment)
    body = bytearray(head + bytes(pad(len(head), alignment)))
    for (name, kind, shape, data), at in zip(tensors, offsets):
        assert len(body) - (len(head) + pad(len(head), alignment)) == at
        body += data + bytes(pad(len(data), alignment))
    with open(path, "wb") as f:
        f.write(body)
    return offsets


# ---------------------------------------------------------------------------------------------------------------
# content

def f32(v):
    return float(np.float32(v))


NAN32 = float(np.array(0x7fc00000, dtype="<u4").view("<f4"))


def metadata_entries():
    big_string = "naïve café – Ελληνικά – 東京 – 🙂 – \"quoted\" \\ tab\t newline\n nul\x00 end"
    e = [
        ("general.architecture", STRING, "reference"),
        ("test.uint8", UINT8, 255), ("test.uint8.zero", UINT8, 0),
        ("test.int8", INT8, -128), ("test.int8.max", INT8, 127),
        ("test.uint16", UINT16, 65535), ("test.int16", INT16, -32768),
        ("test.uint32", UINT32, 4294967295), ("test.int32", INT32, -2147483648), ("test.int32.max", INT32, 2147483647),
        ("general.alignment", UINT32, 64),
        ("test.float32", FLOAT32, f32(1 / 3)), ("test.float32.max", FLOAT32, f32(3.4028234663852886e38)),
        ("test.float32.min_subnormal", FLOAT32, f32(1.401298464324817e-45)), ("test.float32.neg_zero", FLOAT32, -0.0),
        ("test.float32.inf", FLOAT32, math.inf), ("test.float32.nan", FLOAT32, NAN32),
        ("test.bool.true", BOOL, True), ("test.bool.false", BOOL, False),
        ("test.string", STRING, big_string), ("test.string.empty", STRING, ""),
        ("test.uint64", UINT64, 2 ** 64 - 1), ("test.uint64.high_bit", UINT64, 2 ** 63),
        ("test.int64", INT64, -2 ** 63), ("test.int64.max", INT64, 2 ** 63 - 1),
        ("test.float64", FLOAT64, math.pi), ("test.float64.max", FLOAT64, 1.7976931348623157e308),
        ("test.float64.min_subnormal", FLOAT64, 5e-324), ("test.float64.neg_inf", FLOAT64, -math.inf),
        ("test.array.uint8", ARRAY, Array(UINT8, [0, 1, 127, 128, 255])),
        ("test.array.int8", ARRAY, Array(INT8, [-128, -1, 0, 1, 127])),
        ("test.array.uint16", ARRAY, Array(UINT16, [0, 1, 32768, 65535])),
        ("test.array.int16", ARRAY, Array(INT16, [-32768, -1, 0, 32767])),
        ("test.array.uint32", ARRAY, Array(UINT32, [0, 1, 2 ** 31, 2 ** 32 - 1])),
        ("test.array.int32", ARRAY, Array(INT32, [-2 ** 31, -1, 0, 2 ** 31 - 1])),
        ("test.array.float32", ARRAY, Array(FLOAT32, [0.0, -0.0, 1.5, f32(0.1), f32(3.4028234663852886e38),
                                                      f32(1.401298464324817e-45), math.inf, -math.inf, NAN32])),
        ("test.array.bool", ARRAY, Array(BOOL, [True, False, True])),
        ("test.array.string", ARRAY, Array(STRING, ["", "a", "ü", "東京", "🙂", "two words", "nul\x00inside"])),
        ("test.array.uint64", ARRAY, Array(UINT64, [0, 1, 2 ** 63, 2 ** 64 - 1])),
        ("test.array.int64", ARRAY, Array(INT64, [-2 ** 63, -1, 0, 2 ** 63 - 1])),
        ("test.array.float64", ARRAY, Array(FLOAT64, [0.0, -0.0, 0.1, 5e-324, 1.7976931348623157e308, -math.inf])),
        ("test.array.empty", ARRAY, Array(INT32, [])),
        ("test.array.empty_strings", ARRAY, Array(STRING, [])),
        ("test.array.nested.int32", ARRAY, Array(ARRAY, [Array(INT32, [1, 2, 3]), Array(INT32, []),
                                                         Array(INT32, [-2 ** 31, 2 ** 31 - 1])])),
        ("test.array.nested.string", ARRAY, Array(ARRAY, [Array(STRING, ["a", "b"]), Array(STRING, []),
                                                          Array(STRING, ["ü", ""])])),
        ("test.array.nested.mixed", ARRAY, Array(ARRAY, [Array(INT32, [7]), Array(STRING, ["x"]),
                                                         Array(BOOL, [True]), Array(FLOAT64, [0.5])])),
        ("test.array.nested.deep", ARRAY, Array(ARRAY, [Array(ARRAY, [Array(INT8, [1]), Array(INT8, [2, -3])]),
                                                        Array(ARRAY, [])])),
        ("general.name", STRING, "gguf reference file of tools/gguf_reference_writer.py"),
    ]
    return e


def edge_blocks_q8_0():
    ties = [-126.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 126.5, 127.0, 0.49999997, -0.49999997, 3.5, 4.5, -5.5, 0.0,
            -0.0, 63.5, 64.5, -63.5, 99.49999, 100.5, 101.5, 1e-3, -1e-3, 7.5, 8.5, 9.5, 10.5, -125.5, -124.5,
            11.5, 12.5]
    fp16_tie = np.linspace(-100, 100, 32).astype(np.float32)
    fp16_tie[9] = F32(127.06201171875)  # amax / 127 = 1 + 2^-11 exactly: fp16(d) ties, to even (1.0)
    return {
        "zeros": np.zeros(32, np.float32),
        "neg_zeros": np.full(32, -0.0, np.float32),
        "ties": np.array(ties, np.float32),                                   # d = 1, x * id = k + 1/2
        "fp16_tie": fp16_tie,
        "huge_fp16_inf": np.linspace(-1e7, 1e7, 32).astype(np.float32),      # d = 78740: fp16(d) = inf
        "huge_max": np.linspace(-3.4e38, 3.4e38, 32).astype(np.float32),     # near FLT_MAX
        "tiny_d_zero": np.linspace(-1e-30, 1e-30, 32).astype(np.float32),    # fp16(d) = 0, q nonzero
        "tiny_d_subnormal": np.linspace(-1e-5, 1e-5, 32).astype(np.float32),  # fp16(d) subnormal
        "mixed": np.concatenate([[1e4], np.full(31, 1e-4)]).astype(np.float32),
        "subnormal_inputs": np.concatenate([[1.0], np.full(15, 1e-40), np.full(16, -1e-39)]).astype(np.float32),
    }


def edge_blocks_q4_0():
    first_pos = np.linspace(-0.5, 0.5, 32).astype(np.float32)
    first_pos[3], first_pos[20] = F32(2.0), F32(-2.0)                         # +m first; -m maps to 16 -> 15
    first_neg = np.linspace(0.5, -0.5, 32).astype(np.float32)
    first_neg[3], first_neg[20] = F32(-2.0), F32(2.0)                         # -m first
    boundary = ((np.arange(32) - 16.5) / 2).astype(np.float32)               # d = -8 / -8 = 1 ... x + 8.5 integral
    boundary[0] = F32(-8.0)
    return {
        "zeros": np.zeros(32, np.float32),                                     # d = 0 / -8 = -0.0
        "neg_zeros": np.full(32, -0.0, np.float32),
        "first_positive": first_pos,
        "first_negative": first_neg,
        "boundary": boundary,
        "equal": np.full(32, 1.0, np.float32),
        "huge_fp16_inf": np.linspace(-1e6, 1e6, 32).astype(np.float32),      # d = -125000: fp16(d) = -inf
        "tiny_d_zero": np.linspace(-1e-30, 1e-30, 32).astype(np.float32),
        "tiny_d_subnormal": np.linspace(-2e-6, 2e-6, 32).astype(np.float32),
        "mixed": np.concatenate([np.full(31, 1e-3), [-5e3]]).astype(np.float32),
        "subnormal_inputs": np.concatenate([np.full(16, 1e-40), [0.25], np.full(15, -1e-39)]).astype(np.float32),
    }


def tensor_specs(rng):
    """[(name, kind, shape, float32 values)]; shapes outermost first."""
    def normal(*shape, std=1.0):
        return (std * rng.standard_normal(shape)).astype(np.float32).ravel()

    big = F32(3.4028234663852886e38)
    f32_edge = np.array([0.0, -0.0, 1.0, -1.5, big, 1.401298464324817e-45, math.pi, math.inf, -math.inf],
                        np.float32)
    f16_edge = np.array([0.0, -0.0, 1.0, -2.0, 65504.0, 65519.996, 65520.0, 1e6, -1e6, math.inf, -math.inf,
                         2.0 ** -24, 2.0 ** -25, 3 * 2.0 ** -25, 2.0 ** -14, 2.0 ** -14 - 2.0 ** -25,
                         1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11, 1 + 2.0 ** -11 + 2.0 ** -20, 0.1, 1 / 3, 6.0e-8,
                         1e-9, -65504.0], np.float32)
    f16_edge = np.concatenate([f16_edge, np.array([0x7fc00000, 0xffc00000], dtype="<u4").view("<f4")])
    bf16_edge = np.array([0.0, -0.0, 1.0, 1 + 2.0 ** -8, 1 + 3 * 2.0 ** -8, 1 + 2.0 ** -8 + 2.0 ** -20, big,
                          3.3895313892515355e38, math.inf, -math.inf, 1e-40, 1.401298464324817e-45,
                          -1.401298464324817e-45, 0.1, math.pi, -1e30], np.float32)
    bf16_edge = np.concatenate([bf16_edge, np.array([0x7fc00000, 0x7f800001, 0xff800001, 0x7f7f8000],
                                                    dtype="<u4").view("<f4")])
    q8 = edge_blocks_q8_0()
    q4 = edge_blocks_q4_0()
    scales = np.repeat(np.array([1e-3, 1.0, 30.0, 1e3], np.float32), 48)
    return [
        ("f32.vector", "F32", [9], f32_edge),
        ("f32.matrix", "F32", [3, 5], normal(3, 5)),
        ("f32.cube", "F32", [2, 3, 4], normal(2, 3, 4)),
        ("f32.4d", "F32", [2, 1, 3, 2], np.arange(12, dtype=np.float32) - 5.5),
        ("f16.edge", "F16", [len(f16_edge)], f16_edge),
        ("f16.matrix", "F16", [4, 6], normal(4, 6)),
        ("f16.cube", "F16", [2, 2, 5], normal(2, 2, 5, std=100.0)),
        ("bf16.edge", "BF16", [len(bf16_edge)], bf16_edge),
        ("bf16.matrix", "BF16", [3, 4], normal(3, 4)),
        ("bf16.cube", "BF16", [2, 2, 3], normal(2, 2, 3, std=1e-3)),
        ("q8_0.vector", "Q8_0", [96], np.concatenate([q8["zeros"], q8["ties"], q8["neg_zeros"]])),
        ("q8_0.matrix", "Q8_0", [5, 64], np.concatenate([
            normal(64), q8["fp16_tie"], normal(32, std=0.02),
            q8["huge_fp16_inf"], q8["huge_max"], q8["tiny_d_zero"], q8["tiny_d_subnormal"],
            q8["mixed"], q8["subnormal_inputs"]])),
        ("q8_0.cube", "Q8_0", [2, 3, 32], normal(2, 3, 32) * scales[:192]),
        ("q4_0.vector", "Q4_0", [96], np.concatenate([q4["zeros"], q4["first_positive"], q4["first_negative"]])),
        ("q4_0.matrix", "Q4_0", [5, 64], np.concatenate([
            normal(64), q4["boundary"], q4["equal"], q4["huge_fp16_inf"], q4["neg_zeros"],
            q4["tiny_d_zero"], q4["tiny_d_subnormal"], q4["mixed"], q4["subnormal_inputs"]])),
        ("q4_0.cube", "Q4_0", [2, 2, 32], normal(2, 2, 32) * scales[:128]),
        # last, and 6 values (24 bytes, not a multiple of the alignment): the file ends in padding
        ("f32.last", "F32", [6], np.array([1, 2, 3, 4, 5, 6], np.float32)),
    ]


# ---------------------------------------------------------------------------------------------------------------
# reference.json

def json_float(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def json_value(vtype, value):
    if vtype == ARRAY:
        return {"element_type": TYPE_NAMES[value.element_type],
                "values": [json_value(value.element_type, v) for v in value.values]}
    if vtype in (FLOAT32, FLOAT64):
        return json_float(value)
    return value


def json_bits(vtype, value):
    """IEEE bits (hex) of float values, recursively for arrays; None where nothing is a float."""
    if vtype == FLOAT32:
        return "%08x" % struct.unpack("<I", struct.pack("<f", value))[0]
    if vtype == FLOAT64:
        return "%016x" % struct.unpack("<Q", struct.pack("<d", value))[0]
    if vtype == ARRAY and value.element_type in (FLOAT32, FLOAT64, ARRAY):
        return [json_bits(value.element_type, v) for v in value.values]
    return None


def compact_json(doc):
    """The document with one metadata entry per line and one tensor field per line."""
    def dump(v):
        return json.dumps(v, ensure_ascii=False)

    lines = ["{"]
    for key in ("generator", "file", "version", "alignment"):
        lines.append(" %s: %s," % (dump(key), dump(doc[key])))
    lines.append(' "metadata": [')
    lines.append(",\n".join("  " + dump(m) for m in doc["metadata"]))
    lines.append(" ],")
    lines.append(' "tensors": [')
    tensors = []
    for t in doc["tensors"]:
        tensors.append("  {\n" + ",\n".join("   %s: %s" % (dump(k), dump(v)) for k, v in t.items()) + "\n  }")
    lines.append(",\n".join(tensors))
    lines.append(" ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def check_conversions(values):
    """Cross-checks of the F16 and BF16 conversions of finite values against their definition: the nearest value,
    ties to the even bit pattern, magnitudes from 65520 up to infinity (F16)."""
    for v in values:
        x = float(np.float32(v))
        if not math.isfinite(x):
            continue
        assert bf16_bits(v) == bf16_nearest_check(v), (x, hex(bf16_bits(v)))
        h = f16_bits(v)
        if abs(x) >= 65520.0:
            assert h & 0x7fff == 0x7c00, (x, hex(h))
            continue
        got = float(f16_to_f32(h))
        assert math.copysign(1.0, got) == math.copysign(1.0, x), (x, hex(h))
        for n in (h - 1, h + 1):
            if (n & 0x7fff) < 0x7c00 and (n & 0x8000) == (h & 0x8000) and n >= 0:
                other = abs(float(f16_to_f32(n)) - x)
                assert abs(got - x) < other or (abs(got - x) == other and h % 2 == 0), (x, hex(h), hex(n))


def check_with_ggml(binary, tensors, specs):
    for (name, kind, shape, data), (_, _, _, values) in zip(tensors, specs):
        if kind == "F32":
            continue
        run = subprocess.run([binary, kind.lower(), str(shape[-1])], input=np.asarray(values, "<f4").tobytes(),
                             capture_output=True, check=True)
        block = GGML[kind][2]
        bad = [i for i in range(len(data) // block) if run.stdout[i * block:(i + 1) * block] != data[i * block:(i + 1) * block]]
        if len(run.stdout) != len(data) or bad:
            sys.exit("gguf_reference_writer: %s differs from ggml's conversion in blocks %s: ggml %s, here %s" % (
                name, bad, run.stdout[bad[0] * block:(bad[0] + 1) * block].hex() if bad else "?",
                data[bad[0] * block:(bad[0] + 1) * block].hex() if bad else "?"))
        print("%s: %d %s blocks identical to ggml's" % (name, len(data) // block, kind))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=OUT)
    parser.add_argument("--check-with-ggml", metavar="BIN", help="tools/ggml_quantize.c, built (see above)")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(20261130)
    metadata = metadata_entries()
    specs = tensor_specs(rng)
    tensors = []
    for name, kind, shape, values in specs:
        assert int(np.prod(shape)) == len(values), name
        assert shape[-1] % GGML[kind][1] == 0, name
        if kind in ("F16", "BF16"):
            check_conversions(values)
        data = encode(kind, values)
        assert len(data) == len(values) // GGML[kind][1] * GGML[kind][2], name
        tensors.append((name, kind, shape, data))

    if args.check_with_ggml:
        check_with_ggml(args.check_with_ggml, tensors, specs)
    offsets = write_gguf(os.path.join(args.out, "reference.gguf"), metadata, tensors, 64)
    write_gguf(os.path.join(args.out, "reference-align32.gguf"),
               [m for m in metadata if m[0] != "general.alignment"], tensors, 32)

    doc = {
        "generator": "tools/gguf_reference_writer.py",
        "file": "reference.gguf",
        "version": 3,
        "alignment": 64,
        "metadata": [],
        "tensors": [],
    }
    for key, vtype, value in metadata:
        entry = {"key": key, "type": TYPE_NAMES[vtype], "value": json_value(vtype, value)}
        bits = json_bits(vtype, value)
        if bits is not None:
            entry["bits"] = bits
        doc["metadata"].append(entry)
    for (name, kind, shape, data), (_, _, _, values), offset in zip(tensors, specs, offsets):
        with np.errstate(invalid="ignore", over="ignore"):
            deq = decode(kind, data)
        doc["tensors"].append({
            "name": name, "type": kind, "ggml_type": GGML[kind][0], "shape": shape, "ne": list(reversed(shape)),
            "offset": offset, "bytes": len(data),
            "input": [json_float(float(v)) for v in values],
            "input_f32_hex": np.asarray(values, dtype="<f4").tobytes().hex(),
            "stored_hex": data.hex(),
            "dequantized": [json_float(float(v)) for v in deq],
            "dequantized_f32_hex": deq.astype("<f4").tobytes().hex(),
        })
    with open(os.path.join(args.out, "reference.json"), "w", encoding="utf-8") as f:
        f.write(compact_json(doc))
    for name in ("reference.gguf", "reference-align32.gguf", "reference.json"):
        print("%s: %d bytes" % (os.path.join(args.out, name), os.path.getsize(os.path.join(args.out, name))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
