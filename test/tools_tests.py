"""Tests of the heap tools: ft_heap (options, exit status), its reports (--dump, --ex, --stats,
--leaks, --out, --svg, --json, --at-signal, --every) and the call log (--trace, --print, --replay).

Not run on its own: run_tests.py registers these tests with

    import tools_tests; tools_tests.register_all(sys.modules[__name__])

`ctx` is the run_tests module: register, run, Fail, base_env, Binary, BINARIES, ROOT, ... come from
there. The test programs are test/tools/*.c, built WITHOUT ft_malloc (ft_heap preloads it) and
written so that the C library allocates nothing on their behalf (no stdio streams: see
test/tools/say.h), so their heap at exit is exactly what they say it is.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

CTX = None  # the run_tests module, set by register_all

TIMEOUT = 30
PROGS = {
    # name: source (test/tests.mk builds them)
    "tools_known_heap": "test/tools/known_heap.c",
    "tools_trace_calls": "test/tools/trace_calls.c",
    "tools_trace_fork": "test/tools/trace_fork.c",
    "tools_trace_threads": "test/tools/trace_threads.c",
    "tools_peak": "test/tools/peak.c",
    "tools_signal_every": "test/tools/signal_every.c",
}

# What test/tools/known_heap.c keeps at exit (sizes; the addresses come from its output) and what
# the leak report must make of it: (bytes, blocks) per call site, biggest first.
KNOWN_SIZES = sorted([18, 18, 18, 4000, 150000])
KNOWN_LEAK_GROUPS = [(150000, 1), (4000, 1), (54, 3)]
KNOWN_LEAK_SUMMARY = "ft_malloc: leaks: 154,054 bytes in 5 blocks from 3 call sites"
KNOWN_STDERR = "known_heap: a line of its own on stderr\n"

TINY_MAX, SMALL_MAX = 256, 131072  # README.md, "Size classes and thresholds"


# ----------------------------------------------------------------------------------------------------
# Helpers

def fail(reason, log=""):
    return CTX.Fail(reason, log)


def ft_heap_path():
    path = os.path.join(CTX.ROOT, "ft_heap")
    if not os.access(path, os.X_OK):
        raise fail("%s missing (make builds it)" % path)
    return path


def lib_so():
    path = getattr(CTX, "LIB_SO", None) or os.path.join(
        CTX.ROOT, "libft_malloc_%s_%s.so" % (os.uname().machine, os.uname().sysname))
    if not os.path.exists(path):
        raise fail("%s missing" % path)
    return path


def env(**extra):
    """The runner's clean environment (no LD_PRELOAD, no FT_MALLOC_*), and no FT_HEAP_LIB either:
    ft_heap must find the library next to itself."""
    e = CTX.base_env(**extra)
    if "FT_HEAP_LIB" not in extra:
        e.pop("FT_HEAP_LIB", None)
    return e


def prog(name):
    return CTX.BINARIES[name].require()


def heap(opts, argv, timeout=TIMEOUT, extra_env=None, cwd=None):
    """ft_heap OPTS -- ARGV."""
    return CTX.run([ft_heap_path()] + list(opts) + ["--"] + list(argv), env=env(**(extra_env or {})),
                   timeout=timeout, cwd=cwd)


def tool(args, timeout=TIMEOUT, extra_env=None):
    """ft_heap ARGS (--print, --replay, usage)."""
    return CTX.run([ft_heap_path()] + list(args), env=env(**(extra_env or {})), timeout=timeout)


def rc_text(rc):
    return CTX.describe_rc(rc)


def expect_ok(r, what="the program"):
    if r.rc != 0:
        raise fail("%s: %s, expected exit 0" % (what, rc_text(r.rc)), r.log())


def read(path):
    if not os.path.exists(path):
        return None
    with open(path, errors="replace") as f:
        return f.read()


def with_file(r, name, text, limit=8000):
    """r's log with a file's contents appended (for the failure log)."""
    return r.log() + "\n--- %s\n%s\n" % (name, "(missing)" if text is None else text[-limit:])


def program_blocks(out):
    """known_heap's "BLOCK ptr size" lines: {address: size}."""
    return {int(a, 16): int(n) for a, n in re.findall(r"^BLOCK (0x[0-9a-f]+) (\d+)$", out, re.M)}


def program_freed(out):
    return {int(a, 16): int(n) for a, n in re.findall(r"^FREED (0x[0-9a-f]+) (\d+)$", out, re.M)}


def program_pid(out):
    m = re.search(r"^PID (\d+)$", out, re.M)
    return int(m.group(1)) if m else None


def kind_of(size):
    return "TINY" if size <= TINY_MAX else "SMALL" if size <= SMALL_MAX else "LARGE"


def all_classes():
    """[(kind, chunk size)] in the order of the JSON "classes" array, LARGE last (README.md)."""
    out = [("TINY", c) for c in range(16, TINY_MAX + 1, 16)]
    base = TINY_MAX
    while base < SMALL_MAX:
        out += [("SMALL", base + base // 4 * k) for k in range(1, 5)]
        base *= 2
    return out + [("LARGE", 0)]


def run_known(opts, timeout=TIMEOUT):
    """known_heap under ft_heap OPTS; checks that it ran and told its blocks."""
    r = heap(opts, [prog("tools_known_heap")], timeout=timeout)
    expect_ok(r, "known_heap under ft_heap %s" % " ".join(opts))
    blocks = program_blocks(r.out)
    if sorted(blocks.values()) != KNOWN_SIZES or "known_heap: done" not in r.out:
        raise fail("known_heap did not report its blocks (sizes %s)" % sorted(blocks.values()), r.log())
    return r, blocks


def masked(text):
    """Output with what changes from run to run (addresses, pids) masked."""
    return re.sub(r"^PID \d+$", "PID N", re.sub(r"0x[0-9a-fA-F]+|\(nil\)", "ADDR", text), flags=re.M)


# ---- show_alloc_mem / show_alloc_mem_ex text (README.md) --------------------------------------------

PLAIN_HDR = re.compile(r"^(TINY|SMALL|LARGE) : 0x([0-9A-F]+)$")
PLAIN_BLK = re.compile(r"^0x([0-9A-F]+) - 0x([0-9A-F]+) : (\d+) bytes$")
PLAIN_TOT = re.compile(r"^Total : (\d+) bytes$")
EX_ZONE = re.compile(r"^(TINY|SMALL) : 0x([0-9A-F]+) zone (\d+) B, class (\d+) B, (\d+) chunks: (\d+) used, "
                     r"(\d+) free$")
EX_LARGE = re.compile(r"^LARGE : 0x([0-9A-F]+) mapping (\d+) B$")
EX_BLK = re.compile(r"^0x([0-9A-F]+) - 0x([0-9A-F]+) : (\d+) bytes(?:  ((?:[0-9A-F]{2} )*[0-9A-F]{2})  \|(.*)\|)?$")
EX_FREE = re.compile(r"^0x([0-9A-F]+) - 0x([0-9A-F]+) : free, (\d+) chunks?$")
EX_TOT = re.compile(r"^Total : (\d+) bytes in (\d+) blocks; zones: (\d+) TINY, (\d+) SMALL, (\d+) LARGE; "
                    r"(\d+) bytes mapped$")


def parse_plain_dumps(text):
    """Every show_alloc_mem dump in text: [(zones [(kind, base, [(start, end, size)])], total)]."""
    dumps, zones = [], []
    for line in text.splitlines():
        m = PLAIN_HDR.match(line)
        if m:
            zones.append((m.group(1), int(m.group(2), 16), []))
            continue
        m = PLAIN_BLK.match(line)
        if m and zones:
            zones[-1][2].append((int(m.group(1), 16), int(m.group(2), 16), int(m.group(3))))
            continue
        m = PLAIN_TOT.match(line)
        if m:
            dumps.append((zones, int(m.group(1))))
            zones = []
    return dumps


def check_plain_dump(dump, blocks, freed, r_log):
    """One show_alloc_mem dump lists exactly `blocks`, each under a zone of its kind, Total right."""
    zones, total = dump
    listed = {}
    last_base = -1
    for kind, base, blks in zones:
        if base <= last_base:
            raise fail("zones not in increasing address order (0x%X after 0x%X)" % (base, last_base), r_log)
        last_base = base
        prev = -1
        for start, end, size in blks:
            if end != start + size:
                raise fail("block line 0x%X - 0x%X : %d bytes: end != start + size" % (start, end, size), r_log)
            if start <= prev:
                raise fail("blocks of zone 0x%X not in address order" % base, r_log)
            prev = start
            if start < base:
                raise fail("block 0x%X listed under the %s zone 0x%X, which starts after it" % (start, kind, base),
                           r_log)
            if start in blocks and kind_of(blocks[start]) != kind:
                raise fail("block 0x%X of %d B listed under a %s zone" % (start, blocks[start], kind), r_log)
            listed[start] = size
    if listed != blocks:
        extra = {"0x%X" % a: n for a, n in listed.items() if blocks.get(a) != n}
        missing = {"0x%X" % a: n for a, n in blocks.items() if listed.get(a) != n}
        raise fail("the dump does not list exactly the program's live blocks: missing %s, extra %s" % (
            missing, extra), r_log)
    for a in freed:
        if a in listed and a not in blocks:
            raise fail("freed block 0x%X still in the dump" % a, r_log)
    if total != sum(blocks.values()):
        raise fail("Total : %d bytes, the live blocks make %d" % (total, sum(blocks.values())), r_log)


def parse_ex_dump(text):
    """The last show_alloc_mem_ex dump in text: zones [{kind, base, ...}], blocks {addr: (size, hex, ascii)},
    total match or None."""
    zones, blocks, total = [], {}, None
    for line in text.splitlines():
        m = EX_ZONE.match(line)
        if m:
            zones.append({"kind": m.group(1), "base": int(m.group(2), 16), "size": int(m.group(3)),
                          "class": int(m.group(4)), "chunks": int(m.group(5)), "used": int(m.group(6)),
                          "free": int(m.group(7))})
            continue
        m = EX_LARGE.match(line)
        if m:
            zones.append({"kind": "LARGE", "base": int(m.group(1), 16), "size": int(m.group(2)), "class": 0,
                          "chunks": 1, "used": 1, "free": 0})
            continue
        m = EX_BLK.match(line)
        if m:
            blocks[int(m.group(1), 16)] = (int(m.group(3)), m.group(4), m.group(5))
            continue
        m = EX_TOT.match(line)
        if m:
            total = m
    return zones, blocks, total


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
    plain = CTX.run([prog("tools_known_heap")], env=env())
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


# ----------------------------------------------------------------------------------------------------
# 3. --svg

SVG_NS = "{http://www.w3.org/2000/svg}"
TITLE = re.compile(r"^0x([0-9A-F]+) (\d+) B: (.*)$")


def well_formed(path):
    """None when the XML file is well-formed, else the parser's complaint."""
    if shutil.which("xmllint"):
        p = subprocess.run(["xmllint", "--noout", path], capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            return "xmllint: " + p.stderr[:500]
    try:
        ET.parse(path)
    except ET.ParseError as e:
        return "xml.etree: %s" % e
    return None


def svg_bands(root):
    """[(label text, [(start, bytes, description)])] for each band (top-level <g>) in order."""
    bands = []
    for g in root.findall(SVG_NS + "g"):
        label = g.find(SVG_NS + "text")
        cells = []
        for path in g.findall(SVG_NS + "path"):
            t = path.find(SVG_NS + "title")
            m = TITLE.match(t.text or "") if t is not None else None
            if m:
                cells.append((int(m.group(1), 16), int(m.group(2)), m.group(3)))
        bands.append(("" if label is None else "".join(label.itertext()), cells))
    return bands


SVG_SUMMARY = re.compile(r"live (\d+) B in (\d+) blocks; zones: (\d+) TINY, (\d+) SMALL, (\d+) LARGE; (\d+) B mapped")


def svg_summary(root):
    for t in root.iter(SVG_NS + "text"):
        m = SVG_SUMMARY.search("".join(t.itertext()))
        if m:
            return [int(x) for x in m.groups()]
    return None


def svg_label_used(label):
    """Live blocks a band's label announces: "U/N used" (zones) or "1 block" (LARGE)."""
    m = re.search(r"(\d+)/(\d+) used", label)
    if m:
        return int(m.group(1))
    return 1 if re.search(r"\b1 block\b", label) else None


def test_svg_known_heap():
    with tempfile.TemporaryDirectory(prefix="ft_tools_") as tmp:
        svg = os.path.join(tmp, "heap.svg")
        r, blocks = run_known(["--svg", svg, "--ex"])
        if not os.path.exists(svg):
            raise fail("--svg FILE: no file written", r.log())
        bad = well_formed(svg)
        text = read(svg)
        log = with_file(r, "the SVG", text, 20000)
        if bad:
            raise fail("--svg: not well-formed XML: %s" % bad, log)
        root = ET.parse(svg).getroot()
    if root.tag != SVG_NS + "svg":
        raise fail("--svg: the root element is %s, not svg" % root.tag, log)
    zones, _, _ = parse_ex_dump(r.err)
    bands = svg_bands(root)
    # One band per zone, in address order: the zones of the --ex dump taken in the same exit.
    want = [z["base"] for z in zones]
    got = []
    for label, _ in bands:
        m = re.search(r"0x([0-9A-F]+)", label)
        got.append(int(m.group(1), 16) if m else None)
    if got != want:
        raise fail("--svg: bands for %s, the heap's zones are %s (--ex, same exit)" % (
            ["0x%X" % a if a is not None else "?" for a in got], ["0x%X" % a for a in want]), log)
    for (label, _), z in zip(bands, zones):
        if not label.startswith(z["kind"]):
            raise fail("--svg: band %r for a %s zone" % (label, z["kind"]), log)
    # Tooltips: every cell in use covers program blocks only and gives the bytes they asked for;
    # every live block is in exactly one such cell.
    covered = {a: 0 for a in blocks}
    for label, cells in bands:
        used_cells = 0
        for start, nbytes, desc in cells:
            if "in use" not in desc:
                continue
            inside = [a for a in blocks if start <= a < start + nbytes]
            if not inside:
                raise fail("--svg: tooltip %r shows a block in use where the program has none" % desc, log)
            for a in inside:
                covered[a] += 1
            asked = re.search(r"(\d+) B asked", desc)
            total = sum(blocks[a] for a in inside)
            if "LARGE block in use" in desc:
                if inside != [start] or nbytes != blocks[start]:
                    raise fail("--svg: LARGE tooltip 0x%X %d B, the program's LARGE block is %s" % (
                        start, nbytes, {"0x%X" % a: blocks[a] for a in inside}), log)
            elif not asked or int(asked.group(1)) != total:
                raise fail("--svg: tooltip 0x%X %d B: %r; the program's blocks there asked %d B" % (
                    start, nbytes, desc, total), log)
            elif "chunks" not in desc and inside != [start]:
                raise fail("--svg: one-chunk tooltip at 0x%X, the block is at %s" % (
                    start, ["0x%X" % a for a in inside]), log)
            used_cells += len(inside)
        if svg_label_used(label) != used_cells:
            raise fail("--svg: band %r announces %s blocks, its cells in use hold %d" % (
                label, svg_label_used(label), used_cells), log)
    if any(n != 1 for n in covered.values()):
        raise fail("--svg: blocks not in exactly one cell in use: %s" % {
            "0x%X" % a: n for a, n in covered.items() if n != 1}, log)
    # The summary and the legend.
    s = svg_summary(root)
    counts = [sum(1 for z in zones if z["kind"] == k) for k in ("TINY", "SMALL", "LARGE")]
    if not s:
        raise fail("--svg: no summary `live N B in N blocks; zones: ...`", log)
    if s[0] != sum(blocks.values()) or s[1] != len(blocks) or s[2:5] != counts or \
            s[5] != sum(z["size"] for z in zones):
        raise fail("--svg: summary %s; the program holds %d B in %d blocks, zones %s, %d B mapped" % (
            s, sum(blocks.values()), len(blocks), counts, sum(z["size"] for z in zones)), log)
    texts = ["".join(t.itertext()) for t in root.iter(SVG_NS + "text")]
    missing = [w for w in ("in use", "free", "thread cache") if w not in texts]
    if missing:
        raise fail("--svg: the legend lacks %s" % missing, log)


HEAVY_PY = r"""
import ctypes
d = {i: str(i) * (i % 40 + 1) for i in range(200000)}
blobs = [bytearray(i % 3000 + 1) for i in range(20000)]
for k in range(0, 200000, 2):
    del d[k]
keep = [d, blobs]
ctypes.pythonapi.Py_IncRef(ctypes.py_object(keep))  # still live when the heap is drawn at exit
print("HEAVY DONE")
"""


def test_svg_python_heap():
    python = os.path.realpath(sys.executable)  # the interpreter itself, not a wrapper script
    with tempfile.TemporaryDirectory(prefix="ft_tools_") as tmp:
        script = os.path.join(tmp, "heavy.py")
        with open(script, "w") as f:
            f.write(HEAVY_PY)
        svg = os.path.join(tmp, "python.svg")
        # PYTHONMALLOC=malloc: every object through malloc (not pymalloc's arenas).
        r = heap(["--svg", svg], [python, script], timeout=120, extra_env={"PYTHONMALLOC": "malloc"})
        if r.rc != 0 or "HEAVY DONE" not in r.out:
            raise fail("python3 under ft_heap --svg: %s" % rc_text(r.rc), r.log())
        if not os.path.exists(svg):
            raise fail("--svg: python3 wrote no file", r.log())
        size = os.path.getsize(svg)
        bad = well_formed(svg)
        if bad:
            raise fail("--svg of python3's heap (%d bytes): not well-formed: %s" % (size, bad), r.log())
        if size > 5 * 1024 * 1024:
            raise fail("--svg of python3's heap is %d bytes (more than 5 MB)" % size, r.log())
        root = ET.parse(svg).getroot()
    s = svg_summary(root)
    bands = svg_bands(root)
    if not s:
        raise fail("--svg of python3's heap: no summary line", r.log())
    if s[1] < 100000:
        raise fail("--svg of python3's heap: %d live blocks; the script keeps more than 100000" % s[1], r.log())
    if len(bands) != s[2] + s[3] + s[4]:
        raise fail("--svg of python3's heap: %d bands, the summary counts %d zones" % (len(bands), sum(s[2:5])),
                   r.log())
    announced = [svg_label_used(label) for label, _ in bands]
    if None in announced or sum(announced) != s[1]:
        raise fail("--svg of python3's heap: the band labels announce %s blocks, the summary %d" % (
            "?" if None in announced else sum(announced), s[1]), r.log())


# ----------------------------------------------------------------------------------------------------
# 4. --json

ZONE_FIELDS = ("kind", "address", "size", "class", "chunks", "used", "cached", "free", "blocks")
CLASS_FIELDS = ("allocs", "frees", "live_blocks", "live_bytes", "peak_live_bytes", "zones", "zones_mapped",
                "zones_returned", "bytes_mapped", "waste", "free_bytes", "cached_chunks")
ADDITIVE = ("allocs", "frees", "live_blocks", "live_bytes", "zones", "zones_mapped", "zones_returned",
            "bytes_mapped", "waste", "free_bytes", "cached_chunks")
TOTAL_EXTRA = ("maps", "unmaps", "lock_waits", "reserve_bytes", "free_chunks")
HEXSTR = re.compile(r"^0x[0-9a-f]+$")


def is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def check_json(doc, blocks, pid, ex_zones):
    """Raises a message (str) on the first disagreement with README.md's schema or the program."""
    if not isinstance(doc, dict):
        return "the document is not an object"
    for k in ("version", "pid", "zones", "classes", "totals"):
        if k not in doc:
            return "no %r key" % k
    if doc["version"] != 1:
        return "version %r, expected 1" % doc["version"]
    if doc["pid"] != pid:
        return "pid %r, the program's pid is %d" % (doc["pid"], pid)
    # zones
    listed, last_end = {}, 0
    zone_of = {}  # block -> zone
    for z in doc["zones"]:
        missing = [f for f in ZONE_FIELDS if f not in z]
        if missing:
            return "zone %r lacks %s" % ({k: v for k, v in z.items() if k != "blocks"}, missing)
        if z["kind"] not in ("TINY", "SMALL", "LARGE"):
            return "zone kind %r" % z["kind"]
        if not isinstance(z["address"], str) or not HEXSTR.match(z["address"]):
            return "zone address %r is not a lower-case hex string" % z["address"]
        if not all(is_uint(z[f]) for f in ("size", "class", "chunks", "used", "cached", "free")):
            return "zone %s: a count is not a non-negative integer" % z["address"]
        base = int(z["address"], 16)
        if base < last_end:
            return "zone %s not after the previous one (zones in increasing address order, disjoint)" % z["address"]
        last_end = base + z["size"]
        if z["used"] + z["cached"] + z["free"] != z["chunks"]:
            return "zone %s: used + cached + free = %d, chunks %d" % (
                z["address"], z["used"] + z["cached"] + z["free"], z["chunks"])
        if len(z["blocks"]) != z["used"]:
            return "zone %s: %d used, %d blocks listed" % (z["address"], z["used"], len(z["blocks"]))
        if z["kind"] == "LARGE" and (z["class"], z["chunks"], z["used"]) != (0, 1, 1):
            return "LARGE zone %s: class %d, chunks %d, used %d (expected 0, 1, 1)" % (
                z["address"], z["class"], z["chunks"], z["used"])
        prev = -1
        for b in z["blocks"]:
            if set(b) != {"address", "size"} or not isinstance(b["address"], str) or \
                    not HEXSTR.match(b["address"]) or not is_uint(b["size"]):
                return "zone %s: malformed block %r" % (z["address"], b)
            a = int(b["address"], 16)
            if not base <= a < last_end or a <= prev:
                return "zone %s: block %s outside the zone or out of order" % (z["address"], b["address"])
            prev = a
            if z["kind"] != "LARGE" and b["size"] > z["class"]:
                return "zone %s of class %d: block %s of %d B" % (z["address"], z["class"], b["address"], b["size"])
            listed[a] = b["size"]
            zone_of[a] = z
    if listed != blocks:
        return "the blocks listed %s are not the program's live blocks %s" % (
            {"0x%x" % a: n for a, n in listed.items()}, {"0x%x" % a: n for a, n in blocks.items()})
    # the zones of the --ex dump written in the same exit
    got = [(z["kind"], int(z["address"], 16)) for z in doc["zones"]]
    want = [(z["kind"], z["base"]) for z in ex_zones]
    if got != want:
        return "zones %s, the --ex dump of the same exit shows %s" % (
            [(k, "0x%x" % a) for k, a in got], [(k, "0x%x" % a) for k, a in want])
    for z, e in zip(doc["zones"], ex_zones):
        if (z["size"], z["class"], z["chunks"], z["used"], z["cached"] + z["free"]) != (
                e["size"], e["class"], e["chunks"], e["used"], e["free"]):
            return "zone %s: size %d, class %d, %d chunks: %d used, %d cached + %d free; --ex says %s" % (
                z["address"], z["size"], z["class"], z["chunks"], z["used"], z["cached"], z["free"], e)
    # classes
    classes = doc["classes"]
    expected = all_classes()
    got = [(c.get("kind"), c.get("class")) for c in classes]
    if got != expected:
        i = next((i for i, (g, e) in enumerate(zip(got, expected)) if g != e), min(len(got), len(expected)))
        return "classes: %d entries, entry %d is %s, expected %s (16 TINY, 36 SMALL, then LARGE)" % (
            len(got), i, got[i] if i < len(got) else "missing", expected[i] if i < len(expected) else "none")
    for c in classes:
        missing = [f for f in CLASS_FIELDS if not is_uint(c.get(f))]
        if missing:
            return "class %s %d: %s missing or not non-negative integers" % (c["kind"], c["class"], missing)
        mine = [z for z in doc["zones"] if z["kind"] == c["kind"] and (c["kind"] == "LARGE" or z["class"] == c["class"])]
        live = [b for z in mine for b in z["blocks"]]
        if c["live_blocks"] != len(live) or c["live_bytes"] != sum(b["size"] for b in live):
            return "class %s %d: live_blocks %d, live_bytes %d; its zones hold %d blocks of %d B" % (
                c["kind"], c["class"], c["live_blocks"], c["live_bytes"], len(live), sum(b["size"] for b in live))
        if c["zones"] != len(mine) or c["bytes_mapped"] != sum(z["size"] for z in mine):
            return "class %s %d: zones %d, bytes_mapped %d; %d zones of that class listed, mapping %d B" % (
                c["kind"], c["class"], c["zones"], c["bytes_mapped"], len(mine), sum(z["size"] for z in mine))
        if c["kind"] != "LARGE":
            if c["cached_chunks"] != sum(z["cached"] for z in mine):
                return "class %s %d: cached_chunks %d, its zones hold %d cached" % (
                    c["kind"], c["class"], c["cached_chunks"], sum(z["cached"] for z in mine))
        if c["allocs"] - c["frees"] != c["live_blocks"]:
            return "class %s %d: allocs %d - frees %d != live_blocks %d" % (
                c["kind"], c["class"], c["allocs"], c["frees"], c["live_blocks"])
    # totals
    t = doc["totals"]
    missing = [f for f in CLASS_FIELDS + TOTAL_EXTRA if not is_uint(t.get(f))]
    if missing:
        return "totals: %s missing or not non-negative integers" % missing
    for f in ADDITIVE:
        if t[f] != sum(c[f] for c in classes):
            return "totals.%s = %d, the classes sum to %d" % (f, t[f], sum(c[f] for c in classes))
    if t["live_bytes"] != sum(blocks.values()) or t["live_blocks"] != len(blocks):
        return "totals: live_bytes %d in %d blocks; the program holds %d B in %d blocks" % (
            t["live_bytes"], t["live_blocks"], sum(blocks.values()), len(blocks))
    if t["bytes_mapped"] != sum(z["size"] for z in doc["zones"]):
        return "totals.bytes_mapped %d, the zones listed map %d B" % (t["bytes_mapped"],
                                                                      sum(z["size"] for z in doc["zones"]))
    if t["free_chunks"] != sum(z["free"] for z in doc["zones"]):
        return "totals.free_chunks %d, the zones listed have %d free" % (t["free_chunks"],
                                                                          sum(z["free"] for z in doc["zones"]))
    if t["zones"] != len(doc["zones"]):
        return "totals.zones %d, %d zones and LARGE mappings listed" % (t["zones"], len(doc["zones"]))
    # The 300000 B and the 150000 B LARGE blocks were live together.
    if t["peak_live_bytes"] < 450000:
        return "totals.peak_live_bytes %d, below the 450000 B of LARGE blocks live at once" % t["peak_live_bytes"]
    if t["maps"] < t["unmaps"] or t["maps"] < len(doc["zones"]):
        return "totals: maps %d, unmaps %d, for %d zones now" % (t["maps"], t["unmaps"], len(doc["zones"]))
    return None


def test_json_known_heap():
    with tempfile.TemporaryDirectory(prefix="ft_tools_") as tmp:
        path = os.path.join(tmp, "heap.json")
        r, blocks = run_known(["--json", path, "--ex"])
        text = read(path)
    log = with_file(r, "the JSON", text, 20000)
    if text is None:
        raise fail("--json FILE: no file written", log)
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise fail("--json: not valid JSON: %s" % e, log)
    ex_zones, _, _ = parse_ex_dump(r.err)
    problem = check_json(doc, blocks, program_pid(r.out), ex_zones)
    if problem:
        raise fail("--json: " + problem, log)


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
            rr = CTX.run([ft_heap_path(), "--replay", log_path], env=env(**extra), timeout=60)
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
        rr = CTX.run([os.path.realpath(sys.executable), "-c", BIG_LAUNCHER, ft_heap_path(), "--replay", log_path],
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


# ----------------------------------------------------------------------------------------------------

def register_all(ctx):
    global CTX
    CTX = ctx
    for name, src in PROGS.items():
        if name not in ctx.BINARIES:
            # Not linked with ft_malloc: ft_heap preloads it. Built with -rdynamic: the leak report names main.
            ctx.BINARIES[name] = ctx.Binary(name, src, link_ft=False)

    def reg(name, fn, needs=(), timeout=TIMEOUT * 2):
        ctx.register("tools/" + name, fn, list(needs), timeout=timeout)

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
    reg("svg/known_heap", test_svg_known_heap, ["tools_known_heap"])
    reg("svg/python_heap", test_svg_python_heap, timeout=180)
    reg("json/known_heap", test_json_known_heap, ["tools_known_heap"])
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
