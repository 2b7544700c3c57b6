"""Paths, allocator names and small helpers shared by the benchmark's modules."""
import math
import os
import platform
import statistics

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # test/bench
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(HERE, "build")
GLIBC, FT = "glibc", "ft_malloc"
# Python's small objects from the allocator under test, not from pymalloc's arenas.
PY_ENV = {"PYTHONMALLOC": "malloc", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}

# Peer allocators: name, Debian package, candidate sonames (first found wins).
PEERS = [
    ("jemalloc", "libjemalloc2", ["libjemalloc.so.2", "libjemalloc.so"]),
    ("mimalloc", "libmimalloc2.0", ["libmimalloc.so.2.0", "libmimalloc.so.2", "libmimalloc.so"]),
    ("tcmalloc", "libtcmalloc-minimal4", ["libtcmalloc_minimal.so.4", "libtcmalloc_minimal.so"]),
]
COLORS = {FT: "#d62728", "jemalloc": "#1f77b4", "mimalloc": "#2ca02c", "tcmalloc": "#ff7f0e",
          GLIBC: "#7f7f7f"}


def median_or_none(xs):
    return statistics.median(xs) if xs else None


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def fmt_ratio(x):
    if x is None:
        return "-"
    return "%.2fx" % x if x < 100 else "%.0fx" % x


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
