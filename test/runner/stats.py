"""Statistics and reports (test/reports.c): mallinfo2, malloc_stats, malloc_trim, mallopt, and the
reports FT_MALLOC_STATS, FT_MALLOC_DUMP, FT_MALLOC_DUMP_SIGNAL and FT_MALLOC_EVERY write.
"""

import os
import re
import signal
import tempfile

from runner.core import BINARIES, Fail, PAGE, Result, base_env, c_case, fail_reason, register, run
from runner.dumps import check_plain_dump, parse_ex_dump


# ---- statistics and glibc's calls -------------------------------------------------------------------

MALLOC_STATS_LINES = ["Arena 0:", "system bytes     =", "in use bytes     =", "Total (incl. mmap):",
                      "system bytes     =", "in use bytes     =", "max mmap regions =", "max mmap bytes   ="]


def check_malloc_stats(r):
    m = re.search(r"^HELD (\d+) (\d+) (\d+) (\d+)$", r.out, re.M)
    if not m:
        raise Fail("no HELD line", r.log())
    nsmall, cls, nlarge, lsize = (int(x) for x in m.groups())
    lines = [l for l in r.err.splitlines() if l.strip()]
    if len(lines) != len(MALLOC_STATS_LINES):
        raise Fail("malloc_stats() printed %d lines on stderr, expected %d" % (len(lines), len(MALLOC_STATS_LINES)),
                   r.log())
    vals = []
    for line, want in zip(lines, MALLOC_STATS_LINES):
        if not line.startswith(want):
            raise Fail("malloc_stats(): %r where `%s` was expected" % (line, want), r.log())
        if want.endswith("="):
            v = line[len(want):].strip()
            if not v.isdigit():
                raise Fail("malloc_stats(): not a number: %r" % line, r.log())
            vals.append(int(v))
    sys_arena, use_arena, sys_total, use_total, regions, mmap_bytes = vals
    if regions != nlarge:
        raise Fail("max mmap regions = %d, the program holds %d LARGE blocks" % (regions, nlarge), r.log())
    if not nlarge * lsize <= mmap_bytes <= nlarge * (lsize + 2 * PAGE):
        raise Fail("max mmap bytes = %d for %d blocks of %d B" % (mmap_bytes, nlarge, lsize), r.log())
    if use_arena < nsmall * cls:
        raise Fail("in use bytes = %d (arena) < the %d blocks of class %d held" % (use_arena, nsmall, cls), r.log())
    if not (use_arena <= sys_arena and use_total <= sys_total and sys_arena <= sys_total):
        raise Fail("malloc_stats() numbers inconsistent: %s" % vals, r.log())
    if use_total < use_arena + nlarge * lsize:
        raise Fail("Total in use bytes %d < arena in use %d + LARGE %d" % (use_total, use_arena, nlarge * lsize),
                   r.log())


for case in ("mallinfo2_fields", "malloc_trim_after_peak", "malloc_trim_keeps_live_blocks", "mallopt_params"):
    register("stats/%s" % case, c_case("reports", case), ["reports"])
register("stats/malloc_stats_output", c_case("reports", "malloc_stats_output", check=check_malloc_stats), ["reports"])
register("stats/malloc_stats_cancel_pending", c_case("reports", "malloc_stats_cancel_pending", check=check_malloc_stats),
         ["reports"])

STATS_ROW = re.compile(r"^(TINY|SMALL|LARGE|total)\s+(\d+|-)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s")


def parse_stats_table(text, r):
    """The FT_MALLOC_STATS table(s) in text: a list of {(kind, size): (allocs, frees, live, live_bytes)}."""
    tables = []
    for line in text.splitlines():
        if re.match(r"^ft_malloc statistics \(pid \d+\)$", line):
            tables.append({})
            continue
        m = STATS_ROW.match(line)
        if m and tables:
            tables[-1][(m.group(1), m.group(2))] = tuple(int(m.group(k)) for k in range(3, 7))
    if not tables:
        raise Fail("no `ft_malloc statistics (pid N)` table", r.log())
    return tables


def check_stats_table(t, r):
    want = {("TINY", "32"): (1000, 400, 600, 600 * 32), ("TINY", "48"): (1000, 400, 600, 600 * 48),
            ("LARGE", "-"): (5, 2, 3, 3 * 300000)}
    for key, vals in want.items():
        if key not in t:
            raise Fail("no `%s %s` row in the statistics" % key, r.log())
        if t[key] != vals:
            raise Fail("`%s %s` row: allocs, frees, live, live bytes = %s, expected %s" % (key + (t[key], vals)),
                       r.log())
    if ("total", "-") not in t:
        raise Fail("no total row", r.log())
    rows = [v for k, v in t.items() if k[0] != "total"]
    total = t[("total", "-")]
    for i, what in enumerate(("allocs", "frees", "live", "live bytes")):
        if total[i] != sum(v[i] for v in rows):
            raise Fail("total %s %d != sum of the rows %d" % (what, total[i], sum(v[i] for v in rows)), r.log())
    for k, v in t.items():
        if v[0] != v[1] + v[2]:
            raise Fail("`%s %s` row: allocs %d != frees %d + live %d" % (k + v[:3]), r.log())


def test_exit_stats():
    path = BINARIES["reports"].require()
    r = run([path, "exit_reports"], env=base_env(FT_MALLOC_STATS="1"))
    if r.rc != 0:
        raise Fail(fail_reason(r), r.log())
    tables = parse_stats_table(r.err, r)
    if len(tables) != 1:
        raise Fail("%d statistics tables at exit" % len(tables), r.log())
    check_stats_table(tables[0], r)
    if not re.search(r"^mmap calls \d+, munmap calls \d+, lock acquisitions \d+, lock waits \d+, remote frees \d+, "
                     r"peak live \d+ B",
                     r.err, re.M):
        raise Fail("no `mmap calls ...` summary line", r.log())


def test_exit_stats_out_file():
    path = BINARIES["reports"].require()
    with tempfile.TemporaryDirectory(prefix="ft_out_") as tmp:
        out = os.path.join(tmp, "report.txt")
        for k in range(2):  # appended: the second run adds a second table
            r = run([path, "exit_reports"], env=base_env(FT_MALLOC_STATS="1", FT_MALLOC_OUT=out))
            if r.rc != 0:
                raise Fail(fail_reason(r), r.log())
            if r.err.strip():
                raise Fail("FT_MALLOC_OUT is set but stderr has: %r" % r.err.strip()[:200], r.log())
            if not os.path.exists(out):
                raise Fail("FT_MALLOC_OUT=%s: no file written" % out, r.log())
            with open(out) as f:
                text = f.read()
            tables = parse_stats_table(text, r)
            if len(tables) != k + 1:
                raise Fail("after %d runs the FT_MALLOC_OUT file holds %d tables (reports are appended)" % (
                    k + 1, len(tables)), r.log() + "\n--- file\n" + text)
            check_stats_table(tables[-1], r)


def held_blocks(r):
    return [(int(a, 16), int(n)) for a, n in re.findall(r"^BLOCK (0x[0-9a-f]+) (\d+)$", r.out, re.M)]


def test_exit_dump(mode):
    """FT_MALLOC_DUMP=1 / =ex: the dump at exit, checked as the dump tests check show_alloc_mem's."""
    def fn():
        path = BINARIES["reports"].require()
        r = run([path, "exit_reports"], env=base_env(FT_MALLOC_DUMP=mode))
        if r.rc != 0:
            raise Fail(fail_reason(r), r.log())
        blocks = held_blocks(r)
        if len(blocks) != 4:
            raise Fail("the program reported %d blocks" % len(blocks), r.log())
        # The dump is on stderr; the checkers read the dump from `out` and the program's blocks from `err`.
        as_dump = Result(r.cmd, r.rc, r.err, "".join("BLOCK 0x%x %d m\n" % b for b in blocks))
        try:
            if mode == "1":
                check_plain_dump(as_dump)
            else:
                zones, _ = parse_ex_dump(as_dump)
                for cls in (32, 48):
                    used = sum(z["used"] for z in zones if z["kind"] == "TINY" and z["cls"] == cls)
                    if used != 600:
                        raise Fail("zones of class %d have %d chunks used, the program holds 600 blocks" % (cls, used))
        except Fail as e:
            raise Fail("FT_MALLOC_DUMP=%s: %s" % (mode, e.reason), r.log())
    return fn


def test_thread_rounds_map_once():
    """Threads that come and go (test/threads.c threads_come_and_go: 20 rounds of 2 threads, each
    filling and emptying a few zones of its class) find the zones the round before gave back: the
    pool keeps wholly free zones resident within its budget. Counted, not timed: the mmap calls in
    the FT_MALLOC_STATS summary (15 here; 128 when every emptied zone but one reserve a class was
    unmapped)."""
    path = BINARIES["threads"].require()
    r = run([path, "threads_come_and_go"], env=base_env(FT_MALLOC_STATS="1"))
    if r.rc != 0:
        raise Fail(fail_reason(r), r.log())
    m = re.search(r"^mmap calls (\d+), munmap calls (\d+)", r.err, re.M)
    if not m:
        raise Fail("no `mmap calls ...` summary line", r.log())
    maps = int(m.group(1))
    if maps > 40:
        raise Fail("%s mmap calls for 20 rounds of 2 threads on the same classes (at most 40: each round "
                   "should find the zones the one before emptied)" % maps, r.log())


def test_free_only_threads_counted():
    """4 threads that only free 20,000 blocks each that the main thread allocated (test/threads.c
    free_only_threads): every one is a remote free, counted by threads without a cache in shared
    counters (base/counters.h note_uncached_remote_free) that the summary line sums. A few more may
    come from the threads' own exit (glibc freeing what the main thread allocated for them)."""
    path = BINARIES["threads"].require()
    r = run([path, "free_only_threads"], env=base_env(FT_MALLOC_STATS="1"))
    if r.rc != 0:
        raise Fail(fail_reason(r), r.log())
    freed = re.search(r"^FREED (\d+)$", r.out, re.M)
    m = re.search(r"remote frees (\d+),", r.err)
    if not freed or not m:
        raise Fail("no FREED line or no `remote frees N` in the summary line", r.log())
    n, want = int(m.group(1)), int(freed.group(1))
    if not want <= n <= want + 64:
        raise Fail("remote frees %d, the threads freed %d blocks the main thread allocated" % (n, want), r.log())


register("stats/exit_stats_table", test_exit_stats, ["reports"])
register("stats/free_only_threads_counted", test_free_only_threads_counted, ["threads"])
register("stats/thread_rounds_map_once", test_thread_rounds_map_once, ["threads"])
register("stats/exit_stats_out_file", test_exit_stats_out_file, ["reports"])
register("stats/exit_dump", test_exit_dump("1"), ["reports"])
register("stats/exit_dump_ex", test_exit_dump("ex"), ["reports"])


def test_dump_signal(sig_value, to_file):
    def fn():
        path = BINARIES["reports"].require()
        with tempfile.TemporaryDirectory(prefix="ft_sig_") as tmp:
            out = os.path.join(tmp, "dump.txt") if to_file else None
            r = run([path, "dump_signal"], env=base_env(FT_MALLOC_DUMP_SIGNAL=sig_value, FT_MALLOC_OUT=out))
            text = r.err
            if to_file:
                if "Total : " in r.err:
                    raise Fail("FT_MALLOC_OUT is set but the dump went to stderr", r.log())
                text = open(out).read() if os.path.exists(out) else ""
        if r.rc != 0:
            raise Fail("the program did not survive its signals: %s" % fail_reason(r), r.log())
        words = r.out.split()
        if "ROUND" not in words or "CONTINUED" not in words or r.out.count("ROUND") != 2:
            raise Fail("the program did not go on after the signals", r.log())
        dumps = text.count("Total : ")
        if dumps != 2:
            raise Fail("2 signals, %d dumps" % dumps, r.log() + "\n--- dumps\n" + text[-3000:])
        for addr, size in held_blocks(r):
            line = "0x%X - 0x%X : %d bytes" % (addr, addr + size, size)
            if text.splitlines().count(line) != 2:
                raise Fail("block 0x%X of %d B not in both dumps" % (addr, size), r.log() + "\n--- dumps\n" + text)
    return fn


register("stats/dump_signal_usr1", test_dump_signal("USR1", False), ["reports"])
register("stats/dump_signal_number_out_file", test_dump_signal(str(int(signal.SIGUSR1)), True), ["reports"])
register("stats/dump_signal_sigusr1_name", test_dump_signal("SIGUSR1", False), ["reports"])

EVERY_LINE = re.compile(r"^ft_malloc: live (\d+) B in (\d+) blocks, (\d+) zones, (\d+) LARGE, (\d+) B mapped, "
                        r"resident (\d+) kB$")


def test_every(to_file):
    def fn():
        path = BINARIES["reports"].require()
        with tempfile.TemporaryDirectory(prefix="ft_every_") as tmp:
            out = os.path.join(tmp, "every.txt") if to_file else None
            r = run([path, "every_summary"], env=base_env(FT_MALLOC_EVERY="1", FT_MALLOC_OUT=out))
            text = r.err
            if to_file:
                if "ft_malloc:" in r.err:
                    raise Fail("FT_MALLOC_OUT is set but stderr has ft_malloc lines", r.log())
                text = open(out).read() if os.path.exists(out) else ""
        if r.rc != 0 or "CONTINUED" not in r.out.split():
            raise Fail(fail_reason(r), r.log())
        lines = [l for l in text.splitlines() if l.startswith("ft_malloc:")]
        if len(lines) < 2:
            raise Fail("FT_MALLOC_EVERY=1: %d summary lines in a run of 2.5 s or more" % len(lines), r.log())
        for l in lines:
            m = EVERY_LINE.match(l)
            if not m:
                raise Fail("malformed summary line: %r" % l, r.log())
            live, blocks, zones, large, mapped, _ = (int(x) for x in m.groups())
            if blocks < 1000 or live < 1000 * 32 or zones < 1 or mapped < live:
                raise Fail("summary %r: the program holds 1000 blocks of 32 B" % l, r.log())
    return fn


register("stats/every_summary", test_every(False), ["reports"])
register("stats/every_summary_out_file", test_every(True), ["reports"])
