"""--ir (make bench-ir): instructions per operation under callgrind."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

from benchlib.allocators import which_malloc
from benchlib import lockstats
from benchlib.common import BUILD, FT, GLIBC, ROOT, fmt_ratio, geomean


def ir_workloads(quick):
    b = lambda prog: os.path.join(BUILD, prog)
    s = 5 if quick else 1
    # name, argv for an operation count n, N1, N2, what one operation is
    return [
        ("pair-16", lambda n: [b("pairs"), "16", str(n)], 20000 // s, 220000 // s,
         "malloc(16) + free"),
        ("pair-mixed", lambda n: [b("pairs"), "mixed", str(n)], 20000 // s, 220000 // s,
         "malloc(1..512) + free"),
        ("calloc-64", lambda n: [b("pairs"), "64", str(n), "calloc"], 20000 // s, 220000 // s,
         "calloc(1, 64) + free"),
        ("churn-1k", lambda n: [b("churn"), "1000", str(n)], 20000 // s, 220000 // s,
         "free + malloc, 1000 live mixed"),
        # Both runs fill the same 300,000 blocks, so the fill cancels out; N1 replaces about as
        # many blocks as are live, so that the ops counted find a mixed heap, not the fill's.
        ("churn-300k", lambda n: [b("churn"), "300000", str(n)], 300000 // s, 500000 // s,
         "free + malloc, 300,000 live mixed"),
        ("pair-1M", lambda n: [b("pairs"), str(1 << 20), str(n)], 2000 // s, 22000 // s,
         "malloc(1 MiB) + free (LARGE)"),
        ("pair-4M", lambda n: [b("pairs"), str(4 << 20), str(n)], 2000 // s, 22000 // s,
         "malloc(4 MiB) + free (LARGE)"),
        ("large-churn", lambda n: [b("large_churn"), "8", str(n)], 100 // s, 1100 // s,
         "free + malloc(128K..8M) + writes"),
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
    lock_hold(args, base_env)
    flat = [(n, table.get(("churn-300k", n)), table.get(("churn-1k", n))) for n in names]
    if any(big and small for n, big, small in flat):
        print("")
        print("Flat cost: Ir per operation with 300,000 blocks live over 1,000 (target for "
              "ft_malloc: at most 1.5x)")
        print("%-46s" % "churn-300k / churn-1k" + "".join(
            "%11s" % (fmt_ratio(big / small) if (big and small) else "FAIL")
            for n, big, small in flat))
    return 0


# The build whose heap lock turns callgrind's counting on and off (make lockhold).
LOCKHOLD_SO = os.path.join(ROOT, "build", "lockhold", "libft_malloc_lockhold.so")


def lock_hold(args, base_env):
    """How long ft_malloc holds its one mutex: for each workload, callgrind counts only between
    acquiring and releasing the heap lock (the lockhold build); FT_MALLOC_STATS gives the calls and
    the acquisitions. Holding H instructions per acquisition, with C instructions of the program
    and the allocator between two acquisitions of one thread, the lock is busy H / C of that
    thread's time: about C / H threads can run before they queue for it."""
    if not os.path.exists(LOCKHOLD_SO):
        print("\nlock hold: %s is missing (make lockhold)" % LOCKHOLD_SO)
        return
    b = lambda prog: os.path.join(BUILD, prog)
    t = max(2, args.threads)
    s = 4 if args.quick else 1
    work = [("larson", [b("larson"), str(t), "10", str(250000 // s // t), "1000"]),
            ("server", [b("server"), str(t), str(500000 // s), "10000"]),
            ("churn", [b("churn"), "1000", str(500000 // s)])]
    print("")
    print("Heap lock held (callgrind, the lockhold build; %d threads): instructions per acquisition, "
          "and the threads that can run before they queue" % t)
    hdr = "%-10s %10s %12s %14s %14s %10s" % ("workload", "calls", "acquisitions", "held/acq", "between acq",
                                              "threads")
    print(hdr)
    print("-" * len(hdr))
    with tempfile.TemporaryDirectory(prefix="ft_lockhold_") as tmp:
        for name, argv in work:
            out, stats = os.path.join(tmp, "held.out"), os.path.join(tmp, "stats.txt")
            env = dict(base_env, LD_PRELOAD=LOCKHOLD_SO, FT_MALLOC_STATS="1", FT_MALLOC_OUT=stats)
            r = subprocess.run(["valgrind", "--tool=callgrind", "--collect-atstart=no",
                                "--callgrind-out-file=" + out] + argv, env=env, capture_output=True, text=True)
            held = outside = None
            if r.returncode == 0 and os.path.exists(out):
                with open(out) as f:
                    held = next((int(l.split()[1]) for l in f if l.startswith(("summary:", "totals:"))), 0)
            if held is not None:
                # Counting from the start, the same toggles count everything but the lock's holding.
                outside, _, err = callgrind_ir(argv, dict(base_env, LD_PRELOAD=LOCKHOLD_SO), tmp)
            st = None
            if os.path.exists(stats):
                with open(stats, errors="replace") as f:
                    st = lockstats.parse(f.read())
                os.unlink(stats)
            if held is None or not outside or not st or not st["lock_acquisitions"]:
                print("%-10s FAIL (rc %d: %s)" % (name, r.returncode, r.stderr.strip()[-200:]))
                continue
            acq = st["lock_acquisitions"]
            per, between = held / acq, outside / acq
            print("%-10s %10d %12d %14.0f %14.0f %10.0f" % (name, st["calls"], acq, per, between,
                                                            between / per if per else 0))
    sys.stdout.flush()
