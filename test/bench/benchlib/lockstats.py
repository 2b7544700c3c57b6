"""Lock statistics of ft_malloc: one more run of each threaded workload (and churn, the one-thread
reference) with FT_MALLOC_STATS=1, untimed and after the timed runs. The library appends its
statistics table to FT_MALLOC_OUT at exit; the `total` row gives the calls (allocs + frees) and
the summary line the lock acquisitions, lock waits and remote frees, reported per 1000 calls."""
import os
import re
import sys
import tempfile

from benchlib.common import FT
from benchlib.running import run_once
from benchlib.workloads import LOCK_STATS_WORKLOADS

# As test/runner/stats.py reads them: the table's total row, then the summary line.
TOTAL_ROW = re.compile(r"^total\s+-\s+(\d+)\s+(\d+)\s", re.M)
SUMMARY = re.compile(r"^mmap calls (\d+), munmap calls (\d+), lock acquisitions (\d+), "
                     r"lock waits (\d+), remote frees (\d+)", re.M)
COLUMNS = ("lock_acquisitions", "lock_waits", "remote_frees")


def parse(text):
    """The counters of the last statistics table in text, or None."""
    totals, sums = TOTAL_ROW.findall(text), SUMMARY.findall(text)
    if not totals or not sums:
        return None
    allocs, frees = (int(x) for x in totals[-1])
    mmaps, munmaps, acq, waits, remote = (int(x) for x in sums[-1])
    calls = allocs + frees
    st = {"calls": calls, "allocs": allocs, "frees": frees, "mmap_calls": mmaps,
          "munmap_calls": munmaps, "lock_acquisitions": acq, "lock_waits": waits,
          "remote_frees": remote}
    for k in COLUMNS:
        st[k + "_per_1k"] = 1000.0 * st[k] / calls if calls else None
    return st


def collect(wl, allocs, base_env, quick, timeout=0):
    """{workload: counters dict, or {"status": why}} for the ft_malloc runs; {} without it."""
    ft = next((a for a in allocs if a.name == FT), None)
    chosen = [w for w in wl if w[0] in LOCK_STATS_WORKLOADS]
    if not ft or not chosen:
        return {}
    limit = timeout or (20.0 if quick else 60.0)
    print("lock statistics: ft_malloc once more per threaded workload, FT_MALLOC_STATS=1, "
          "untimed")
    sys.stdout.flush()
    stats = {}
    with tempfile.TemporaryDirectory(prefix="ft_bench_stats_") as tmp:
        for wname, argv, extra, metric, desc in chosen:
            path = os.path.join(tmp, wname + ".txt")
            env = ft.env(base_env)
            env.update(extra)
            env.update(FT_MALLOC_STATS="1", FT_MALLOC_OUT=path)
            r = run_once(argv, env, limit)
            text = ""
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    text = f.read()
            st = parse(text) if r.status == "ok" else None
            if st is None:
                why = r.status if r.status != "ok" else "no statistics table in FT_MALLOC_OUT"
                st = {"status": why}
                print("  !! %s: %s\n     reproduce: FT_MALLOC_STATS=1 %s%s" % (
                    wname, why, ft.prefix(), " ".join(argv)))
            else:
                st["status"] = "ok"
            stats[wname] = st
    return stats


def table(stats, wl):
    """The report's lines for the statistics, in workload order."""
    if not stats:
        return []
    lines = ["", "ft_malloc lock statistics (FT_MALLOC_STATS=1, one untimed run; per 1000 calls, "
             "calls = allocs + frees)"]
    hdr = "%-14s %11s %14s %14s %16s" % ("workload", "calls", "lock acq/1k", "lock waits/1k",
                                          "remote frees/1k")
    lines += [hdr, "-" * len(hdr)]
    for wname, *_ in wl:
        st = stats.get(wname)
        if st is None:
            continue
        if st["status"] != "ok":
            lines.append("%-14s %11s  (%s)" % (wname, "FAIL", st["status"]))
            continue
        lines.append("%-14s %11d" % (wname, st["calls"]) + "".join(
            " %*s" % (w, "%.1f" % st[k + "_per_1k"] if st[k + "_per_1k"] is not None else "-")
            for k, w in zip(COLUMNS, (14, 14, 16))))
    return lines
