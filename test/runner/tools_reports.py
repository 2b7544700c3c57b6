"""The heap tools: ft_heap's command line, and its reports at exit on a program with a known heap.
"""

import os
import re
import signal
import tempfile

from runner import core
from runner.tools_common import (KNOWN_LEAK_GROUPS, KNOWN_LEAK_SUMMARY, KNOWN_STDERR, check_plain_dump, env,
                                 expect_ok, fail, heap, masked, parse_ex_dump, parse_plain_dumps, prog,
                                 program_freed, program_pid, rc_text, read, reg, run_known, tool, with_file)


# ----------------------------------------------------------------------------------------------------
# 1. ft_heap's command line

USAGE_LINE = "usage: ft_heap [options] [--] PROG [ARGS...]"


def check_usage_error(r, what):
    if r.rc != 2:
        raise fail("%s: %s, expected exit 2" % (what, rc_text(r.rc)), r.log())
    if USAGE_LINE not in r.err:
        raise fail("%s: no usage message on stderr" % what, r.log())
    if "RAN" in r.out.split():
        raise fail("%s: the program ran anyway" % what, r.log())
    if r.out.strip():
        raise fail("%s: the usage error wrote to stdout" % what, r.log())


def test_usage_no_program():
    check_usage_error(tool([]), "ft_heap with no argument")
    check_usage_error(tool(["--dump"]), "ft_heap --dump (options, no program)")
    check_usage_error(tool(["--stats", "--"]), "ft_heap --stats -- (no program after --)")


def test_usage_bad_options():
    ran = ["sh", "-c", "echo RAN"]
    cases = [
        (["--bogus", "--"] + ran, "an unknown option"),
        (["--dump=1", "--"] + ran, "--dump=1 (takes no value)"),
        (["--every", "x", "--"] + ran, "--every x"),
        (["--every", "0", "--"] + ran, "--every 0"),
        (["--at-signal", "KILL", "--"] + ran, "--at-signal KILL (cannot be caught)"),
        (["--svg"], "--svg without its FILE"),
        (["--out", "", "--"] + ran, "--out with an empty FILE"),
        (["--print"], "--print without FILE"),
        (["--replay"], "--replay without FILE"),
    ]
    for args, what in cases:
        r = tool(args)
        check_usage_error(r, "ft_heap %s (%s)" % (" ".join(args), what))
        if args[0].startswith("--bogus") and "--bogus" not in r.err:
            raise fail("the usage error does not name the unknown option --bogus", r.log())


def test_usage_help():
    r = tool(["--help"])
    if r.rc != 0:
        raise fail("ft_heap --help: %s, expected exit 0" % rc_text(r.rc), r.log())
    if USAGE_LINE not in r.out:
        raise fail("ft_heap --help: no usage text on stdout", r.log())
    missing = [o for o in ("--dump", "--ex", "--at-signal", "--stats", "--leaks", "--svg", "--json", "--out",
                           "--every", "--trace", "--print", "--replay", "--help") if o not in r.out]
    if missing:
        raise fail("ft_heap --help does not list %s" % ", ".join(missing), r.log())
    if r.err.strip():
        raise fail("ft_heap --help wrote to stderr", r.log())


def test_usage_missing_program():
    with tempfile.TemporaryDirectory(prefix="ft_tools_") as tmp:
        missing = os.path.join(tmp, "no_such_program")
        r = tool([missing])
        # The contract's usage status, or the shell's status for a command not found.
        if r.rc not in (2, 127):
            raise fail("ft_heap %s (no such file): %s, expected exit 2 (or 127)" % (missing, rc_text(r.rc)), r.log())
        if missing not in r.err:
            raise fail("the error for a program that does not exist does not name it", r.log())
        plain = os.path.join(tmp, "not_executable")
        with open(plain, "w") as f:
            f.write("#!/bin/sh\necho RAN\n")
        os.chmod(plain, 0o644)
        r = tool(["--", plain])
        if r.rc not in (2, 126):
            raise fail("ft_heap -- %s (not executable): %s, expected exit 2 (or 126)" % (plain, rc_text(r.rc)),
                       r.log())
        if plain not in r.err or "RAN" in r.out:
            raise fail("the error for a program that cannot run does not name it", r.log())


def test_exit_status_passes_through():
    for opts, script, want in [([], "exit 7", 7), ([], "exit 0", 0), (["--dump", "--leaks"], "exit 42", 42),
                               ([], "kill -TERM $$", -signal.SIGTERM)]:
        r = heap(opts, ["sh", "-c", script])
        if r.rc != want:
            raise fail("ft_heap %s -- sh -c '%s': %s, expected %s" % (" ".join(opts), script, rc_text(r.rc),
                                                                     rc_text(want)), r.log())
    # A program that allocates, with reports at exit: they do not change its status.
    r = heap(["--stats", "--dump"], [prog("tools_known_heap"), "7"])
    if r.rc != 7:
        raise fail("ft_heap --stats --dump -- known_heap 7: %s, expected exit 7" % rc_text(r.rc), r.log())
    if "ft_malloc statistics" not in r.err or "Total : " not in r.err:
        raise fail("ft_heap --stats --dump -- known_heap 7: no reports at exit (is ft_malloc preloaded?)", r.log())


# ----------------------------------------------------------------------------------------------------
# 2. Reports at exit on a program with a known heap

def test_dump():
    r, blocks = run_known(["--dump"])
    dumps = parse_plain_dumps(r.err)
    if len(dumps) != 1:
        raise fail("--dump: %d dumps on stderr, expected 1" % len(dumps), r.log())
    check_plain_dump(dumps[0], blocks, program_freed(r.out), r.log())
    kinds = [k for k, _, _ in dumps[0][0]]
    if sorted(set(kinds)) != ["LARGE", "SMALL", "TINY"]:
        raise fail("--dump shows zones %s, the program holds TINY, SMALL and LARGE blocks" % kinds, r.log())


def test_ex_dump():
    r, blocks = run_known(["--ex"])
    zones, listed, total = parse_ex_dump(r.err)
    if {a: s for a, (s, _, _) in listed.items()} != blocks:
        raise fail("--ex does not list exactly the program's live blocks: %s" % {
            "0x%X" % a: s for a, (s, _, _) in listed.items()}, r.log())
    want = {18: ("61 20 6E 61 6D 65 20 74 68 61 74 20 6C 65 61 6B", "a name that leak"),
            4000: (" ".join(["62"] * 16), "b" * 16), 150000: (" ".join(["4C"] * 16), "L" * 16)}
    for a, (size, hexes, ascii) in listed.items():
        if (hexes, ascii) != want[size]:
            raise fail("--ex: block 0x%X of %d B shows %r |%s|, expected %r |%s|" % (
                a, size, hexes, ascii, want[size][0], want[size][1]), r.log())
    if not total:
        raise fail("--ex: no `Total : N bytes in N blocks; zones: ...` line", r.log())
    t = [int(x) for x in total.groups()]
    if t[0] != sum(blocks.values()) or t[1] != len(blocks):
        raise fail("--ex: %s; the program holds %d bytes in %d blocks" % (total.group(0), sum(blocks.values()),
                                                                          len(blocks)), r.log())
    counts = [sum(1 for z in zones if z["kind"] == k) for k in ("TINY", "SMALL", "LARGE")]
    if counts != t[2:5] or sum(z["size"] for z in zones) != t[5]:
        raise fail("--ex: the zone lines (%s zones, %d B) disagree with %s" % (counts, sum(z["size"] for z in zones),
                                                                                total.group(0)), r.log())
    for z in zones:
        inside = [a for a in blocks if z["base"] <= a < z["base"] + z["size"]]
        if z["used"] != len(inside):
            raise fail("--ex: zone 0x%X says %d used, it holds %d of the program's blocks" % (
                z["base"], z["used"], len(inside)), r.log())


STATS_ROW = re.compile(r"^(TINY|SMALL|LARGE|total)\s+(\d+|-)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s")


def parse_stats(text):
    rows = {}
    for line in text.splitlines():
        m = STATS_ROW.match(line)
        if m:
            rows[(m.group(1), m.group(2))] = [int(x) for x in m.groups()[2:]]  # allocs frees live bytes peak
    return rows


def check_stats(text, r_log):
    if not re.search(r"^ft_malloc statistics \(pid \d+\)$", text, re.M):
        raise fail("--stats: no `ft_malloc statistics (pid N)` line", r_log)
    rows = parse_stats(text)
    want = {("TINY", "32"): (3, 54), ("SMALL", "4096"): (1, 4000), ("LARGE", "-"): (1, 150000),
            ("total", "-"): (5, 154054)}
    for key, (live, nbytes) in want.items():
        row = rows.get(key)
        if not row:
            raise fail("--stats: no %s %s row" % key, r_log)
        allocs, frees, got_live, got_bytes, _ = row
        if (got_live, got_bytes) != (live, nbytes):
            raise fail("--stats: %s %s row says %d live, %d bytes; the program holds %d, %d B" % (
                key[0], key[1], got_live, got_bytes, live, nbytes), r_log)
        if allocs - frees != live:
            raise fail("--stats: %s %s row: %d allocs - %d frees != %d live" % (key[0], key[1], allocs, frees, live),
                       r_log)
    if rows[("LARGE", "-")][0] != 2:
        raise fail("--stats: the LARGE row counts %d allocations, the program made 2" % rows[("LARGE", "-")][0],
                   r_log)
    if rows[("total", "-")][0] < 10:
        raise fail("--stats: %d allocations in all, the program made 10" % rows[("total", "-")][0], r_log)
    return rows


def test_stats():
    r, _ = run_known(["--stats"])
    check_stats(r.err, r.log())


LEAK_GROUP = re.compile(r"^([\d,]+) bytes? in (\d+) blocks? allocated at (.+)$")


def check_leaks(text, exe, r_log):
    groups = []
    for line in text.splitlines():
        m = LEAK_GROUP.match(line)
        if m:
            groups.append((int(m.group(1).replace(",", "")), int(m.group(2)), m.group(3).split(" <- ")))
    got = [(b, n) for b, n, _ in groups]
    if got != KNOWN_LEAK_GROUPS:
        raise fail("--leaks: groups (bytes, blocks) %s, expected %s, biggest first" % (got, KNOWN_LEAK_GROUPS), r_log)
    if KNOWN_LEAK_SUMMARY not in text.splitlines():
        raise fail("--leaks: no line `%s`" % KNOWN_LEAK_SUMMARY, r_log)
    if "strdup" not in groups[2][2][0]:
        raise fail("--leaks: the 3 strdup blocks' first frame is %r" % groups[2][2][0], r_log)
    for b, _, frames in groups:
        if not any(f.startswith("main+") and exe in f for f in frames):
            raise fail("--leaks: `main+... (%s)` not among the frames of the %d-byte group: %s" % (
                exe, b, " <- ".join(frames)), r_log)
    if "150,000 bytes in 1 block allocated at " not in text:
        raise fail("--leaks: sizes not written with thousands separators (`150,000 bytes in 1 block`)", r_log)


def test_leaks():
    r, _ = run_known(["--leaks"])
    check_leaks(r.err, os.path.basename(prog("tools_known_heap")), r.log())


def test_out_file():
    """--dump --stats --leaks --out FILE: stderr is the program's own, stdout unchanged, the reports
    appended to FILE."""
    plain = core.run([prog("tools_known_heap")], env=env())
    expect_ok(plain, "known_heap without ft_heap")
    with tempfile.TemporaryDirectory(prefix="ft_tools_") as tmp:
        out = os.path.join(tmp, "reports.txt")
        with open(out, "w") as f:
            f.write("a line from before\n")
        r, blocks = run_known(["--dump", "--stats", "--leaks", "--out", out])
        text = read(out) or ""
    log = with_file(r, "the --out file", text)
    if r.err != KNOWN_STDERR:
        raise fail("--out FILE: stderr is not just the program's own line: %r" % r.err[:300], log)
    if masked(r.out) != masked(plain.out):
        raise fail("the program's stdout differs under ft_heap (addresses and pid masked)",
                   log + "\n--- stdout without ft_heap\n" + plain.out)
    if not text.startswith("a line from before\n"):
        raise fail("--out FILE: the file's earlier contents were not kept (reports are appended)", log)
    dumps = parse_plain_dumps(text)
    if len(dumps) != 1:
        raise fail("--out FILE: %d dumps in the file, expected 1" % len(dumps), log)
    check_plain_dump(dumps[0], blocks, program_freed(r.out), log)
    check_stats(text, log)
    pid = program_pid(r.out)
    if "ft_malloc statistics (pid %d)" % pid not in text:
        raise fail("--out FILE: the statistics do not name the program's pid %d" % pid, log)
    check_leaks(text, os.path.basename(prog("tools_known_heap")), log)


reg("usage/no_program_exit_2", test_usage_no_program)
reg("usage/bad_options_exit_2", test_usage_bad_options)
reg("usage/help_exit_0", test_usage_help)
reg("usage/missing_program", test_usage_missing_program)
reg("usage/exit_status_passes_through", test_exit_status_passes_through, ["tools_known_heap"])
reg("report/dump_lists_live_blocks", test_dump, ["tools_known_heap"])
reg("report/ex_dump_known_heap", test_ex_dump, ["tools_known_heap"])
reg("report/stats_known_heap", test_stats, ["tools_known_heap"])
reg("report/leaks_known_heap", test_leaks, ["tools_known_heap"])
reg("report/out_file_keeps_stderr_clean", test_out_file, ["tools_known_heap"])
