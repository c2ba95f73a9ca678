"""Shared helpers for the anchor benchmarks in tools/ (bench_anchor_*.py): timing, medians, JSON output, and finding
out which BLAS library NumPy and PyTorch really run on.

Not a script: imported by the bench_anchor_*.py files next to it. It imports neither NumPy nor PyTorch at module level,
because two things must happen before either is loaded:

- OpenBLAS picks its kernels (its "core") once, when the library is loaded, from the CPUID or from the environment
  variable OPENBLAS_CORETYPE. OpenBLAS 0.3.21 (Debian 12) does not know some newer Xeons and falls back to "Prescott",
  its generic SSE3 kernels, at a fraction of the speed. prepare_openblas() checks this in a throw-away child process
  and, unless told otherwise, sets OPENBLAS_CORETYPE for this process before NumPy or PyTorch loads the library.
- OMP_WAIT_POLICY must be in the environment before PyTorch (libgomp) is loaded.
"""
import json
import os
import re
import statistics
import subprocess
import sys
import time

# OpenBLAS cores that mean "did not recognise this CPU" on an x86-64 machine with AVX2 or AVX-512.
GENERIC_CORES = {"prescott", "katmai", "coppermine", "northwood", "banias", "core2", "penryn", "dunnington",
                 "nehalem", "atom", "generic"}

_PROBE = r"""
import ctypes, sys
try:
    lib = ctypes.CDLL("libblas.so.3")
except OSError:
    lib = ctypes.CDLL("libopenblas.so.0")
try:
    lib.openblas_get_corename.restype = ctypes.c_char_p
    print(lib.openblas_get_corename().decode())
except AttributeError:
    print("not-openblas")
"""


def cpu_flags():
    """The set of CPU flags from /proc/cpuinfo (empty where there is none)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_model():
    """The CPU model name, as lscpu prints it."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def core_count():
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def probe_openblas_core(env=None):
    """The core OpenBLAS (as loaded through libblas.so.3) picks in a fresh process with this environment, or None."""
    try:
        out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, timeout=60)
        name = out.stdout.strip()
        return name or None
    except (OSError, subprocess.SubprocessError):
        return None


def add_openblas_argument(parser):
    parser.add_argument("--openblas-coretype", default="auto", metavar="auto|default|NAME",
                        help="auto (default): if OpenBLAS does not recognise this CPU and falls back to generic "
                             "kernels (e.g. Prescott), use SkylakeX kernels on AVX-512 machines or Haswell on AVX2 "
                             "ones; default: leave OpenBLAS's own choice; NAME: set OPENBLAS_CORETYPE=NAME. "
                             "An OPENBLAS_CORETYPE already in the environment always wins.")


def prepare_openblas(mode):
    """Call before importing NumPy or PyTorch. Returns a line describing what was decided."""
    if "OPENBLAS_CORETYPE" in os.environ:
        return "OPENBLAS_CORETYPE=%s from the environment" % os.environ["OPENBLAS_CORETYPE"]
    if mode == "default":
        return "OpenBLAS's own CPU detection (--openblas-coretype default)"
    if mode != "auto":
        os.environ["OPENBLAS_CORETYPE"] = mode
        return "OPENBLAS_CORETYPE=%s (--openblas-coretype)" % mode
    detected = probe_openblas_core()
    if detected is None or detected == "not-openblas":
        return "BLAS is not OpenBLAS; nothing to set"
    flags = cpu_flags()
    wanted = "SkylakeX" if "avx512f" in flags else "Haswell" if "avx2" in flags else None
    if detected.lower() in GENERIC_CORES and wanted is not None:
        os.environ["OPENBLAS_CORETYPE"] = wanted
        return ("OpenBLAS detected core %s (generic fallback: it does not know this CPU); set OPENBLAS_CORETYPE=%s "
                "(--openblas-coretype default keeps %s)" % (detected, wanted, detected))
    return "OpenBLAS's own CPU detection picked %s" % detected


def loaded_blas_libraries():
    """Shared libraries mapped into this process whose names look like a BLAS, resolved to real paths."""
    found = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 6 and re.search(r"blas|lapack|mkl|blis|atlas", os.path.basename(parts[-1])):
                    path = os.path.realpath(parts[-1])
                    if path not in found:
                        found.append(path)
    except OSError:
        pass
    return found


def blas_description():
    """What BLAS this process runs on: call after NumPy/PyTorch are loaded and have done one matrix product.

    Names the mapped libraries; for OpenBLAS also its version string, the core it picked and its thread count.
    """
    libs = loaded_blas_libraries()
    openblas = None
    import ctypes
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_config.restype = ctypes.c_char_p
            lib.openblas_get_corename.restype = ctypes.c_char_p
            openblas = "%s, core %s, %d threads" % (lib.openblas_get_config().decode(),
                                                    lib.openblas_get_corename().decode(),
                                                    lib.openblas_get_num_threads())
            break
        except (OSError, AttributeError):
            continue
    if openblas is not None:
        return "%s (%s)" % (openblas, ", ".join(libs))
    if any("/blas/" in p or p.endswith("libblas.so.3") for p in libs):
        return "reference BLAS, slow: install libopenblas0-pthread (%s)" % ", ".join(libs)
    return "unknown BLAS (%s)" % (", ".join(libs) or "no BLAS library mapped")


def openblas_set_threads(n):
    """Set OpenBLAS's own thread count (torch.set_num_threads does not reach it). Returns False if not OpenBLAS."""
    import ctypes
    for path in loaded_blas_libraries():
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_set_num_threads(int(n))
            return True
        except (OSError, AttributeError):
            continue
    return False


def measure(fn, warmup, repeats, sync=None):
    """Run fn warmup times untimed, then repeats times; returns the list of seconds per run."""
    for _ in range(warmup):
        fn()
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        if sync is not None:
            sync()
        runs.append(time.perf_counter() - start)
    return runs


def median(values):
    return statistics.median(values)


def mem_available_bytes():
    """MemAvailable from /proc/meminfo, or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def is_out_of_memory(error):
    """True for the errors PyTorch and NumPy raise when an allocation fails."""
    if isinstance(error, MemoryError):
        return True
    text = str(error).lower()
    return "not enough memory" in text or "out of memory" in text or "can't allocate" in text or \
        "cannot allocate" in text


def write_json(path, data):
    """Write data as indented JSON, atomically (a temporary name, then a rename)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = path + ".tmp%d" % os.getpid()
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def environment_line():
    """The environment variables that change thread-pool and BLAS behaviour, as one line."""
    names = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "GOMP_SPINCOUNT")
    return " ".join("%s=%s" % (n, os.environ[n]) for n in names if n in os.environ) or "(none set)"


def _cpu_times():
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields[:8]), idle


def other_load(seconds=0.5):
    """Fraction of the machine's cores busy while this process sleeps for a moment (0.0 = an idle machine), or None.

    Benchmarks on 2 cores are meaningless while something else runs: callers print a warning above 0.1.
    """
    try:
        total0, idle0 = _cpu_times()
        time.sleep(seconds)
        total1, idle1 = _cpu_times()
    except (OSError, ValueError, IndexError):
        return None
    total = total1 - total0
    return round(1.0 - (idle1 - idle0) / total, 3) if total > 0 else None


def load_line(load):
    if load is None:
        return "unknown"
    text = "%.0f%% of the cores busy before starting" % (100 * load)
    if load > 0.1:
        text += "  WARNING: another process is using the CPU; figures will be low and noisy"
    return text
