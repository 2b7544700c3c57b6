"""The workloads: the programs of test/bench/ and real programs, with their sizes."""
import os
import random
import shutil
import subprocess
import sys
import tempfile

from benchlib.common import BUILD, HERE, PY_ENV, ROOT


def sort_input(lines):
    path = os.path.join(BUILD, "sort_input_%d.txt" % lines)
    if not os.path.exists(path):
        rnd = random.Random(5)
        letters = "abcdefghijklmnopqrstuvwxyz"
        with open(path + ".tmp", "w") as f:
            for i in range(lines):
                word = "".join(rnd.choice(letters) for _ in range(rnd.randint(4, 24)))
                f.write("%s %d %s\n" % (word, rnd.randint(0, 10 ** 9), word[::-1][:8]))
        os.replace(path + ".tmp", path)
    return path


def recorded_log(name, argv, env, sources):
    """The call log of a real program, recorded once with `ft_heap --trace` into build/ and
    replayed by `ft_heap --replay` under every allocator: the program's own allocation pattern,
    without its other work. Recorded again when a source it depends on is newer. A program that
    starts others (g++ runs cc1plus) leaves one log per process; the biggest is kept. None when
    it cannot be recorded (no ft_heap: `make` builds it)."""
    path = os.path.join(BUILD, "replay-%s.log" % name)
    newest = max(os.path.getmtime(s) for s in sources)
    if os.path.exists(path) and os.path.getmtime(path) >= newest:
        return path
    ft_heap = os.path.join(ROOT, "ft_heap")
    if not os.path.exists(ft_heap):
        return None
    os.makedirs(BUILD, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ft_bench_") as tmp:
        log = os.path.join(tmp, "log")
        r = subprocess.run([ft_heap, "--trace", log, "--"] + argv, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
        logs = [os.path.join(tmp, f) for f in os.listdir(tmp)]
        if r.returncode != 0 or not logs:
            print("note: could not record the call log of %s: %s" % (
                " ".join(argv), r.stderr.decode(errors="replace").strip()[-300:]))
            return None
        shutil.copyfile(max(logs, key=os.path.getsize), path + ".tmp")
        os.replace(path + ".tmp", path)
    return path


# The workloads whose ft_malloc run is repeated once with FT_MALLOC_STATS=1, for the lock table.
LOCK_STATS_WORKLOADS = ("churn", "larson", "larson-orig", "server", "prodcons", "cache-scratch")


def workloads(quick, threads):
    """List of (name, argv, extra_env, metric, description). metric: the key of the stdout value
    reported in the memory table, or None. Sizes aim at 0.1-0.5 s under glibc on 2 cores (QUICK:
    about a fifth), fewer operations where some allocator pays a system call per operation."""
    q = (lambda full, small: small if quick else full)
    b = lambda prog: os.path.join(BUILD, prog)
    t = max(1, threads)
    w = []
    # pair-1M and pair-4M: fewer pairs, since an allocator that maps and unmaps each block pays
    # two system calls and two page faults per pair where glibc reuses the block.
    for label, size, n in [("16", 16, 15_000_000), ("64", 64, 15_000_000),
                           ("512", 512, 15_000_000), ("4K", 4096, 6_000_000),
                           ("8K", 8192, 6_000_000), ("64K", 65536, 2_000_000),
                           ("1M", 1 << 20, 20_000), ("4M", 4 << 20, 20_000)]:
        w.append(("pair-" + label, [b("pairs"), str(size), str(q(n, n // 4))], {}, None,
                  "malloc/free pairs of %s bytes" % size))
    w.append(("pair-mixed", [b("pairs"), "mixed", str(q(15_000_000, 3_000_000))], {}, None,
              "malloc/free pairs of 1..512 bytes"))
    w.append(("churn", [b("churn"), "1000", str(q(2_000_000, 500_000))], {}, None,
              "random free/malloc of mixed sizes, 1000 live blocks"))
    # A mapping per block costs an mmap, a munmap and a fault per page: fewer steps.
    w.append(("large-churn", [b("large_churn"), "8", str(q(1000, 250))], {}, None,
              "random free/malloc of 128 KiB..8 MiB, 8 live blocks, every page written"))
    rounds, total = 10, q(500_000, 125_000)
    w.append(("larson", [b("larson"), str(t), str(rounds), str(max(1, total // t)), "1000"], {},
              None, "%d threads take over each other's blocks, %d rounds" % (t, rounds)))
    w.append(("larson-orig", [b("larson_orig"), str(t), str(rounds), str(max(1, total // t)),
                              "1000"], {}, None,
              "larson with the random states in one shared array, as the original"))
    w.append(("server", [b("server"), str(t), str(q(2_000_000, 500_000)), "10000"], {}, None,
              "%d threads swap blocks into one shared array, most frees remote" % t))
    pairs = max(1, t // 2)
    w.append(("prodcons", [b("prodcons"), str(pairs), str(q(1_000_000, 250_000) // pairs)], {},
              None, "%d producer/consumer pair(s), blocks freed by the other thread" % pairs))
    w.append(("cache-scratch", [b("cache_scratch"), str(t), str(q(20000, 5000) // t), "1000",
                                "8"], {}, None, "false sharing of neighbouring 8-byte blocks"))
    w.append(("realloc-64K", [b("realloc_grow"), str(64 << 10), str(q(20000, 5000))], {}, None,
              "realloc growth 1 B -> 64 KiB, +1..16 B steps up to 4 KiB"))
    big = q(64, 16)
    w.append(("realloc-%dM" % big, [b("realloc_grow"), str(big << 20), "1"], {}, None,
              "realloc growth 1 B -> %d MiB" % big))
    w.append(("tree", [b("tree"), str(q(20, 18)), str(q(1, 2))], {}, None,
              "binary tree of 2M 24-byte nodes built and freed"))
    w.append(("rss-16", [b("rss_per_block"), "16", str(q(1_000_000, 250_000))], {},
              "bytes_per_block", "resident bytes per live 16-byte block"))
    w.append(("rss-100", [b("rss_per_block"), "100", str(q(300_000, 100_000))], {},
              "bytes_per_block", "resident bytes per live 100-byte block"))
    w.append(("frag", [b("frag"), str(q(500, 100)), "90"], {}, "rss_after_free_kib",
              "resident KiB after freeing 90% of a mixed-size heap"))
    w.append(("python", [sys.executable, os.path.join(HERE, "heap.py"), "1"], PY_ENV, None, "python3 heap-heavy script (PYTHONMALLOC=malloc)"))
    gxx = shutil.which("g++") or "g++"
    gxx_argv = [gxx, "-std=c++17", q("-O1", "-fsyntax-only")] + \
        ["-c", os.path.join(HERE, "stl_heavy.cpp"), "-o", os.devnull]
    w.append(("g++", gxx_argv, {}, None, "g++ compiling an STL-heavy file"))
    # The same two programs' allocation patterns alone, replayed from a recorded call log. The
    # time and peak are the replay's own (ft_heap reports them; loading the log is left out).
    py_env = dict(os.environ, **PY_ENV)
    py_env.pop("LD_PRELOAD", None)
    for name, argv, env, sources in [
            ("python", [sys.executable, os.path.join(HERE, "heap.py"), "1"], py_env,
             [os.path.join(HERE, "heap.py")]),
            ("g++", gxx_argv, {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"},
             [os.path.join(HERE, "stl_heavy.cpp")])]:
        log = recorded_log(name + ("-quick" if quick else ""), argv, env, sources)
        if log:
            w.append(("replay-" + name, [os.path.join(ROOT, "ft_heap"), "--replay", log], {},
                      None, "replay of %s's call log (ft_heap --replay)" % name))
    w.append(("sort", [shutil.which("sort") or "sort", "-o", os.devnull,
                       sort_input(q(1_000_000, 200_000))], {}, None,
              "sort(1) of %s lines" % q("1M", "200k")))
    return w
