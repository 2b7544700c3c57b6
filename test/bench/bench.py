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
  workloads (larson, larson-orig, server, prodcons with T/2 pairs, cache-scratch). Their total
  work is fixed and shared out among the threads, so the run stays as long on 2 cores whatever
  T is.
* Lock statistics. After the timed runs, ft_malloc runs each threaded workload and churn once
  more, untimed, with FT_MALLOC_STATS=1 and FT_MALLOC_OUT set to a temporary file, where the
  library appends its statistics at exit: the table gives lock acquisitions, lock waits and
  remote frees per 1000 calls (allocs + frees), also written to results.csv.
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
  it. churn-1k and churn-300k are the same churn with 1,000 and 300,000 live blocks; their
  ratio, printed last, says whether an operation's cost stays flat as the heap grows.
"""
import argparse
import os
import platform
import sys

from benchlib import lockstats
from benchlib.allocators import find_allocators
from benchlib.common import BUILD, HERE, ROOT, cpu_model
from benchlib.ir import ir_mode
from benchlib.report import report, write_csv
from benchlib.running import bench
from benchlib.svg import write_svg
from benchlib.workloads import workloads


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
    lock_stats = lockstats.collect(wl, allocs, base_env, args.quick, args.timeout)
    report(wl, allocs, results, failures, reps, elapsed, args, notes, lock_stats)
    if not args.no_write:
        write_csv(os.path.join(HERE, "results.csv"), wl, allocs, results, lock_stats)
        sub = "%d thread(s), median of %d runs%s, %s, %d cores" % (
            args.threads, reps, " (QUICK)" if args.quick else "", cpu_model(), os.cpu_count())
        write_svg(os.path.join(HERE, "results.svg"), wl, allocs, results, sub)
        print("wrote %s and %s" % (os.path.relpath(os.path.join(HERE, "results.csv")),
                                   os.path.relpath(os.path.join(HERE, "results.svg"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
