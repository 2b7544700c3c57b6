"""The heap tools: the call log (--trace, --print, --replay) and the reports while the program
runs (--at-signal, --every).
"""

import os
import re
import signal
import sys
import tempfile

from runner import core
from runner.tools_common import (env, expect_ok, fail, ft_heap_path, heap, lib_so, parse_plain_dumps, prog,
                                 program_pid, rc_text, read, reg, tool, with_file)


# ----------------------------------------------------------------------------------------------------
# 5. --trace and --print

RECORD = re.compile(r"^(\d+\.\d{6}) t(\d+) (\S.*)$")
PRINT_HEAD = re.compile(r"^# ft_malloc call log (.+): pid (\d+) \((parent|fork child of) (\d+)\), (.*)$")
PRINT_COUNT = re.compile(r"^# started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(times below: seconds since then\), "
                         r"(\d+) calls, (\d+) threads$")


class Printed:
    def __init__(self, r):
        self.r = r
        lines = r.out.splitlines()
        self.head = PRINT_HEAD.match(lines[0]) if lines else None
        self.count = PRINT_COUNT.match(lines[1]) if len(lines) > 1 else None
        self.records = []  # (time, thread, call text)
        self.see_also = [l for l in lines if l.startswith("# see also ")]
        self.bad = [l for l in lines[2:] if not RECORD.match(l) and not l.startswith("# see also ")]
        for l in lines[2:]:
            m = RECORD.match(l)
            if m:
                self.records.append((float(m.group(1)), int(m.group(2)), m.group(3)))


def print_log(path):
    r = tool(["--print", path])
    if r.rc != 0:
        raise fail("ft_heap --print %s: %s" % (path, rc_text(r.rc)), r.log())
    p = Printed(r)
    if not p.head or not p.count:
        raise fail("ft_heap --print: the two header lines are missing or malformed", r.log())
    if p.bad:
        raise fail("ft_heap --print: malformed line %r" % p.bad[0], r.log())
    calls, threads = int(p.count.group(1)), int(p.count.group(2))
    if calls != len(p.records):
        raise fail("ft_heap --print: the header says %d calls, %d are listed" % (calls, len(p.records)), r.log())
    if threads != len({t for _, t, _ in p.records}):
        raise fail("ft_heap --print: the header says %d threads, the calls name %d" % (
            threads, len({t for _, t, _ in p.records})), r.log())
    times = [t for t, _, _ in p.records]
    if times != sorted(times):
        raise fail("ft_heap --print: the calls are not in time order", r.log())
    return p


def program_calls(out):
    return [l[len("CALL "):].replace("(nil)", "NULL") for l in out.splitlines() if l.startswith("CALL ")]


def check_in_order(expected, printed, what, log):
    """expected must appear in printed's calls, in that order."""
    calls = [c for _, _, c in printed.records]
    i = 0
    for c in calls:
        if i < len(expected) and c == expected[i]:
            i += 1
    if i < len(expected):
        raise fail("%s: the log lacks `%s` (in order after %s)" % (what, expected[i], expected[i - 1] if i else
                                                                  "the start"), log)


def run_trace_calls(mode, log_path):
    r = heap(["--trace", log_path], [prog("tools_trace_calls"), mode])
    want_rc = {"normal": 0, "_exit": 3, "kill": -signal.SIGKILL}[mode]
    if r.rc != want_rc:
        raise fail("trace_calls %s under ft_heap --trace: %s, expected %s" % (mode, rc_text(r.rc), rc_text(want_rc)),
                   r.log())
    expected = program_calls(r.out)
    if len(expected) != (18 if mode == "normal" else 19):
        raise fail("trace_calls %s printed %d calls" % (mode, len(expected)), r.log())
    return r, expected


def test_trace_print_known_calls():
    exe = os.path.realpath(prog("tools_trace_calls"))
    with tempfile.TemporaryDirectory(prefix="ft_tools_") as tmp:
        log_path = os.path.join(tmp, "calls.log")
        # Twice on the same FILE: the second run's log replaces the first (ft_heap --trace removes it).
        run_trace_calls("normal", log_path)
        r, expected = run_trace_calls("normal", log_path)
        p = print_log(log_path)
        log = r.log() + "\n" + p.r.log()
        check_in_order(expected, p, "--trace/--print", log)
        if p.head.group(1) != log_path or int(p.head.group(2)) != program_pid(r.out) or p.head.group(3) != "parent":
            raise fail("--print header %r: expected %s, pid %d (parent ...)" % (p.r.out.splitlines()[0], log_path,
                                                                               program_pid(r.out)), log)
        if p.head.group(5) != exe:
            raise fail("--print header names the executable %r, expected %s" % (p.head.group(5), exe), log)
        if {t for _, t, _ in p.records} != {1}:
            raise fail("a single-threaded program's calls are not all t1", log)
        others = [f for f in os.listdir(tmp) if f != "calls.log"]
        if others:
            raise fail("a second --trace run on the same FILE wrote %s instead of replacing FILE" % others, log)
        if p.see_also:
            raise fail("--print lists related logs for a program that neither forks nor execs: %s" % p.see_also, log)


def test_trace_complete(mode):
    def fn():
        with tempfile.TemporaryDirectory(prefix="ft_tools_") as tmp:
            log_path = os.path.join(tmp, "calls.log")
            r, expected = run_trace_calls(mode, log_path)
            if not os.path.exists(log_path):
                raise fail("no log written", r.log())
            p = print_log(log_path)
        log = r.log() + "\n" + p.r.log()
        what = "a program that calls _exit" if mode == "_exit" else "a program killed by SIGKILL"
        check_in_order(expected, p, "the log of %s" % what, log)
        if p.records[-1][2] != expected[-1]:
            raise fail("the log of %s does not end with its last call %r but %r" % (what, expected[-1],
                                                                                    p.records[-1][2]), log)
    return fn


def test_trace_fork():
    with tempfile.TemporaryDirectory(prefix="ft_tools_") as tmp:
        log_path = os.path.join(tmp, "fork.log")
        r = heap(["--trace", log_path], [prog("tools_trace_fork")])
        expect_ok(r, "trace_fork under ft_heap --trace")
        mc = re.search(r"^CHILD (\d+) (0x[0-9a-f]+)$", r.out, re.M)
        mp = re.search(r"^PARENT (\d+) (0x[0-9a-f]+) (0x[0-9a-f]+)$", r.out, re.M)
        if not mc or not mp:
            raise fail("trace_fork did not report its pointers", r.log())
        child, cptr = int(mc.group(1)), mc.group(2)
        parent, before, after = int(mp.group(1)), mp.group(2), mp.group(3)
        files = sorted(os.listdir(tmp))
        child_log = log_path + ".%d" % child
        if not os.path.exists(child_log):
            raise fail("no %s for the fork child (files: %s)" % (os.path.basename(child_log), files), r.log())
        pp = print_log(log_path)
        pc = print_log(child_log)
    log = r.log() + "\n" + pp.r.log() + "\n" + pc.r.log()
    check_in_order(["malloc(111) = %s" % before, "malloc(555) = %s" % after], pp, "the parent's log", log)
    if any(c.startswith("malloc(777)") for _, _, c in pp.records):
        raise fail("the child's malloc(777) is in the parent's log", log)
    check_in_order(["malloc(777) = %s" % cptr, "free(%s)" % cptr], pc, "the child's log (FILE.<pid>)", log)
    if any(c.startswith(("malloc(111)", "malloc(555)")) for _, _, c in pc.records):
        raise fail("the parent's calls are in the child's log", log)
    if (int(pp.head.group(2)), pp.head.group(3)) != (parent, "parent"):
        raise fail("the parent's log header: %r" % pp.r.out.splitlines()[0], log)
    if (int(pc.head.group(2)), pc.head.group(3), int(pc.head.group(4))) != (child, "fork child of", parent):
        raise fail("the child's log header %r: expected pid %d (fork child of %d)" % (pc.r.out.splitlines()[0], child,
                                                                                     parent), log)
    want = re.compile(r"^# see also (\S+): pid %d, .*, fork child of pid %d$" % (child, parent))
    if not any(want.match(l) and os.path.basename(want.match(l).group(1)) == os.path.basename(child_log)
               for l in pp.see_also):
        raise fail("--print FILE does not list the child's log (`# see also %s: pid %d, ..., fork child of pid %d`)"
                   % (child_log, child, parent), log)


def test_trace_threads():
    with tempfile.TemporaryDirectory(prefix="ft_tools_") as tmp:
        log_path = os.path.join(tmp, "threads.log")
        r = heap(["--trace", log_path], [prog("tools_trace_threads")])
        expect_ok(r, "trace_threads under ft_heap --trace")
        p = print_log(log_path)
    log = r.log() + "\n" + p.r.log()
    told = re.findall(r"^THREAD (\d+) (0x[0-9a-f]+) (\d+)$", r.out, re.M)
    if len(told) != 41:
        raise fail("trace_threads reported %d blocks, expected 41" % len(told), log)
    thread_of = {}  # program thread k -> log thread ids
    for k, ptr, size in told:
        call = "malloc(%s) = %s" % (size, ptr)
        ids = {t for _, t, c in p.records if c == call}
        if not ids:
            raise fail("the log lacks `%s` (thread %s of the program)" % (call, k), log)
        thread_of.setdefault(k, set()).update(ids)
    # Sizes are unique per thread: each program thread is one log thread, all different.
    if any(len(ids) != 1 for ids in thread_of.values()):
        raise fail("one program thread's calls are under several thread ids: %s" % thread_of, log)
    ids = [next(iter(v)) for v in thread_of.values()]
    if len(set(ids)) != 5:
        raise fail("5 threads made calls, the log names %d of them apart: %s" % (len(set(ids)), thread_of), log)
    if int(p.count.group(2)) < 5:
        raise fail("the --print header says %s threads, the program ran 5" % p.count.group(2), log)


# ----------------------------------------------------------------------------------------------------
# 6. --replay

REPLAY_HEAD = re.compile(r"^replay of (.+): (\d+) calls in (\d+) threads?$", re.M)
REPLAY_COUNTS = re.compile(r"^  malloc (\d+), calloc (\d+), realloc (\d+), free (\d+), memalign (\d+)", re.M)
REPLAY_RSS = re.compile(r"^  peak RSS (\d+) kB \((?:VmHWM|ru_maxrss); (\d+) kB before the replay\)", re.M)


def record_peak(tmp):
    """The call log of test/tools/peak.c and its --print."""
    log_path = os.path.join(tmp, "peak.log")
    r = heap(["--trace", log_path], [prog("tools_peak")], timeout=60)
    if r.rc != 0 or "DONE" not in r.out:
        raise fail("peak under ft_heap --trace: %s" % rc_text(r.rc), r.log())
    return log_path, r, print_log(log_path)


def check_replay(rr, p, who, log):
    """--replay's report against the log it replayed: counts, threads, and the peak of 50 MiB."""
    if rr.rc != 0:
        raise fail("ft_heap --replay %s: %s" % (who, rc_text(rr.rc)), log)
    head, counts, rss = REPLAY_HEAD.search(rr.out), REPLAY_COUNTS.search(rr.out), REPLAY_RSS.search(rr.out)
    if not head or not counts or not rss:
        raise fail("ft_heap --replay %s: the calls, counts or peak RSS line is missing" % who, log)
    calls, threads = int(head.group(2)), int(head.group(3))
    if calls != len(p.records) or threads != int(p.count.group(2)):
        raise fail("--replay %s: %d calls in %d threads; the log (--print) has %d calls in %s threads" % (
            who, calls, threads, len(p.records), p.count.group(2)), log)
    if threads != 2:
        raise fail("--replay %s: %d threads, the program ran 2" % (who, threads), log)
    ops = [sum(1 for _, _, c in p.records if c.startswith(op + "(")) for op in
           ("malloc", "calloc", "realloc", "free", "memalign")]
    got = [int(x) for x in counts.groups()]
    if got != ops:
        raise fail("--replay %s counts malloc/calloc/realloc/free/memalign %s, the log has %s" % (who, got, ops), log)
    if ops[0] < 70 or ops[3] < 70:
        raise fail("the log has %d mallocs and %d frees, the program made 70 of each" % (ops[0], ops[3]), log)
    if sum(1 for _, _, c in p.records if c.startswith("malloc(1048576) = 0x")) != 50:
        raise fail("the log does not have the program's 50 malloc(1048576)", log)
    peak, before = int(rss.group(1)), int(rss.group(2))
    if peak - before < 40 * 1024:
        raise fail("--replay %s: peak RSS %d kB, %d kB before the replay: the program's peak of 50 MiB is not "
                   "reproduced" % (who, peak, before), log)


def test_replay(preload):
    def fn():
        with tempfile.TemporaryDirectory(prefix="ft_tools_") as tmp:
            log_path, r, p = record_peak(tmp)
            extra = {"LD_PRELOAD": lib_so(), "FT_MALLOC_STATS": "1"} if preload else {}
            rr = core.run([ft_heap_path(), "--replay", log_path], env=env(**extra), timeout=60)
        log = r.log() + "\n" + p.r.log() + "\n" + rr.log()
        who = "under ft_malloc (LD_PRELOAD)" if preload else "under glibc"
        check_replay(rr, p, who, log)
        if preload:
            large = re.search(r"^LARGE\s+-\s+(\d+)\s+(\d+)\s", rr.err, re.M)
            if not large or int(large.group(1)) < 50:
                raise fail("--replay with LD_PRELOAD: ft_malloc's statistics do not show the 50 LARGE blocks "
                           "(is the replay running on ft_malloc?)", log)
    return fn


BIG_LAUNCHER = r"""
import subprocess, sys
ballast = b"x" * (120 << 20)   # 120 MiB resident in the process that starts the replay
sys.exit(subprocess.run(sys.argv[1:]).returncode)
"""


def test_replay_big_launcher():
    """The peak is the replay's own even when the process that starts ft_heap --replay is big (a
    benchmark driver, a test runner): ru_maxrss alone carries the launcher's high-water mark."""
    with tempfile.TemporaryDirectory(prefix="ft_tools_") as tmp:
        log_path, r, p = record_peak(tmp)
        rr = core.run([os.path.realpath(sys.executable), "-c", BIG_LAUNCHER, ft_heap_path(), "--replay", log_path],
                     env=env(), timeout=60)
    check_replay(rr, p, "started by a process of 120 MiB", r.log() + "\n" + rr.log())


# ----------------------------------------------------------------------------------------------------
# 7. Reports while the program runs

def test_at_signal(opts):
    def fn():
        with tempfile.TemporaryDirectory(prefix="ft_tools_") as tmp:
            out = os.path.join(tmp, "dumps.txt")
            r = heap(opts + ["--out", out], [prog("tools_signal_every"), "signal"])
            text = read(out)
        log = with_file(r, "the --out file", text)
        what = "ft_heap %s --out FILE" % " ".join(opts)
        if r.rc != 0 or "CONTINUED" not in r.out.split():
            raise fail("%s: the program did not go on after SIGUSR1 (%s)" % (what, rc_text(r.rc)), log)
        if "Total : " in r.err or "ft_malloc" in r.err:
            raise fail("%s: the dump went to stderr" % what, log)
        if text is None:
            raise fail("%s: no file written" % what, log)
        m = re.search(r"^BLOCK (0x[0-9a-f]+) 1234$", r.out, re.M)
        if not m:
            raise fail("%s: the program did not report its 1234 B block" % what, log)
        dumps = parse_plain_dumps(text)
        if len(dumps) != 1:
            raise fail("%s: one SIGUSR1, %d dumps in the file" % (what, len(dumps)), log)
        a = int(m.group(1), 16)
        sizes = [s for _, _, blks in dumps[0][0] for _, _, s in blks]
        if (a, a + 1234, 1234) not in [b for _, _, blks in dumps[0][0] for b in blks]:
            raise fail("%s: the program's 1234 B block 0x%X is not in the dump" % (what, a), log)
        if sizes.count(64) < 100:
            raise fail("%s: %d blocks of 64 B in the dump, the program holds 100" % (what, sizes.count(64)), log)
    return fn


EVERY_LINE = re.compile(r"^ft_malloc: live (\d+) B in (\d+) blocks, (\d+) zones, (\d+) LARGE, (\d+) B mapped, "
                        r"resident (\d+) kB$")


def test_every():
    r = heap(["--every", "1"], [prog("tools_signal_every"), "every"])
    if r.rc != 0 or "CONTINUED" not in r.out.split():
        raise fail("ft_heap --every 1: %s" % rc_text(r.rc), r.log())
    lines = [l for l in r.err.splitlines() if l.startswith("ft_malloc:")]
    if len(lines) < 2:
        raise fail("ft_heap --every 1: %d summary lines from a program that runs 2.5 s" % len(lines), r.log())
    for l in lines:
        m = EVERY_LINE.match(l)
        if not m:
            raise fail("malformed summary line %r" % l, r.log())
        live, nblocks, zones, _, mapped, _ = (int(x) for x in m.groups())
        if nblocks < 101 or live < 1234 + 100 * 64 or zones < 2 or mapped < live:
            raise fail("summary %r: the program holds 101 blocks, %d B" % (l, 1234 + 100 * 64), r.log())


reg("trace/print_known_calls", test_trace_print_known_calls, ["tools_trace_calls"])
reg("trace/complete_after__exit", test_trace_complete("_exit"), ["tools_trace_calls"])
reg("trace/complete_after_sigkill", test_trace_complete("kill"), ["tools_trace_calls"])
reg("trace/fork_child_log", test_trace_fork, ["tools_trace_fork"])
reg("trace/threads_named", test_trace_threads, ["tools_trace_threads"])
reg("replay/peak_glibc", test_replay(False), ["tools_peak"])
reg("replay/peak_ft_malloc", test_replay(True), ["tools_peak"])
reg("replay/peak_not_the_launchers", test_replay_big_launcher, ["tools_peak"])
reg("signal/at_signal_usr1_out_file", test_at_signal(["--at-signal", "USR1"]), ["tools_signal_every"])
reg("signal/at_signal_default_usr1", test_at_signal(["--at-signal"]), ["tools_signal_every"])
reg("signal/every_1s_summary_lines", test_every, ["tools_signal_every"])
