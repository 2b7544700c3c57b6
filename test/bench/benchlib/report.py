"""The text report of a timed run and results.csv."""
import csv
import os

from benchlib import lockstats
from benchlib.common import FT, GLIBC, cpu_model, fmt_ratio, geomean, loadavg


def report(wl, allocs, results, failures, reps, elapsed, args, notes, lock_stats=None):
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
    lines.extend(lockstats.table(lock_stats, wl))
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


def write_csv(path, wl, allocs, results, lock_stats=None):
    """One row per workload and allocator; the lock statistics on ft_malloc's rows."""
    lock_stats = lock_stats or {}
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["workload", "allocator", "status", "runs", "time_s_median", "time_s_min",
                    "time_s_max", "cpu_s_median", "time_ratio_vs_glibc", "ft_vs_best_peer",
                    "maxrss_kib",
                    "maxrss_ratio_vs_glibc", "ops", "ns_per_op", "metric", "metric_value",
                    "times_s", "command", "stats_calls"] +
                   [k + "_per_1k_calls" for k in lockstats.COLUMNS])
        for wname, *_ in wl:
            for a in allocs:
                r = results[(wname, a.name)]
                t = r["time"]
                ops = r["ops"]
                st = lock_stats.get(wname, {}) if a.name == FT else {}
                if st.get("status") == "ok":
                    extra = ["%d" % st["calls"]] + [
                        "%.3f" % st[k + "_per_1k"] if st[k + "_per_1k"] is not None else ""
                        for k in lockstats.COLUMNS]
                else:
                    extra = [""] * (1 + len(lockstats.COLUMNS))
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
                            ";".join("%.4f" % x for x in r["times"]), r["cmd"]] + extra)
