#!/usr/bin/python3
"""PyTorch GPT-2 anchor: a plain PyTorch forward with a KV cache, the figures gpu-infer's GPT-2 benchmark prints
beside its own.

MODEL_DIR is a folder in Hugging Face layout: config.json (n_embd, n_head, n_layer, n_positions, vocab_size,
layer_norm_epsilon) and model.safetensors with F32, F16 or BF16 tensors named wte.weight, wpe.weight,
h.{i}.ln_1.weight/bias, h.{i}.attn.c_attn.weight [C, 3C] (Conv1D: stored (in, out), q, k, v columns in that order)
and .bias, h.{i}.attn.c_proj.weight [C, C] and .bias, h.{i}.ln_2.weight/bias, h.{i}.mlp.c_fc.weight [C, 4C] and .bias,
h.{i}.mlp.c_proj.weight [4C, C] and .bias, ln_f.weight/bias, optionally prefixed "transformer.". The safetensors
file is parsed here (8-byte little-endian header length, JSON header, raw data); weights are held as float32. Logits
use the tied wte; GELU is the tanh approximation; LayerNorm eps comes from config.json. Attention is explicit
matmul + mask + softmax + matmul over the cache (as tools/bench_anchor_attention.py).

Measured, batch 1, random prompt tokens (seed 0):
- prefill of a --prompt-token prompt (default 512) into an empty cache, logits for every prompt position
  (--last-logits: only the last): tokens/s and GFLOP/s, counting 2 flops per matrix-product weight per token
  (all linear layers and the tied lm_head; not embeddings, LayerNorms or biases) plus causal attention
  (2 * H * T^2 * head_dim per layer, the same convention as the attention anchor);
- decode of --decode tokens (default 64) after it, greedy (argmax), one token at a time: tokens/s, ms/token, and
  GB/s = bytes of all weights (as the float32 held in memory) / time per token.
Each setting runs in its own child process (OMP_WAIT_POLICY must be set before PyTorch loads libgomp):
- default: the environment as it is, less any OMP_WAIT_POLICY; every linear is torch.addmm (decode: a 1-row product);
- tuned: OMP_WAIT_POLICY=PASSIVE, and single-token linears (and the lm_head) as torch.addmv / torch.mv.
See /work/shared/docs/pocl-notes.md: PyTorch's OpenMP pool and OpenBLAS's pthread pool spin against each other on 2
cores, and this OpenBLAS runs a 1-row matrix product far slower than its matrix-vector routine.
One warm-up (a prefill and 4 decode steps), then --repeats timed rounds (default 3) of prefill + decode; medians.

Run from the repository root (about 1.5 minutes for GPT-2 124M on 2 cores):

    /usr/bin/python3 tools/bench_anchor_gpt2.py MODEL_DIR [--repeats 3] [--json target/anchor-gpt2.json]
    /usr/bin/python3 tools/bench_anchor_gpt2.py MODEL_DIR --quick   # smoke test: 16-token prompt, 4 decode steps
    /usr/bin/python3 tools/bench_anchor_gpt2.py --self-test         # tiny random models in a temporary folder:
        # parser (F32/F16/BF16, prefix), forward against a float64 NumPy reference, both settings, JSON output

(Debian: apt-get install python3-torch python3-numpy libopenblas0-pthread.)
"""
import argparse
import json
import math
import mmap
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_common as bc  # noqa: E402

SETTINGS = ("default", "tuned")
LAYER_TENSORS = ("ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight",
                 "attn.c_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias",
                 "mlp.c_proj.weight", "mlp.c_proj.bias")
DTYPES = {"F32": ("<f4", 4), "F16": ("<f2", 2), "BF16": ("<u2", 2)}


# ---------------------------------------------------------------------------------------------------- the model

def read_config(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    out = {"C": int(cfg["n_embd"]), "H": int(cfg["n_head"]), "L": int(cfg["n_layer"]),
           "P": int(cfg.get("n_positions", cfg.get("n_ctx", 1024))), "V": int(cfg["vocab_size"]),
           "eps": float(cfg.get("layer_norm_epsilon", 1e-5))}
    if out["C"] % out["H"]:
        raise SystemExit("config.json: n_embd %d is no multiple of n_head %d" % (out["C"], out["H"]))
    return out


def read_safetensors_header(path):
    """(header dict without __metadata__, byte offset where the data starts)."""
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise SystemExit("%s: too short for a safetensors file" % path)
        n = int.from_bytes(raw, "little")
        if n > 100 << 20:
            raise SystemExit("%s: header length %d is not plausible" % (path, n))
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    return header, 8 + n


def expected_names(cfg):
    names = ["wte.weight", "wpe.weight", "ln_f.weight", "ln_f.bias"]
    for i in range(cfg["L"]):
        names += ["h.%d.%s" % (i, t) for t in LAYER_TENSORS]
    return names


def expected_shapes(cfg):
    c, v, p = cfg["C"], cfg["V"], cfg["P"]
    per_layer = {"ln_1.weight": [c], "ln_1.bias": [c], "attn.c_attn.weight": [c, 3 * c], "attn.c_attn.bias": [3 * c],
                 "attn.c_proj.weight": [c, c], "attn.c_proj.bias": [c], "ln_2.weight": [c], "ln_2.bias": [c],
                 "mlp.c_fc.weight": [c, 4 * c], "mlp.c_fc.bias": [4 * c], "mlp.c_proj.weight": [4 * c, c],
                 "mlp.c_proj.bias": [c]}
    shapes = {"wte.weight": [v, c], "wpe.weight": [p, c], "ln_f.weight": [c], "ln_f.bias": [c]}
    for i in range(cfg["L"]):
        shapes.update({"h.%d.%s" % (i, t): s for t, s in per_layer.items()})
    return shapes


def resolve_names(header, cfg, path):
    """Map each expected name to its name in the file (bare or prefixed with 'transformer.'); check shapes."""
    shapes = expected_shapes(cfg)
    out = {}
    for name in expected_names(cfg):
        for stored in (name, "transformer." + name):
            if stored in header:
                break
        else:
            raise SystemExit("%s: no tensor %s (nor transformer.%s)" % (path, name, name))
        entry = header[stored]
        if entry["dtype"] not in DTYPES:
            raise SystemExit("%s: %s has dtype %s; F32, F16 and BF16 are supported" % (path, stored, entry["dtype"]))
        if list(entry["shape"]) != shapes[name]:
            raise SystemExit("%s: %s has shape %s, config.json says %s" % (path, stored, entry["shape"], shapes[name]))
        out[name] = stored
    return out


def model_summary(model_dir):
    """Parameter count and stored dtypes, from the header alone (no tensor data read)."""
    cfg = read_config(model_dir)
    path = os.path.join(model_dir, "model.safetensors")
    header, _ = read_safetensors_header(path)
    names = resolve_names(header, cfg, path)
    params = sum(math.prod(header[s]["shape"]) for s in names.values())
    dtypes = sorted({header[s]["dtype"] for s in names.values()})
    return cfg, params, dtypes


def load_safetensors(model_dir, np):
    """All tensors gpu-infer's GPT-2 uses, as float32 NumPy arrays keyed by their bare names."""
    cfg = read_config(model_dir)
    path = os.path.join(model_dir, "model.safetensors")
    header, start = read_safetensors_header(path)
    names = resolve_names(header, cfg, path)
    tensors, raw = {}, None
    with open(path, "rb") as f:
        data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            for name, stored in names.items():
                entry = header[stored]
                dtype, size = DTYPES[entry["dtype"]]
                begin, end = entry["data_offsets"]
                count = math.prod(entry["shape"])
                if end - begin != count * size or start + end > len(data):
                    raise SystemExit("%s: %s: data_offsets %s do not fit its shape or the file" % (
                        path, stored, entry["data_offsets"]))
                raw = np.frombuffer(data, dtype=dtype, count=count, offset=start + begin)
                if entry["dtype"] == "BF16":
                    value = (raw.astype(np.uint32) << 16).view(np.float32)
                else:
                    value = raw.astype(np.float32)  # a copy: the mmap can close
                tensors[name] = value.reshape(entry["shape"])
        finally:
            raw = None  # the last view into the mmap, which cannot close while one exists
            data.close()
    return cfg, tensors


class Gpt2:
    """GPT-2 forward for batch 1 with a preallocated KV cache. mv=True: single-token linears as addmv / mv."""

    def __init__(self, torch, cfg, arrays, max_tokens):
        self.torch = torch
        self.cfg = cfg
        t = {k: torch.from_numpy(v) for k, v in arrays.items()}
        self.wte, self.wpe = t["wte.weight"], t["wpe.weight"]
        self.ln_f = (t["ln_f.weight"], t["ln_f.bias"])
        self.layers = [{n: t["h.%d.%s" % (i, n)] for n in LAYER_TENSORS} for i in range(cfg["L"])]
        h, hd = cfg["H"], cfg["C"] // cfg["H"]
        self.k_cache = [torch.zeros(h, max_tokens, hd) for _ in range(cfg["L"])]
        self.v_cache = [torch.zeros(h, max_tokens, hd) for _ in range(cfg["L"])]
        self.masks = {}

    def linear(self, x, w, b, mv):
        if mv and x.shape[0] == 1:
            return self.torch.addmv(b, w.t(), x[0]).unsqueeze(0)  # w is (in, out): w.t() is (out, in)
        return self.torch.addmm(b, x, w)

    def hidden_mask(self, sq, sk):
        """True where query i may not see key j (j > i + sk - sq); None when nothing is hidden."""
        if sq == 1:
            return None
        key = (sq, sk)
        if key not in self.masks:
            self.masks[key] = self.torch.ones(sq, sk, dtype=self.torch.bool).triu_(sk - sq + 1)
        return self.masks[key]

    def forward(self, tokens, pos, mv=False, last_logits=False):
        """tokens: int64 [T] at positions pos..pos+T-1 (the cache holds 0..pos-1). Returns logits [T or 1, V]."""
        torch, cfg = self.torch, self.cfg
        F = torch.nn.functional
        c, h = cfg["C"], cfg["H"]
        hd = c // h
        n = tokens.shape[0]
        end = pos + n
        scale = 1.0 / math.sqrt(hd)
        hidden = self.hidden_mask(n, end)
        x = self.wte[tokens] + self.wpe[pos:end]
        for i, p in enumerate(self.layers):
            a = F.layer_norm(x, (c,), p["ln_1.weight"], p["ln_1.bias"], cfg["eps"])
            qkv = self.linear(a, p["attn.c_attn.weight"], p["attn.c_attn.bias"], mv)
            q, k, v = qkv.split(c, dim=1)
            self.k_cache[i][:, pos:end] = k.view(n, h, hd).transpose(0, 1)
            self.v_cache[i][:, pos:end] = v.view(n, h, hd).transpose(0, 1)
            keys, values = self.k_cache[i][:, :end], self.v_cache[i][:, :end]
            scores = torch.matmul(q.view(n, h, hd).transpose(0, 1), keys.transpose(1, 2))
            scores.mul_(scale)
            if hidden is not None:
                scores.masked_fill_(hidden, float("-inf"))
            probs = torch.softmax(scores, dim=-1)
            y = torch.matmul(probs, values).transpose(0, 1).reshape(n, c)
            x = x + self.linear(y, p["attn.c_proj.weight"], p["attn.c_proj.bias"], mv)
            a = F.layer_norm(x, (c,), p["ln_2.weight"], p["ln_2.bias"], cfg["eps"])
            a = F.gelu(self.linear(a, p["mlp.c_fc.weight"], p["mlp.c_fc.bias"], mv), approximate="tanh")
            x = x + self.linear(a, p["mlp.c_proj.weight"], p["mlp.c_proj.bias"], mv)
        x = F.layer_norm(x, (c,), self.ln_f[0], self.ln_f[1], cfg["eps"])
        if last_logits:
            x = x[-1:]
        if mv and x.shape[0] == 1:
            return torch.mv(self.wte, x[0]).unsqueeze(0)
        return torch.matmul(x, self.wte.t())


def prefill_flops(cfg, tokens, last_logits):
    c, L = cfg["C"], cfg["L"]
    linear = L * 12 * c * c * tokens + c * cfg["V"] * (1 if last_logits else tokens)
    return 2.0 * linear + L * 2.0 * cfg["H"] * tokens * tokens * (c // cfg["H"])


# ---------------------------------------------------------------------------------------------------- one setting

def run_setting(args, setting):
    """The child process: load, warm up, time; print a few lines and write the result as JSON to args.child_out."""
    import time
    import numpy as np
    import torch

    threads = args.threads or bc.core_count()
    torch.set_num_threads(threads)
    mv = setting == "tuned"
    load_start = time.perf_counter()
    cfg, arrays = load_safetensors(args.model_dir, np)
    total = args.prompt + args.decode
    if total > cfg["P"]:
        raise SystemExit("prompt %d + decode %d tokens exceed n_positions %d" % (args.prompt, args.decode, cfg["P"]))
    model = Gpt2(torch, cfg, arrays, total)
    del arrays
    load_s = time.perf_counter() - load_start
    blas = bc.blas_description()
    prompt = torch.from_numpy(np.random.default_rng(0).integers(0, cfg["V"], args.prompt).astype(np.int64))

    def prefill():
        return model.forward(prompt, 0, mv=mv, last_logits=args.last_logits)

    def decode(logits, steps):
        token = logits[-1].argmax().reshape(1)
        for i in range(steps):
            logits = model.forward(token, args.prompt + i, mv=mv)
            token = logits[-1].argmax().reshape(1)
        return token

    prefill_runs, decode_runs = [], []
    with torch.inference_mode():
        decode(prefill(), min(4, args.decode))  # warm-up
        for _ in range(args.repeats):
            start = time.perf_counter()
            logits = prefill()
            middle = time.perf_counter()
            decode(logits, args.decode)
            prefill_runs.append(middle - start)
            decode_runs.append(time.perf_counter() - middle)

    params = sum(t.numel() for t in [model.wte, model.wpe, *model.ln_f]) + \
        sum(t.numel() for p in model.layers for t in p.values())
    weight_bytes = 4 * params
    prefill_s = bc.median(prefill_runs)
    per_token_s = bc.median(decode_runs) / args.decode
    result = {
        "name": setting, "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"), "single_token_linears":
        "addmv" if mv else "addmm", "threads": torch.get_num_threads(), "blas": blas, "load_s": round(load_s, 3),
        "prefill_tokens": args.prompt, "prefill_logits": "last" if args.last_logits else "all",
        "prefill_ms": round(prefill_s * 1e3, 3), "prefill_tokens_per_s": round(args.prompt / prefill_s, 3),
        "prefill_gflops": round(prefill_flops(cfg, args.prompt, args.last_logits) / prefill_s / 1e9, 3),
        "prefill_runs_ms": [round(t * 1e3, 3) for t in prefill_runs],
        "decode_tokens": args.decode, "decode_tokens_per_s": round(1.0 / per_token_s, 3),
        "decode_ms_per_token": round(per_token_s * 1e3, 3),
        "decode_gbps": round(weight_bytes / per_token_s / 1e9, 3),
        "decode_runs_ms_per_token": [round(t / args.decode * 1e3, 3) for t in decode_runs],
    }
    bc.write_json(args.child_out, result)
    return 0


def spawn_setting(args, setting):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if setting == "tuned":
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "setting.json")
        command = [sys.executable, os.path.abspath(__file__), args.model_dir, "--child", setting, "--child-out", out,
                   "--prompt", str(args.prompt), "--decode", str(args.decode), "--repeats", str(args.repeats),
                   "--threads", str(args.threads), "--openblas-coretype", "default"]  # the parent decided already
        if args.last_logits:
            command.append("--last-logits")
        done = subprocess.run(command, env=env)
        if done.returncode != 0:
            raise SystemExit("setting %s: child process failed (exit status %d)" % (setting, done.returncode))
        with open(out) as f:
            return json.load(f)


def benchmark(args):
    import torch  # only for its version; the settings run in child processes
    version = torch.__version__
    cfg, params, dtypes = model_summary(args.model_dir)
    weight_bytes = 4 * params
    print("anchor     pytorch %s GPT-2 forward with a KV cache, float32, batch 1" % version)
    print("model      %s: %d layers, C=%d, H=%d, vocab %d, %d positions, eps %g; %d params (%s stored; %.1f MB as "
          "float32)" % (args.model_dir, cfg["L"], cfg["C"], cfg["H"], cfg["V"], cfg["P"], cfg["eps"], params,
                        "/".join(dtypes), weight_bytes / 1e6))
    print("cpu        %s, %d cores" % (bc.cpu_model(), bc.core_count()))
    print("openblas   %s" % args.blas_decision)
    print("env        %s" % bc.environment_line())
    load = bc.other_load()
    print("load       %s" % bc.load_line(load))
    print("runs       prefill %d tokens (logits: %s), then decode %d tokens; 1 warm-up + %d timed rounds, medians" % (
        args.prompt, "last" if args.last_logits else "all", args.decode, args.repeats))
    settings = []
    for name in args.settings.split(","):
        s = spawn_setting(args, name)
        settings.append(s)
        print()
        print("setting    %s: OMP_WAIT_POLICY=%s, single-token linears %s, torch threads %d, weights loaded in %.1f s"
              % (name, s["omp_wait_policy"] or "(unset)", s["single_token_linears"], s["threads"], s["load_s"]))
        print("blas       %s" % s["blas"])
        print("prefill    %d tokens: %9.1f ms  %9.1f tokens/s  %7.1f GFLOP/s" % (
            s["prefill_tokens"], s["prefill_ms"], s["prefill_tokens_per_s"], s["prefill_gflops"]))
        print("decode     %d tokens: %9.2f ms/token  %6.2f tokens/s  %6.2f GB/s of weights" % (
            s["decode_tokens"], s["decode_ms_per_token"], s["decode_tokens_per_s"], s["decode_gbps"]))
    result = {"model": args.model_dir, "params": params, "weight_bytes": weight_bytes, "stored_dtypes": dtypes,
              "anchor": "pytorch %s gpt2 kv-cache forward, float32" % version, "cpu": bc.cpu_model(),
              "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"), "repeats": args.repeats,
              "other_load": load, "settings": settings}
    if args.json:
        bc.write_json(args.json, result)
        print("\nwrote %s" % args.json)
    return result


# ---------------------------------------------------------------------------------------------------- --self-test

def write_random_model(np, folder, cfg, dtype="F32", prefix="", seed=0):
    """A random GPT-2 in Hugging Face layout (test-only writer). Returns the float32 values the file holds."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump({"model_type": "gpt2", "n_embd": cfg["C"], "n_head": cfg["H"], "n_layer": cfg["L"],
                   "n_positions": cfg["P"], "vocab_size": cfg["V"], "layer_norm_epsilon": cfg["eps"]}, f)
    header, blobs, values, offset = {}, [], {}, 0
    for name, shape in expected_shapes(cfg).items():
        if name.endswith("weight") and (name.startswith("ln") or ".ln_" in name):
            value = 1.0 + 0.1 * rng.standard_normal(shape)
        else:
            value = 0.2 * rng.standard_normal(shape)
        value = value.astype(np.float32)
        if dtype == "F16":
            raw = value.astype("<f2")
            value = raw.astype(np.float32)
        elif dtype == "BF16":
            raw = (value.view(np.uint32) >> 16).astype("<u2")
            value = (raw.astype(np.uint32) << 16).view(np.float32)
        else:
            raw = value.astype("<f4")
        blob = raw.tobytes()
        header[prefix + name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        values[name] = value
        offset += len(blob)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(os.path.join(folder, "model.safetensors"), "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for blob in blobs:
            f.write(blob)
    return values


def reference_logits(np, cfg, w, tokens):
    """Float64 NumPy GPT-2 over the whole sequence, no cache: logits of the last position."""
    w = {k: v.astype(np.float64) for k, v in w.items()}
    c, h = cfg["C"], cfg["H"]
    hd, n = c // h, len(tokens)

    def ln(x, g, b):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + cfg["eps"]) * g + b

    x = w["wte.weight"][tokens] + w["wpe.weight"][:n]
    for i in range(cfg["L"]):
        p = lambda s: w["h.%d.%s" % (i, s)]  # noqa: E731
        qkv = ln(x, p("ln_1.weight"), p("ln_1.bias")) @ p("attn.c_attn.weight") + p("attn.c_attn.bias")
        q, k, v = (qkv[:, j * c:(j + 1) * c].reshape(n, h, hd).transpose(1, 0, 2) for j in range(3))
        s = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
        s = np.where(np.tril(np.ones((n, n), dtype=bool)), s, -np.inf)
        s = np.exp(s - s.max(-1, keepdims=True))
        y = (s / s.sum(-1, keepdims=True)) @ v
        x = x + y.transpose(1, 0, 2).reshape(n, c) @ p("attn.c_proj.weight") + p("attn.c_proj.bias")
        a = ln(x, p("ln_2.weight"), p("ln_2.bias")) @ p("mlp.c_fc.weight") + p("mlp.c_fc.bias")
        a = 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3)))
        x = x + a @ p("mlp.c_proj.weight") + p("mlp.c_proj.bias")
    x = ln(x, w["ln_f.weight"], w["ln_f.bias"])
    return x[-1] @ w["wte.weight"].T


def self_test(args):
    import numpy as np
    import torch
    torch.set_num_threads(args.threads or bc.core_count())
    cfg = {"C": 48, "H": 4, "L": 2, "P": 40, "V": 101, "eps": 1e-5}
    ok = True
    with tempfile.TemporaryDirectory(prefix="gpt2-self-test-") as root:
        for dtype, prefix in (("F32", ""), ("F16", "transformer."), ("BF16", "")):
            folder = os.path.join(root, dtype)
            written = write_random_model(np, folder, cfg, dtype, prefix, seed=len(dtype))
            read_cfg, arrays = load_safetensors(folder, np)
            same = read_cfg == cfg and all(np.array_equal(arrays[k], written[k]) for k in written)
            tokens = np.random.default_rng(1).integers(0, cfg["V"], 12)
            want = reference_logits(np, cfg, arrays, tokens)
            line = "self-test  %-4s%-13s parse %s" % (dtype, " " + prefix if prefix else "", "ok" if same else "FAIL")
            ok &= same
            with torch.inference_mode():
                for mv in (False, True):
                    model = Gpt2(torch, cfg, arrays, len(tokens))
                    # prefill 8, then decode 4 one by one: the cache path must reproduce the full forward
                    t = torch.from_numpy(tokens.astype(np.int64))
                    model.forward(t[:8], 0, mv=mv)
                    for i in range(8, len(tokens)):
                        got = model.forward(t[i:i + 1], i, mv=mv)[-1].double().numpy()
                    full = Gpt2(torch, cfg, arrays, len(tokens)).forward(t, 0, mv=mv, last_logits=True)[-1]
                    err = max(float(np.abs(got - want).max()), float(np.abs(full.double().numpy() - want).max()))
                    good = err < 1e-4 * max(1.0, float(np.abs(want).max()))
                    ok &= good
                    line += ", %s vs float64 reference: max abs %.1e %s" % (
                        "addmv" if mv else "addmm", err, "ok" if good else "FAIL")
            print(line)
        print("self-test  both settings on the F16 model, in child processes:")
        args.model_dir = os.path.join(root, "F16")
        args.prompt, args.decode, args.repeats = 16, 4, 1
        args.json = os.path.join(root, "out.json")
        result = benchmark(args)
        with open(args.json) as f:
            on_disk = json.load(f)
        shape_ok = (set(on_disk) >= {"model", "params", "weight_bytes", "settings"}
                    and [s["name"] for s in on_disk["settings"]] == list(SETTINGS)
                    and all(set(s) >= {"name", "prefill_tokens", "prefill_tokens_per_s", "prefill_gflops",
                                       "decode_tokens", "decode_tokens_per_s", "decode_ms_per_token", "decode_gbps"}
                            for s in on_disk["settings"])
                    and on_disk["params"] == sum(v.size for v in written.values()) == result["params"])
        ok &= shape_ok
        print("self-test  JSON output: %s" % ("ok" if shape_ok else "FAIL"))
    print("self-test  %s" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model_dir", nargs="?", help="model folder: config.json + model.safetensors")
    parser.add_argument("--prompt", type=int, default=512, help="prompt tokens (default 512)")
    parser.add_argument("--decode", type=int, default=64, help="tokens decoded after the prompt (default 64)")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds of prefill + decode (default 3)")
    parser.add_argument("--settings", default=",".join(SETTINGS), help="default,tuned (default: both)")
    parser.add_argument("--last-logits", action="store_true", help="prefill computes only the last position's logits")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: the core count)")
    parser.add_argument("--quick", action="store_true", help="smoke test: 16-token prompt, 4 decode steps, 1 round")
    parser.add_argument("--self-test", action="store_true", help="test on tiny random models; needs no MODEL_DIR")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--child", choices=SETTINGS, help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    bc.add_openblas_argument(parser)
    args = parser.parse_args()
    if args.quick:
        args.prompt, args.decode, args.repeats = min(args.prompt, 16), min(args.decode, 4), 1
    for name in args.settings.split(","):
        if name not in SETTINGS:
            parser.error("unknown setting %r (default, tuned)" % name)
    if min(args.prompt, args.decode, args.repeats) < 1:
        parser.error("--prompt, --decode and --repeats must be at least 1")
    args.blas_decision = bc.prepare_openblas(args.openblas_coretype)  # before torch loads; children inherit it
    if args.child:
        return run_setting(args, args.child)
    if args.self_test:
        return self_test(args)
    if not args.model_dir:
        parser.error("MODEL_DIR is required (or --self-test)")
    benchmark(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
