"""Tests of the heap tools: ft_heap (options, exit status), its reports (--dump, --ex, --stats,
--leaks, --out, --svg, --json, --at-signal, --every) and the call log (--trace, --print, --replay),
in tools_reports.py, tools_svg_json.py and tools_trace.py; here what they share.

The test programs are test/tools/*.c, built WITHOUT ft_malloc (ft_heap preloads it) and written so
that the C library allocates nothing on their behalf (no stdio streams: see test/tools/say.h), so
their heap at exit is exactly what they say it is.
"""

import os
import re

from runner import core


TIMEOUT = 30
PROGS = {
    # name: source (test/tests.mk builds them)
    "tools_known_heap": "test/tools/known_heap.c",
    "tools_trace_calls": "test/tools/trace_calls.c",
    "tools_trace_fork": "test/tools/trace_fork.c",
    "tools_trace_threads": "test/tools/trace_threads.c",
    "tools_peak": "test/tools/peak.c",
    "tools_signal_every": "test/tools/signal_every.c",
    "tools_profile_heap": "test/tools/profile_heap.c",
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
    return core.Fail(reason, log)


def ft_heap_path():
    path = os.path.join(core.ROOT, "ft_heap")
    if not os.access(path, os.X_OK):
        raise fail("%s missing (make builds it)" % path)
    return path


def lib_so():
    path = core.LIB_SO
    if not os.path.exists(path):
        raise fail("%s missing" % path)
    return path


def env(**extra):
    """The runner's clean environment (no LD_PRELOAD, no FT_MALLOC_*), and no FT_HEAP_LIB either:
    ft_heap must find the library next to itself."""
    e = core.base_env(**extra)
    if "FT_HEAP_LIB" not in extra:
        e.pop("FT_HEAP_LIB", None)
    return e


def prog(name):
    return core.BINARIES[name].require()


def heap(opts, argv, timeout=TIMEOUT, extra_env=None, cwd=None):
    """ft_heap OPTS -- ARGV."""
    return core.run([ft_heap_path()] + list(opts) + ["--"] + list(argv), env=env(**(extra_env or {})),
                   timeout=timeout, cwd=cwd)


def tool(args, timeout=TIMEOUT, extra_env=None):
    """ft_heap ARGS (--print, --replay, usage)."""
    return core.run([ft_heap_path()] + list(args), env=env(**(extra_env or {})), timeout=timeout)


def rc_text(rc):
    return core.describe_rc(rc)


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


# The programs (not linked with ft_malloc: ft_heap preloads it. Built with -rdynamic: the leak report
# names main).
for _name, _src in PROGS.items():
    if _name not in core.BINARIES:
        core.BINARIES[_name] = core.Binary(_name, _src, link_ft=False)


def reg(name, fn, needs=(), timeout=TIMEOUT * 2):
    core.register("tools/" + name, fn, list(needs), timeout=timeout)

