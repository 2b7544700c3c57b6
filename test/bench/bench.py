#!/usr/bin/env python3
"""Benchmark of ft_malloc against glibc malloc, jemalloc, mimalloc and tcmalloc.

Method
------
* Allocators. Every workload is an ordinary program (test/bench/*.c built with plain gcc -O2,
  never linked with ft_malloc, or a real program: python3, g++, sort). The allocator is chosen
  at run time with LD_PRELOAD: ft_malloc through its shared object, the peers through Debian's
  libjemalloc2, libmimalloc2.0 and libtcmalloc-minimal4 (`make bench-deps`), glibc with no
  preload. A peer that is not installed is skipped, and said so. Before timing, each allocator
  is checked in place: test/bench/build/which_malloc prints the file its malloc resolves to.
* Timing. Each run's wall time is taken around the child, from fork to wait4, and its peak
  resident set is wait4's ru_maxrss (which covers the child's own children: cc1plus under g++).
  The child is forked by build/bench_exec, a 1 MiB C helper that the driver spawns and reaps
  with os.wait4 and that reports these figures on fd 3: a child forked straight from this
  Python process would inherit its ~20 MiB resident high-water mark at exec, a floor under
  every ru_maxrss. The helper runs without the preload (it passes BENCH_PRELOAD on as the
  child's LD_PRELOAD). Programs print extra metrics on stdout as key=value lines (ops,
  bytes_per_block, rss_after_free_kib) that the driver parses. CPU time goes to the CSV.
* Noise. Repetitions are interleaved: for each workload, repetition r runs every allocator
  once, in an order rotated by r, so that a noisy moment of the machine hits all of them alike.
  The figure kept is the median of the repetitions (5, or 3 with --quick). The real programs
  get one untimed run first, so that the page cache is warm for everyone. A run that crashes,
  fails or passes its time limit (30 times glibc's first run, within 10-60 s; QUICK 5-20 s) is
  reported with a command line that reproduces it, and that allocator skips the workload's
  remaining runs. ft_malloc runs from a copy of its shared object taken at the start, so that
  a rebuild in another shell cannot disturb the run.
* Threads. --threads T (make bench THREADS=T, default 2) sets the thread count of the threaded
  workloads (larson, prodcons with T/2 pairs, cache-scratch). Their total work is fixed and
  shared out among the threads, so the run stays as long on 2 cores whatever T is.
* Output. A table of time ratios against glibc and of ft_malloc against the best peer, with
  geometric means; peak-RSS ratios; memory metrics (resident bytes per live 16 B and 100 B
  block, resident size left after freeing 90 % of a 500 MB heap). Also test/bench/results.csv
  (one row per workload and allocator, every repetition's time included) and
  test/bench/results.svg (grouped bars of the time ratios against glibc, log scale).
* Python runs with PYTHONMALLOC=malloc, so that its small objects come from the allocator under
  test rather than from pymalloc's arenas.
* --ir (make bench-ir): instructions per operation under `valgrind --tool=callgrind` for the
  single-threaded micro workloads. Callgrind does not replace malloc (only memcheck-like tools
  do), so LD_PRELOAD is honoured; the which_malloc check is repeated under valgrind. Each
  workload runs with a small operation count N1 and a larger N2 and the figure is
  (Ir(N2) - Ir(N1)) / (ops(N2) - ops(N1)): start-up and tear-down cancel out. It is exact and
  repeatable where seconds wander, the figure to quote for one-thread speed; but it counts user
  space only: the kernel work of mmap, munmap and page faults (which LARGE blocks pay) is not in
  it.
"""
import argparse
import csv
import math
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
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


# --------------------------------------------------------------------------------------------
# Allocators


class Allocator:
    def __init__(self, name, so):
        self.name = name
        self.so = so  # None for glibc

    def env(self, base):
        env = dict(base)
        if self.so:
            env["LD_PRELOAD"] = self.so
        return env

    def prefix(self):
        return "LD_PRELOAD=%s " % self.so if self.so else ""


def lib_dirs():
    dirs = []
    arch = sysconfig_multiarch()
    for d in ["/usr/local/lib", "/usr/lib/" + arch, "/lib/" + arch, "/usr/lib64", "/usr/lib",
              "/lib64", "/lib"]:
        if d not in dirs and os.path.isdir(d):
            dirs.append(d)
    return dirs


def sysconfig_multiarch():
    import sysconfig
    arch = sysconfig.get_config_var("MULTIARCH")
    return arch or "%s-linux-gnu" % platform.machine()


def find_so(sonames):
    for name in sonames:
        for d in lib_dirs():
            path = os.path.join(d, name)
            if os.path.exists(path):
                return path
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    except OSError:
        out = ""
    for name in sonames:
        m = re.search(r"^\s*%s .*=> (\S+)$" % re.escape(name), out, re.M)
        if m:
            return m.group(1)
    return None


def which_malloc(alloc, base_env, valgrind=None):
    """Returns (ok, message): does malloc resolve to the allocator's file in a child?"""
    argv = [os.path.join(BUILD, "which_malloc")]
    if valgrind:
        argv = valgrind + argv
    r = subprocess.run(argv, env=alloc.env(base_env), capture_output=True, text=True)
    m = re.search(r"^malloc_from=(.*)$", r.stdout, re.M)
    if r.returncode != 0 or not m:
        return False, "check run failed (rc=%d): %s" % (r.returncode, r.stderr.strip()[-400:])
    got = os.path.realpath(m.group(1))
    if alloc.so:
        if got != os.path.realpath(alloc.so):
            return False, "malloc comes from %s, not %s: %s" % (got, alloc.so,
                                                                r.stderr.strip()[-300:])
    elif "libc.so" not in os.path.basename(got):
        return False, "malloc comes from %s, not libc" % got
    return True, got


def find_allocators(args, base_env):
    allocs = [Allocator(GLIBC, None)]
    notes = []
    so = os.path.abspath(os.path.join(ROOT, args.so)) if args.so else None
    if so and os.path.exists(so):
        # Benchmark a private copy: a rebuild of the shared object during the run (make re in
        # another shell) would otherwise make some runs fail to preload, or mix two versions.
        snap = os.path.join(BUILD, "ft_malloc_snapshot.so")
        shutil.copy2(so, snap + ".tmp")
        os.replace(snap + ".tmp", snap)
        notes.append("ft_malloc: benchmarking %s, a copy of %s as of %s" % (
            os.path.relpath(snap, ROOT), os.path.relpath(so, ROOT),
            time.strftime("%H:%M:%S", time.localtime(os.path.getmtime(so)))))
        allocs.append(Allocator(FT, snap))
    else:
        notes.append("ft_malloc: %s not found (run `make`); benchmarking the peers only" % args.so)
    for name, pkg, sonames in PEERS:
        if args.only and name not in args.only:
            continue
        path = find_so(sonames)
        if path:
            allocs.append(Allocator(name, path))
        else:
            notes.append("%s: not installed (Debian package %s, `make bench-deps`); skipped"
                         % (name, pkg))
    checked = []
    for a in allocs:
        ok, msg = which_malloc(a, base_env)
        if ok:
            checked.append(a)
        else:
            notes.append("%s: skipped, the preload check failed: %s" % (a.name, msg))
    return checked, notes


# --------------------------------------------------------------------------------------------
# Workloads


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


def workloads(quick, threads):
    """List of (name, argv, extra_env, metric, description). metric: the key of the stdout value
    reported in the memory table, or None. Sizes aim at 0.1-0.5 s under glibc on 2 cores (QUICK:
    about a fifth), fewer operations where some allocator pays a system call per operation."""
    q = (lambda full, small: small if quick else full)
    b = lambda prog: os.path.join(BUILD, prog)
    t = max(1, threads)
    w = []
    for label, size, n in [("16", 16, 15_000_000), ("64", 64, 15_000_000),
                           ("512", 512, 15_000_000), ("4K", 4096, 6_000_000),
                           ("64K", 65536, 2_000_000), ("1M", 1 << 20, 20_000)]:
        w.append(("pair-" + label, [b("pairs"), str(size), str(q(n, n // 4))], {}, None,
                  "malloc/free pairs of %s bytes" % size))
    w.append(("pair-mixed", [b("pairs"), "mixed", str(q(15_000_000, 3_000_000))], {}, None,
              "malloc/free pairs of 1..512 bytes"))
    w.append(("churn", [b("churn"), "1000", str(q(2_000_000, 500_000))], {}, None,
              "random free/malloc of mixed sizes, 1000 live blocks"))
    rounds, total = 10, q(500_000, 125_000)
    w.append(("larson", [b("larson"), str(t), str(rounds), str(max(1, total // t)), "1000"], {},
              None, "%d threads take over each other's blocks, %d rounds" % (t, rounds)))
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


# --------------------------------------------------------------------------------------------
# Running


class Run:
    def __init__(self, status, wall, maxrss_kib, values, stderr=""):
        self.status = status  # "ok", "timeout", "signal N", "rc N"
        self.wall = wall
        self.maxrss_kib = maxrss_kib
        self.values = values
        self.stderr = stderr


def run_once(argv, env, timeout):
    """Runs argv through build/bench_exec in a session of its own and returns a Run.

    bench_exec forks the program, waits for it with wait4 and reports on fd 3 the wall time
    around it and its ru_maxrss (children included): a program forked straight from this
    driver would inherit the driver's resident high-water mark. The driver waits for
    bench_exec with os.wait4, and kills the whole session when the time limit passes."""
    env = dict(env)
    if "LD_PRELOAD" in env:
        env["BENCH_PRELOAD"] = env.pop("LD_PRELOAD")
    cmd = [os.path.join(BUILD, "bench_exec")] + list(argv)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryFile() as res:
        t0 = time.perf_counter()
        pid = os.posix_spawn(cmd[0], cmd, env,
                             file_actions=[(os.POSIX_SPAWN_DUP2, out.fileno(), 1),
                                           (os.POSIX_SPAWN_DUP2, err.fileno(), 2),
                                           (os.POSIX_SPAWN_DUP2, res.fileno(), 3)],
                             setsid=True)
        fired = []

        def kill():
            fired.append(1)
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            os.wait4(pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        for f in (out, err, res):
            f.seek(0)
        text = out.read().decode(errors="replace")
        etext = err.read().decode(errors="replace")
        rtext = res.read().decode(errors="replace")
    values = {}
    for m in re.finditer(r"^(\w+)=([-+0-9.eE]+)\s*$", text, re.M):
        values[m.group(1)] = float(m.group(2))
    meas = dict((k, float(v)) for k, v in re.findall(r"(\w+)=([-+0-9.eE]+)", rtext))
    # ft_heap --replay: its own time and peak rise, without the loading of the log.
    m = re.search(r"^  time ([0-9.]+) ms", text, re.M)
    if m:
        values["replay_s"] = float(m.group(1)) / 1e3
    m = re.search(r"^  peak RSS (\d+) kB \(\w+; (\d+) kB before the replay\)", text, re.M)
    if m:
        values["replay_peak_kib"] = float(int(m.group(1)) - int(m.group(2)))
    status = int(meas.get("status", -1))
    if fired:
        st = "timeout"
    elif status < 0:
        st = "bench_exec failed: " + etext.strip()[-200:]
    elif os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            st = "signal %d (%s)" % (sig, signal.Signals(sig).name)
        except ValueError:
            st = "signal %d" % sig
    elif os.WEXITSTATUS(status) != 0:
        st = "rc %d" % os.WEXITSTATUS(status)
    elif "cannot be preloaded" in etext:
        st = "preload ignored"
    else:
        st = "ok"
    r = Run(st, values.get("replay_s", meas.get("wall_s", wall)),
            int(values.get("replay_peak_kib", meas.get("maxrss_kib", 0))), values, etext)
    r.cpu = meas.get("user_s", 0.0) + meas.get("sys_s", 0.0)
    return r


def shell_cmd(alloc, argv, extra):
    envs = "".join("%s=%s " % kv for kv in extra.items())
    return alloc.prefix() + envs + " ".join(argv)


def median_or_none(xs):
    return statistics.median(xs) if xs else None


def bench(args, allocs, base_env):
    reps = args.reps or (3 if args.quick else 5)
    wl = workloads(args.quick, args.threads)
    if args.workloads:
        wl = [x for x in wl if x[0] in args.workloads]
    results = {}  # (workload, alloc) -> dict
    failures = []
    start = time.perf_counter()
    names = [a.name for a in allocs]
    print("load average at the start: %s (other work on the machine skews wall times)" % loadavg())
    print("%-14s %s" % ("workload", "  ".join("%9s" % n for n in names)) + "   (median wall s)")
    sys.stdout.flush()
    for wname, argv, extra, metric, desc in wl:
        env_extra = dict(extra)
        runs = {a.name: [] for a in allocs}
        dead = {}
        glibc_first = None
        if argv[0] == sys.executable or not argv[0].startswith(BUILD):
            # a real program: one untimed run first, so that no allocator pays for a cold cache
            run_once(argv, dict(base_env, **env_extra), 120.0)
        for rep in range(reps):
            order = allocs[rep % len(allocs):] + allocs[:rep % len(allocs)]
            for a in order:
                if a.name in dead:
                    continue
                env = a.env(base_env)
                env.update(env_extra)
                if args.timeout:
                    limit = args.timeout
                elif args.quick:
                    limit = min(20.0, max(5.0, 30 * glibc_first)) if glibc_first else 20.0
                else:
                    limit = min(60.0, max(10.0, 30 * glibc_first)) if glibc_first else 60.0
                r = run_once(argv, env, limit)
                if a.name == GLIBC and glibc_first is None and r.status == "ok":
                    glibc_first = r.wall
                if r.status != "ok":
                    detail = r.status + (" after %g s" % limit if r.status == "timeout" else "")
                    dead[a.name] = detail
                    cmd = shell_cmd(a, argv, env_extra)
                    failures.append((wname, a.name, detail, cmd, r.stderr.strip()[-600:]))
                    print("  !! %s under %s: %s\n     reproduce: %s%s" % (
                        wname, a.name, detail, cmd,
                        ("\n     stderr: " + r.stderr.strip()[-300:].replace("\n", "\n     ")
                         if r.stderr.strip() else "")))
                    continue
                runs[a.name].append(r)
        cells = []
        for a in allocs:
            rs = runs[a.name]
            res = {
                "status": dead.get(a.name, "ok"),
                "times": [r.wall for r in rs],
                "time": median_or_none([r.wall for r in rs]) if a.name not in dead else None,
                "maxrss": median_or_none([r.maxrss_kib for r in rs]),
                "cpu": median_or_none([r.cpu for r in rs]),
                "metric": metric,
                "value": (median_or_none([r.values[metric] for r in rs if metric in r.values])
                          if metric and a.name not in dead else None),
                "ops": rs[0].values.get("ops") if rs else None,
                "live_kib": rs[0].values.get("live_kib") if rs else None,
                "cmd": shell_cmd(a, argv, env_extra),
            }
            results[(wname, a.name)] = res
            cells.append("%9s" % ("%.3f" % res["time"] if res["time"] is not None else "FAIL"))
        print("%-14s %s" % (wname, "  ".join(cells)))
        sys.stdout.flush()
    elapsed = time.perf_counter() - start
    return wl, results, failures, reps, elapsed


# --------------------------------------------------------------------------------------------
# Reporting


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def fmt_ratio(x):
    if x is None:
        return "-"
    return "%.2fx" % x if x < 100 else "%.0fx" % x


def report(wl, allocs, results, failures, reps, elapsed, args, notes):
    names = [a.name for a in allocs]
    others = [n for n in names if n != GLIBC]
    peers = [n for n in names if n not in (GLIBC, FT)]
    has_ft = FT in names
    lines = []
    p = lines.append
    cpu = cpu_model()
    p("")
    p("ft_malloc benchmark: %d thread(s) for the threaded workloads, median of %d runs%s, %s, "
      "%d cores, %.0f s, load average %s at the end" % (
          args.threads, reps, " (QUICK)" if args.quick else "", cpu, os.cpu_count(), elapsed,
          loadavg()))
    p("")
    p("Wall time: glibc in seconds, the others as a ratio to glibc (lower is faster)")
    hdr = "%-14s %9s" % ("workload", "glibc s") + "".join("%11s" % n for n in others)
    if has_ft and peers:
        hdr += "   ft/best peer     "
    hdr += " %7s" % "spread"
    p(hdr)
    p("-" * len(hdr))
    ratios = {n: [] for n in others}
    ft_best = []
    common = []  # workloads where every allocator ran: geometric means over the same set
    for wname, *_ in wl:
        g = results[(wname, GLIBC)]["time"]
        row = "%-14s %9s" % (wname, "%.3f" % g if g else "FAIL")
        all_ok = bool(g)
        for n in others:
            t = results[(wname, n)]["time"]
            r = t / g if (t and g) else None
            all_ok = all_ok and r is not None
            results[(wname, n)]["ratio"] = r
            ratios[n].append(r)
            row += "%11s" % (fmt_ratio(r) if r is not None else
                             ("FAIL" if results[(wname, n)]["status"] != "ok" else "-"))
        results[(wname, GLIBC)]["ratio"] = 1.0 if g else None
        if has_ft and peers:
            ft = results[(wname, FT)]["time"]
            best = min(((results[(wname, n)]["time"], n) for n in peers
                        if results[(wname, n)]["time"]), default=None)
            if ft and best:
                ft_best.append(ft / best[0])
                row += "   %6s %-11s" % (fmt_ratio(ft / best[0]), "(%s)" % best[1])
                results[(wname, FT)]["vs_best_peer"] = ft / best[0]
            else:
                ft_best.append(None)
                row += "   %6s %-11s" % ("-", "")
        spreads = [max(r["times"]) / min(r["times"]) for r in
                   (results[(wname, n)] for n in names) if len(r["times"]) > 1]
        row += " %7s" % (fmt_ratio(max(spreads)) if spreads else "-")
        if all_ok:
            common.append(wname)
        p(row)
    p("-" * len(hdr))
    row = "%-14s %9s" % ("geomean", "1")
    for n in others:
        row += "%11s" % fmt_ratio(geomean(ratios[n]))
    if has_ft and peers:
        row += "   %6s" % fmt_ratio(geomean(ft_best))
    p(row)
    p("  spread: the largest max/min of one allocator's run times; well over 1.2x means a busy")
    p("  machine (see the load average above) or a workload with two modes (prodcons under glibc)")
    if len(common) < len(wl):
        p("  (geometric means over the workloads each allocator completed; failures: %s)"
          % ", ".join("%s/%s" % (f[0], f[1]) for f in failures))
    p("")
    p("Peak resident set (ru_maxrss; replay-*: the replay's own rise, VmHWM): glibc in MiB, the "
      "others as a ratio to glibc")
    hdr2 = "%-14s %9s" % ("workload", "glibc MiB") + "".join("%11s" % n for n in others)
    p(hdr2)
    p("-" * len(hdr2))
    mr = {n: [] for n in others}
    for wname, *_ in wl:
        g = results[(wname, GLIBC)]["maxrss"]
        row = "%-14s %9s" % (wname, "%.1f" % (g / 1024) if g else "FAIL")
        for n in others:
            m = results[(wname, n)]["maxrss"]
            r = m / g if (m and g and results[(wname, n)]["status"] == "ok") else None
            results[(wname, n)]["maxrss_ratio"] = r
            mr[n].append(r)
            row += "%11s" % (fmt_ratio(r) if r else "FAIL")
        p(row)
    p("-" * len(hdr2))
    p("%-14s %9s" % ("geomean", "1") + "".join("%11s" % fmt_ratio(geomean(mr[n])) for n in others))
    p("")
    p("Memory metrics (printed by the workloads; lower is better)")
    hdr3 = "%-26s" % "metric" + "".join("%11s" % n for n in names)
    p(hdr3)
    p("-" * len(hdr3))
    for wname, argv, extra, metric, desc in wl:
        if not metric:
            continue
        label = {"rss-16": "bytes per live 16 B block", "rss-100": "bytes per live 100 B block",
                 "frag": "frag: RSS MiB after free"}.get(wname, wname + " " + metric)
        row = "%-26s" % label
        for n in names:
            v = results[(wname, n)]["value"]
            if v is not None and metric.endswith("_kib"):
                v /= 1024
            row += "%11s" % ("%.1f" % v if v is not None else "FAIL")
        p(row)
        if wname == "frag":
            live = results[(wname, GLIBC)].get("live_kib")
            if live:
                p("%-26s%11s" % ("  (live data MiB)", "%.1f" % (live / 1024)))
    if failures:
        p("")
        p("Failures (each allocator skips the rest of a workload after one):")
        for wname, n, detail, cmd, err in failures:
            p("  %s under %s: %s" % (wname, n, detail))
            p("    reproduce: %s" % cmd)
    for note in notes:
        p("note: " + note)
    text = "\n".join(lines)
    print(text)
    return text


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


def write_csv(path, wl, allocs, results):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["workload", "allocator", "status", "runs", "time_s_median", "time_s_min",
                    "time_s_max", "cpu_s_median", "time_ratio_vs_glibc", "ft_vs_best_peer",
                    "maxrss_kib",
                    "maxrss_ratio_vs_glibc", "ops", "ns_per_op", "metric", "metric_value",
                    "times_s", "command"])
        for wname, *_ in wl:
            for a in allocs:
                r = results[(wname, a.name)]
                t = r["time"]
                ops = r["ops"]
                w.writerow([wname, a.name, r["status"], len(r["times"]),
                            "%.4f" % t if t else "", "%.4f" % min(r["times"]) if r["times"] else "",
                            "%.4f" % max(r["times"]) if r["times"] else "",
                            "%.4f" % r["cpu"] if r["cpu"] is not None else "",
                            "%.4f" % r["ratio"] if r.get("ratio") else "",
                            "%.4f" % r["vs_best_peer"] if r.get("vs_best_peer") else "",
                            "%d" % r["maxrss"] if r["maxrss"] else "",
                            "%.4f" % r["maxrss_ratio"] if r.get("maxrss_ratio") else "",
                            "%d" % ops if ops else "",
                            "%.2f" % (t / ops * 1e9) if (t and ops) else "",
                            r["metric"] or "",
                            "%.2f" % r["value"] if r["value"] is not None else "",
                            ";".join("%.4f" % x for x in r["times"]), r["cmd"]])


def esc(s):
    return (str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def write_svg(path, wl, allocs, results, subtitle):
    """Grouped bars: one group per workload (and the geometric mean), one bar per allocator,
    wall-time ratio to glibc on a log2 scale, bars drawn from the glibc line at 1x."""
    names = [a.name for a in allocs if a.name != GLIBC]
    groups = []
    for wname, *_ in wl:
        groups.append((wname, [(n, results[(wname, n)].get("ratio"), results[(wname, n)]["status"])
                               for n in names]))
    groups.append(("geomean", [(n, geomean([results[(w[0], n)].get("ratio") for w in wl]), "ok")
                               for n in names]))
    vals = [r for _, bars in groups for _, r, _ in bars if r]
    lo_exp = min(-1, math.floor(math.log2(min(vals) * 0.9))) if vals else -1
    hi_exp = max(1, math.ceil(math.log2(max(vals) * 1.1))) if vals else 1
    lo_exp, hi_exp = max(lo_exp, -6), min(hi_exp, 8)
    bar_w, gap = 11, 16
    group_w = len(names) * bar_w + gap
    left, right, top, bottom = 70, 20, 78, 92
    plot_h = 360
    width = left + right + group_w * len(groups)
    height = top + plot_h + bottom

    def y(r):
        e = min(max(math.log2(r), lo_exp), hi_exp)
        return top + plot_h * (hi_exp - e) / (hi_exp - lo_exp)

    o = []
    o.append('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
             'font-family="DejaVu Sans, Arial, sans-serif" font-size="11">' %
             (width, height, width, height))
    o.append('<rect width="100%" height="100%" fill="white"/>')
    o.append('<text x="%d" y="20" font-size="15" font-weight="bold">Wall time relative to glibc '
             'malloc (log scale; below 1 is faster than glibc)</text>' % left)
    o.append('<text x="%d" y="38" fill="#555">%s</text>' % (left, esc(subtitle)))
    lx = left
    for n in names:
        o.append('<rect x="%d" y="50" width="12" height="12" fill="%s"/>' % (lx, COLORS.get(n,
                                                                                         "#999")))
        o.append('<text x="%d" y="60">%s</text>' % (lx + 16, esc(n)))
        lx += 28 + 7 * len(n)
    for e in range(lo_exp, hi_exp + 1):
        yy = y(2.0 ** e)
        label = ("%g" % 2.0 ** e) + "x"
        o.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="%s"/>' %
                 (left, width - right, yy, yy, "#333" if e == 0 else "#ddd",
                  "1.2" if e == 0 else "1"))
        o.append('<text x="%d" y="%.1f" text-anchor="end" fill="#444">%s</text>' %
                 (left - 6, yy + 4, label))
    y1 = y(1.0)
    for gi, (gname, bars) in enumerate(groups):
        gx = left + gi * group_w + gap / 2
        if gname == "geomean":
            o.append('<rect x="%.1f" y="%d" width="%d" height="%d" fill="#f3f3f3"/>' %
                     (gx - gap / 2, top, group_w, plot_h))
        for bi, (n, r, st) in enumerate(bars):
            x = gx + bi * bar_w
            if r:
                yr = y(r)
                o.append('<rect x="%.1f" y="%.1f" width="%d" height="%.1f" fill="%s">'
                         '<title>%s, %s: %.2fx glibc</title></rect>' %
                         (x, min(yr, y1), bar_w - 1, max(abs(yr - y1), 1), COLORS.get(n, "#999"),
                          esc(gname), esc(n), r))
                if math.log2(r) > hi_exp:
                    o.append('<text x="%.1f" y="%.1f" font-size="9" text-anchor="middle">%.0fx'
                             '</text>' % (x + bar_w / 2, top - 3, r))
            elif st != "ok":
                o.append('<text x="%.1f" y="%.1f" font-size="10" fill="%s" text-anchor="middle">'
                         '&#x2716;<title>%s, %s: %s</title></text>' %
                         (x + bar_w / 2, y1 - 4, COLORS.get(n, "#999"), esc(gname), esc(n),
                          esc(st)))
        cx = gx + len(bars) * bar_w / 2
        o.append('<text transform="translate(%.1f,%d) rotate(-40)" text-anchor="end">%s</text>' %
                 (cx, top + plot_h + 14, esc(gname)))
    o.append('<text x="%d" y="%d" fill="#555" font-size="10">&#x2716; = crashed, failed or timed '
             'out. Made by test/bench/bench.py (make bench).</text>' % (left, height - 8))
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")


# --------------------------------------------------------------------------------------------
# Instructions per operation (callgrind)


def ir_workloads(quick):
    b = lambda prog: os.path.join(BUILD, prog)
    s = 5 if quick else 1
    # name, argv for an operation count n, N1, N2, what one operation is
    return [
        ("pair-16", lambda n: [b("pairs"), "16", str(n)], 20000 // s, 220000 // s,
         "malloc(16) + free"),
        ("pair-mixed", lambda n: [b("pairs"), "mixed", str(n)], 20000 // s, 220000 // s,
         "malloc(1..512) + free"),
        ("churn", lambda n: [b("churn"), "1000", str(n)], 20000 // s, 220000 // s,
         "free + malloc, 1000 live mixed"),
        ("pair-1M", lambda n: [b("pairs"), str(1 << 20), str(n)], 2000 // s, 22000 // s,
         "malloc(1 MiB) + free (LARGE)"),
        ("realloc-step", lambda n: [b("realloc_grow"), "65536", str(n)], 4 // min(s, 2),
         44 // s, "one realloc step, 1 B -> 64 KiB"),
    ]


def callgrind_ir(argv, env, tmpdir):
    out = os.path.join(tmpdir, "cg.out")
    if os.path.exists(out):
        os.unlink(out)
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + argv
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if r.returncode != 0 or not os.path.exists(out):
        return None, None, "rc %d: %s" % (r.returncode, r.stderr.strip()[-300:])
    total = None
    with open(out) as f:
        for line in f:
            if line.startswith("summary:") or line.startswith("totals:"):
                total = int(line.split()[1])
    m = re.search(r"^ops=(\d+)", r.stdout, re.M)
    return total, int(m.group(1)) if m else None, None


def ir_mode(args, allocs, base_env):
    if not shutil.which("valgrind"):
        print("bench-ir: valgrind is not installed (make bench-deps installs it)")
        return 1
    vg = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    checked = []
    for a in allocs:
        ok, msg = which_malloc(a, base_env, vg)
        if ok:
            checked.append(a)
        else:
            print("note: %s skipped under callgrind: %s" % (a.name, msg))
    allocs = checked
    print("under callgrind, malloc resolves to the preloaded allocator for: %s"
          % ", ".join(a.name for a in allocs))
    wl = ir_workloads(args.quick)
    table = {}
    with tempfile.TemporaryDirectory() as tmp:
        for wname, mk, n1, n2, what in wl:
            for a in allocs:
                ir1, ops1, e1 = callgrind_ir(mk(n1), a.env(base_env), tmp)
                ir2, ops2, e2 = callgrind_ir(mk(n2), a.env(base_env), tmp)
                if e1 or e2 or not ops1 or not ops2 or ops2 == ops1:
                    table[(wname, a.name)] = None
                    print("  !! %s under %s failed: %s\n     reproduce: %svalgrind "
                          "--tool=callgrind %s" % (wname, a.name, e1 or e2 or "no ops printed",
                                                   a.prefix(), " ".join(mk(n2))))
                else:
                    table[(wname, a.name)] = (ir2 - ir1) / (ops2 - ops1)
            print("  %-13s %s" % (wname, "  ".join(
                "%s=%s" % (a.name, "%.0f" % table[(wname, a.name)] if table[(wname, a.name)]
                           else "FAIL") for a in allocs)))
            sys.stdout.flush()
    names = [a.name for a in allocs]
    print("")
    print("Instructions per operation: callgrind Ir, (Ir(N2) - Ir(N1)) / (ops(N2) - ops(N1)).")
    print("User space only: the kernel's share (mmap, munmap, page faults: what LARGE blocks pay)"
          " is not counted.")
    hdr = "%-13s %-32s" % ("workload", "one operation") + "".join("%11s" % n for n in names)
    print(hdr)
    print("-" * len(hdr))
    for wname, mk, n1, n2, what in wl:
        print("%-13s %-32s" % (wname, what) + "".join(
            "%11s" % ("%.0f" % table[(wname, n)] if table[(wname, n)] else "FAIL")
            for n in names))
    print("-" * len(hdr))
    if GLIBC in names:
        print("%-46s" % "geomean ratio to glibc" + "".join("%11s" % fmt_ratio(geomean(
            [table[(w[0], n)] / table[(w[0], GLIBC)] for w in wl
             if table[(w[0], n)] and table[(w[0], GLIBC)]])) for n in names))
    return 0


# --------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--so", default=None,
                    help="ft_malloc shared object, relative to the repository root")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="smaller workloads, 3 runs (~1 min)")
    ap.add_argument("--reps", type=int, default=0, help="runs per allocator (default 5, quick 3)")
    ap.add_argument("--ir", action="store_true", help="instructions per operation (callgrind)")
    ap.add_argument("--only", nargs="*", help="peers to include (default: all installed)")
    ap.add_argument("--workloads", nargs="*", help="workload names to run (default: all)")
    ap.add_argument("--timeout", type=float, default=0, help="fixed time limit per run, s")
    ap.add_argument("--no-write", action="store_true", help="do not write results.csv/svg")
    ap.add_argument("--list", action="store_true", help="list the workloads and exit")
    args = ap.parse_args()
    if not args.so:
        args.so = "libft_malloc_%s_%s.so" % (platform.machine(), platform.system())
    if args.list:
        for name, argv, extra, metric, desc in workloads(args.quick, args.threads):
            print("%-14s %s\n%14s %s%s" % (name, desc, "", "".join("%s=%s " % kv for kv in
                                                                   extra.items()),
                                             " ".join(os.path.relpath(a) if a.startswith(ROOT)
                                                      else a for a in argv)))
        return 0
    for prog in ["pairs", "which_malloc"]:
        if not os.path.exists(os.path.join(BUILD, prog)):
            sys.exit("bench.py: %s/%s is missing; run `make bench` (it builds the workloads)"
                     % (BUILD, prog))
    base_env = {k: v for k, v in os.environ.items()
                if k != "LD_PRELOAD" and not k.startswith("MALLOC_")}
    base_env["LC_ALL"] = "C"
    allocs, notes = find_allocators(args, base_env)
    for n in notes:
        print("note: " + n)
    print("allocators: " + ", ".join("%s (%s)" % (a.name, a.so or "no preload") for a in allocs))
    sys.stdout.flush()
    if args.ir:
        return ir_mode(args, allocs, base_env)
    wl, results, failures, reps, elapsed = bench(args, allocs, base_env)
    report(wl, allocs, results, failures, reps, elapsed, args, notes)
    if not args.no_write:
        write_csv(os.path.join(HERE, "results.csv"), wl, allocs, results)
        sub = "%d thread(s), median of %d runs%s, %s, %d cores" % (
            args.threads, reps, " (QUICK)" if args.quick else "", cpu_model(), os.cpu_count())
        write_svg(os.path.join(HERE, "results.svg"), wl, allocs, results, sub)
        print("wrote %s and %s" % (os.path.relpath(os.path.join(HERE, "results.csv")),
                                   os.path.relpath(os.path.join(HERE, "results.svg"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
