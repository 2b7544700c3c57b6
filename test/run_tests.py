#!/usr/bin/env python3
"""ft_malloc test suite.

    python3 test/run_tests.py [PATTERN...]     run every test (or those whose name matches a PATTERN:
                                               a substring, or a glob with * ? [ ])
    python3 test/run_tests.py --list [PATTERN] list the test names
    python3 test/run_tests.py -v ...           also print the log of each failed test
    python3 test/run_tests.py --ref-glibc ...  build the portable tests WITHOUT ft_malloc and run them
                                               against glibc's malloc (checks the tests themselves)

Run from anywhere; works in the repository root (where `make` put libft_malloc.a and
libft_malloc_$(uname -m)_$(uname -s).so). Test programs are built into test/build/. Every test case runs
in its own process; the output is one line per test, PASS or FAIL with a short reason, then the line
`N passed, M failed`. Exit status 1 if anything failed. Logs of failed tests: test/build/logs/.
"""

import concurrent.futures
import fnmatch
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEST_DIR = os.path.join(ROOT, "test")
BUILD = os.path.join(TEST_DIR, "build")
LOGS = os.path.join(BUILD, "logs")
HOST = "%s_%s" % (os.uname().machine, os.uname().sysname)
LIB_A = os.path.join(ROOT, "libft_malloc.a")
LIB_SO = os.path.join(ROOT, "libft_malloc_%s.so" % HOST)
PAGE = os.sysconf("SC_PAGE_SIZE")
TIMEOUT = 60

API = {
    "malloc", "free", "calloc", "realloc", "reallocarray", "memalign", "posix_memalign", "aligned_alloc",
    "valloc", "pvalloc", "malloc_usable_size", "free_sized", "free_aligned_sized", "cfree", "__libc_malloc",
    "__libc_free", "__libc_calloc", "__libc_realloc", "__libc_memalign", "show_alloc_mem", "show_alloc_mem_ex",
    "ft_malloc_check",                                              # the heap check (debug modes)
    "malloc_stats", "mallinfo2", "malloc_trim", "mallopt",          # glibc's statistics and tuning calls
}


def read_constants():
    """The size classes live in test/common.h only: read them from there."""
    consts = {}
    with open(os.path.join(TEST_DIR, "common.h")) as f:
        for line in f:
            m = re.match(r"#define (FT_\w+) (\d+)\b", line)
            if m:
                consts[m.group(1)] = int(m.group(2))
    return consts


C = read_constants()
TINY_MAX, TINY_STEP = C["FT_TINY_MAX"], C["FT_TINY_STEP"]
SMALL_MAX, PER_DOUBLING = C["FT_SMALL_MAX"], C["FT_SMALL_PER_DOUBLING"]
MIN_CHUNKS = C["FT_MIN_CHUNKS"]


def expected_class(size):
    """Chunk size of the class a plain malloc(size) lands in (0 for LARGE); as in common.h."""
    if size <= TINY_MAX:
        return max(TINY_STEP, -(-size // TINY_STEP) * TINY_STEP)
    if size > SMALL_MAX:
        return 0
    base = TINY_MAX
    while base * 2 < size:
        base *= 2
    step = base // PER_DOUBLING
    return base + -(-(size - base) // step) * step


def all_classes():
    tiny = list(range(TINY_STEP, TINY_MAX + 1, TINY_STEP))
    small = []
    base = TINY_MAX
    while base < SMALL_MAX:
        step = base // PER_DOUBLING
        small += [base + step * k for k in range(1, PER_DOUBLING + 1)]
        base *= 2
    return tiny, small


def category(size):
    return "TINY" if size <= TINY_MAX else "SMALL" if size <= SMALL_MAX else "LARGE"


class Fail(Exception):
    def __init__(self, reason, log=""):
        super().__init__(reason)
        self.reason = reason
        self.log = log


# ----------------------------------------------------------------------------------------------------
# Processes

def base_env(**extra):
    env = dict(os.environ)
    for k in list(env):
        if k == "LD_PRELOAD" or k.startswith("FT_MALLOC_") or k in ("MALLOC_CHECK_", "MALLOC_PERTURB_"):
            env.pop(k)
    env["LC_ALL"] = "C"
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


class Result:
    def __init__(self, cmd, rc, out, err):
        self.cmd, self.rc, self.out, self.err = cmd, rc, out, err

    def log(self):
        cmd = self.cmd if isinstance(self.cmd, str) else " ".join(self.cmd)
        return "$ %s\nexit: %s\n--- stdout (tail)\n%s\n--- stderr (tail)\n%s\n" % (
            cmd, describe_rc(self.rc), self.out[-6000:], self.err[-6000:])


def describe_rc(rc):
    if rc is None:
        return "?"
    if rc < 0:
        try:
            return "killed by %s" % signal.Signals(-rc).name
        except ValueError:
            return "killed by signal %d" % -rc
    return "exit %d" % rc


def run(cmd, env=None, cwd=None, timeout=TIMEOUT, shell=False, stdin_data=None):
    """Runs cmd in its own process group (killed as a whole on timeout). Text output."""
    p = subprocess.Popen(cmd, shell=shell, cwd=cwd or ROOT, env=env or base_env(), start_new_session=True,
                         stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(stdin_data, timeout=timeout)
    except subprocess.TimeoutExpired:
        # The leader is not reaped yet, so its process group is still ours: end the whole group.
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = p.communicate()
        r = Result(cmd, None, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))
        raise Fail("timeout after %d s" % timeout, r.log())
    return Result(cmd, p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"))


def fail_reason(r):
    """Short reason for a failed C case: its FAIL line, else how it ended and its last words."""
    fails = [l for l in r.err.splitlines() if l.startswith("FAIL:")]
    if fails:
        return fails[-1][len("FAIL: "):]
    errs = [l for l in r.err.splitlines() if l.strip()]
    tail = (": " + errs[-1][:200]) if errs else ""
    return describe_rc(r.rc) + tail


# ----------------------------------------------------------------------------------------------------
# Test programs

REF = False  # --ref-glibc


class Binary:
    def __init__(self, name, src, cxx=False, threads=False, link_ft=True, shared=False, ref_ok=False):
        self.name, self.src, self.cxx, self.threads = name, src, cxx, threads
        self.link_ft, self.shared, self.ref_ok = link_ft, shared, ref_ok
        self.lock = threading.Lock()
        self.done = None  # None: not built yet; else (ok, log)

    @property
    def path(self):
        sub = "ref" if REF and self.link_ft else ""
        name = ("lib%s.so" % self.name) if self.shared else self.name
        return os.path.join(BUILD, sub, name)

    def command(self):
        cc = "g++" if self.cxx else "gcc"
        cmd = [cc, "-Iinc", "-O2", "-g", "-Wall", "-Wextra"]
        if not self.cxx:
            cmd.append("-fno-builtin")  # keep the compiler from reasoning about malloc's results
        if self.shared:
            cmd += ["-shared", "-fPIC"]
        if REF and self.link_ft:
            cmd.append("-DFT_TEST_REF_GLIBC")
        cmd += ["-o", self.path, self.src]
        if self.link_ft and not REF:
            cmd += ["-L.", "-lft_malloc"]
        if self.threads:
            cmd.append("-lpthread")
        return cmd

    def build(self):
        with self.lock:
            if self.done is None:
                os.makedirs(os.path.dirname(self.path), exist_ok=True)
                try:
                    r = run(self.command(), timeout=180)
                    ok = r.rc == 0
                    self.done = (ok, r.log())
                except Fail as e:
                    self.done = (False, e.log)
            return self.done

    def require(self):
        ok, log = self.build()
        if not ok:
            raise Fail("build of %s failed" % self.src, log)
        return self.path


BINARIES = {b.name: b for b in [
    Binary("api", "test/api.c", ref_ok=True),
    Binary("bad_input", "test/bad_input.c"),
    Binary("dump", "test/dump.c"),
    Binary("zones", "test/zones.c"),
    Binary("stress", "test/stress.c", ref_ok=True),
    Binary("threads", "test/threads.c", threads=True, ref_ok=True),
    Binary("startup", "test/startup.c", ref_ok=True),
    Binary("link_min", "test/link_min.c"),
    Binary("link_libc", "test/link_libc.c"),
    Binary("link_cxx", "test/link_cxx.cpp", cxx=True),
    # Built without ft_malloc: for LD_PRELOAD tests.
    Binary("startup_plain", "test/startup.c", link_ft=False),
    Binary("hello_plain", "test/preload/hello.c", link_ft=False),
    Binary("probe_plain", "test/preload/probe.c", link_ft=False),
    Binary("preload_ctor", "test/preload_ctor.c", link_ft=False, shared=True),
]}
# The preload variant of startup.c is built without the library but with common.h's stubs off:
# it resolves malloc from the preloaded ft_malloc at run time, show_alloc_mem is unused by its case.


def case_names(src):
    with open(os.path.join(ROOT, src)) as f:
        return re.findall(r"^\s*CASE\((\w+)\)", f.read(), re.M)


# ----------------------------------------------------------------------------------------------------
# Tests

class Test:
    def __init__(self, name, fn, needs=(), ref_ok=False, timeout=TIMEOUT):
        self.name, self.fn, self.needs, self.ref_ok, self.timeout = name, fn, list(needs), ref_ok, timeout


TESTS = []


def register(name, fn, needs=(), ref_ok=False, timeout=TIMEOUT):
    TESTS.append(Test(name, fn, needs, ref_ok, timeout))


def c_case(binary, case, timeout=TIMEOUT, env=None, check=None):
    def fn():
        path = BINARIES[binary].require()
        r = run([path, case], env=env or base_env(), timeout=timeout)
        if r.rc != 0:
            raise Fail(fail_reason(r), r.log())
        if not REF and re.search(r"^ft_malloc: ", r.err, re.M):
            raise Fail("unexpected error report: " + re.search(r"^ft_malloc: .*", r.err, re.M).group(0),
                       r.log())
        if check:
            try:
                check(r)
            except Fail as e:
                e.log = e.log or r.log()
                raise
    return fn


for b, ref_ok, timeout in [("api", True, 60), ("zones", False, 60), ("stress", True, 90),
                           ("threads", True, 90)]:
    for case in case_names(BINARIES[b].src):
        register("%s/%s" % (b, case), c_case(b, case, timeout=timeout), [b], ref_ok=ref_ok, timeout=timeout)


# ---- bad input ------------------------------------------------------------------------------------

ERR_LINE = re.compile(r"^ft_malloc: (free|realloc|malloc_usable_size)\(\): .*0x[0-9a-f]+")


def bad_call_name(case):
    if case.startswith("realloc"):
        return "realloc"
    if case.startswith("usable_size"):
        return "malloc_usable_size"
    return "free"


def bad_input_test(case, mode):
    def fn():
        path = BINARIES["bad_input"].require()
        env = base_env(FT_MALLOC_ERRORS=None if mode == "abort" else mode)
        r = run([path, case], env=env)
        m = re.search(r"^PTR (0x[0-9a-f]+|\(nil\))$", r.out, re.M)
        if not m:
            raise Fail("the program did not reach the bad call (%s)" % fail_reason(r), r.log())
        passed = int(m.group(1), 16)
        lines = [l for l in r.err.splitlines() if l.startswith("ft_malloc:")]
        matching = [l for l in lines if ERR_LINE.match(l)]
        continued = "CONTINUED" in r.out.split()
        if any(l.startswith("FAIL:") for l in r.err.splitlines()):
            raise Fail(fail_reason(r), r.log())
        if mode == "abort":
            if r.rc != -signal.SIGABRT:
                raise Fail("expected SIGABRT, got %s" % describe_rc(r.rc), r.log())
            if continued:
                raise Fail("the program went on after the bad call", r.log())
        else:
            if r.rc != 0:
                raise Fail("FT_MALLOC_ERRORS=%s: expected exit 0, got %s" % (mode, describe_rc(r.rc)), r.log())
            if not continued:
                raise Fail("FT_MALLOC_ERRORS=%s: the heap did not keep working after the bad call" % mode,
                           r.log())
        if mode == "ignore":
            if lines:
                raise Fail("FT_MALLOC_ERRORS=ignore but stderr has: %s" % lines[0], r.log())
            return
        if len(matching) != 1 or len(lines) != 1:
            raise Fail("expected one `ft_malloc: ...` line on stderr, got %d (%d well-formed)" % (
                len(lines), len(matching)), r.log())
        line = matching[0]
        call = ERR_LINE.match(line).group(1)
        if call != bad_call_name(case):
            raise Fail("error line names %s(), expected %s(): %s" % (call, bad_call_name(case), line), r.log())
        printed = int(re.search(r"0x([0-9a-f]+)", line.split("(): ", 1)[1]).group(1), 16)
        if printed != passed:
            raise Fail("error line shows %#x, the pointer passed was %#x" % (printed, passed), r.log())
    return fn


for case in case_names(BINARIES["bad_input"].src):
    for mode in ("abort", "warn", "ignore"):
        register("bad_input/%s/%s" % (mode, case), bad_input_test(case, mode), ["bad_input"])


# ---- show_alloc_mem ------------------------------------------------------------------------------

def program_blocks(err):
    blocks, freed = [], []
    for line in err.splitlines():
        m = re.match(r"^BLOCK 0x([0-9a-f]+) (\d+) ([mar])$", line)
        if m:
            blocks.append((int(m.group(1), 16), int(m.group(2)), m.group(3)))
        m = re.match(r"^FREED 0x([0-9a-f]+)$", line)
        if m:
            freed.append(int(m.group(1), 16))
    if not blocks:
        raise Fail("the program reported no blocks")
    return blocks, freed


HEX = r"0x([1-9A-F][0-9A-F]*)"
PLAIN_HDR = re.compile(r"^(TINY|SMALL|LARGE) : %s$" % HEX)
PLAIN_BLK = re.compile(r"^%s - %s : (0|[1-9][0-9]*) bytes$" % (HEX, HEX))
PLAIN_TOT = re.compile(r"^Total : (0|[1-9][0-9]*) bytes$")


def check_plain_dump(r):
    """Strict check of show_alloc_mem's output against the program's own list of blocks."""
    blocks, freed = program_blocks(r.err)
    text = r.out
    if not text.endswith("\n"):
        raise Fail("output does not end with a newline")
    lines = text[:-1].split("\n")
    zones = []  # [kind, addr, [blocks]]
    total = None
    for i, line in enumerate(lines):
        if total is not None:
            raise Fail("line after the Total line: %r" % line)
        m = PLAIN_HDR.match(line)
        if m:
            zones.append([m.group(1), int(m.group(2), 16), []])
            continue
        m = PLAIN_BLK.match(line)
        if m:
            if not zones:
                raise Fail("block line before any zone header: %r" % line)
            start, end, size = int(m.group(1), 16), int(m.group(2), 16), int(m.group(3))
            if end - start != size:
                raise Fail("line %d: end - start = %d but size %d: %r" % (i + 1, end - start, size, line))
            zones[-1][2].append((start, size))
            continue
        m = PLAIN_TOT.match(line)
        if m:
            total = int(m.group(1))
            continue
        # 0x0 cannot be a block or a zone; anything else is a format error.
        raise Fail("line %d does not match the format: %r" % (i + 1, line))
    if total is None:
        raise Fail("no `Total : N bytes` line at the end")
    listed = {}
    prev_zone, prev_block = -1, -1
    for zi, (kind, addr, blks) in enumerate(zones):
        if addr <= prev_zone:
            raise Fail("zone headers not in increasing address order (%s : 0x%X)" % (kind, addr))
        prev_zone = addr
        nxt = zones[zi + 1][1] if zi + 1 < len(zones) else None
        if not blks:
            raise Fail("zone %s : 0x%X listed without any block" % (kind, addr))
        if kind == "LARGE" and len(blks) != 1:
            raise Fail("LARGE zone 0x%X lists %d blocks (each LARGE block is its own mapping)" % (addr, len(blks)))
        if addr % PAGE:
            raise Fail("zone %s : 0x%X is not page aligned" % (kind, addr))
        for start, size in blks:
            if start <= prev_block:
                raise Fail("block lines not in increasing address order at 0x%X" % start)
            prev_block = start
            if start < addr or (nxt is not None and start + size > nxt):
                raise Fail("block 0x%X (%d bytes) lies outside its zone %s : 0x%X" % (start, size, kind, addr))
            if start % 16:
                raise Fail("block 0x%X is not 16-byte aligned" % start)
            listed[start] = (size, kind)
    if total != sum(s for s, _ in listed.values()):
        raise Fail("Total %d != sum of the listed sizes %d" % (total, sum(s for s, _ in listed.values())))
    for addr, size, how in blocks:
        if addr not in listed:
            raise Fail("block %#x (%d bytes) of the program is not listed" % (addr, size))
        lsize, kind = listed[addr]
        if lsize != size:
            raise Fail("block 0x%X listed with %d bytes, the program asked %d" % (addr, lsize, size))
        if how == "m" and kind != category(size):
            raise Fail("block 0x%X of %d bytes listed under %s, expected %s" % (addr, size, kind, category(size)))
    for addr in freed:
        if addr in listed:
            raise Fail("freed block 0x%X still listed" % addr)


EX_ZONE = re.compile(r"^(TINY|SMALL) : 0x([0-9A-F]+) zone (\d+) B, class (\d+) B, (\d+) chunks: (\d+) used, (\d+) free")
EX_LARGE = re.compile(r"^LARGE : 0x([0-9A-F]+) mapping (\d+) B")
EX_BLK = re.compile(r"^0x([0-9A-F]+) - 0x([0-9A-F]+) : (\d+) bytes\b(.*)$")
EX_FREE = re.compile(r"^0x([0-9A-F]+) - 0x([0-9A-F]+) : free, (\d+) chunks?\b")
EX_TOT = re.compile(r"^Total : (\d+) bytes in (\d+) blocks; zones: (\d+) TINY, (\d+) SMALL, (\d+) LARGE; "
                    r"(\d+) bytes mapped")


def parse_ex_dump(r):
    """Parses show_alloc_mem_ex's output; checks its internal consistency. Returns (zones, blocks)."""
    blocks, freed = program_blocks(r.err)
    zones = []  # dicts
    total = None
    for i, line in enumerate(r.out.splitlines()):
        if total is not None:
            raise Fail("line after the Total line: %r" % line)
        m = EX_ZONE.match(line)
        if m:
            zones.append(dict(kind=m.group(1), addr=int(m.group(2), 16), size=int(m.group(3)),
                              cls=int(m.group(4)), chunks=int(m.group(5)), used=int(m.group(6)),
                              free=int(m.group(7)), blocks=[], free_runs=[], line=line))
            continue
        m = EX_LARGE.match(line)
        if m:
            zones.append(dict(kind="LARGE", addr=int(m.group(1), 16), size=int(m.group(2)), blocks=[],
                              free_runs=[], line=line))
            continue
        m = EX_FREE.match(line)
        if m:
            if not zones:
                raise Fail("free run before any zone header: %r" % line)
            zones[-1]["free_runs"].append((int(m.group(1), 16), int(m.group(2), 16), int(m.group(3))))
            continue
        m = EX_BLK.match(line)
        if m:
            if not zones:
                raise Fail("block line before any zone header: %r" % line)
            start, end, size = int(m.group(1), 16), int(m.group(2), 16), int(m.group(3))
            if end - start != size:
                raise Fail("line %d: end - start != size: %r" % (i + 1, line))
            zones[-1]["blocks"].append((start, size, m.group(4)))
            continue
        m = EX_TOT.match(line)
        if m:
            total = [int(x) for x in m.groups()]
            continue
        raise Fail("line %d of show_alloc_mem_ex does not match the format: %r" % (i + 1, line[:120]))
    if total is None:
        raise Fail("no Total line at the end of show_alloc_mem_ex")
    listed = {}
    prev = -1
    for z in zones:
        if z["addr"] <= prev:
            raise Fail("zones not in increasing address order at 0x%X" % z["addr"])
        prev = z["addr"]
        if z["addr"] % PAGE or z["size"] % PAGE:
            raise Fail("zone not page aligned / not a multiple of the page size: %s" % z["line"])
        end = z["addr"] + z["size"]
        if z["kind"] == "LARGE":
            if len(z["blocks"]) != 1:
                raise Fail("LARGE mapping with %d blocks: %s" % (len(z["blocks"]), z["line"]))
        else:
            if z["chunks"] < MIN_CHUNKS:
                raise Fail("zone holds %d chunks (< %d): %s" % (z["chunks"], MIN_CHUNKS, z["line"]))
            if z["chunks"] * z["cls"] > z["size"]:
                raise Fail("chunks * class > zone size: %s" % z["line"])
            if z["used"] + z["free"] != z["chunks"]:
                raise Fail("used + free != chunks: %s" % z["line"])
            if z["used"] != len(z["blocks"]):
                raise Fail("header says %d used but %d blocks listed: %s" % (z["used"], len(z["blocks"]), z["line"]))
            if z["free_runs"] and sum(n for _, _, n in z["free_runs"]) != z["free"]:
                raise Fail("free runs hold %d chunks, header says %d free: %s" % (
                    sum(n for _, _, n in z["free_runs"]), z["free"], z["line"]))
            if (z["kind"] == "TINY") != (z["cls"] <= TINY_MAX):
                raise Fail("class %d in a %s zone: %s" % (z["cls"], z["kind"], z["line"]))
        last = -1
        for start, size, _ in z["blocks"]:
            if start <= last:
                raise Fail("blocks of zone 0x%X not in address order" % z["addr"])
            last = start
            if start < z["addr"] or start + size > end:
                raise Fail("block 0x%X (%d bytes) outside its zone: %s" % (start, size, z["line"]))
            if z["kind"] != "LARGE" and size > z["cls"]:
                raise Fail("block of %d bytes in a zone of class %d" % (size, z["cls"]))
            listed[start] = (size, z)
        for start, stop, _ in z["free_runs"]:
            if start < z["addr"] or stop > end:
                raise Fail("free run 0x%X - 0x%X outside its zone: %s" % (start, stop, z["line"]))
    tbytes, tblocks, ntiny, nsmall, nlarge, mapped = total
    if tbytes != sum(s for s, _ in listed.values()):
        raise Fail("Total %d bytes != sum of the listed blocks %d" % (tbytes, sum(s for s, _ in listed.values())))
    if tblocks != len(listed):
        raise Fail("Total says %d blocks, %d listed" % (tblocks, len(listed)))
    counts = [sum(1 for z in zones if z["kind"] == k) for k in ("TINY", "SMALL", "LARGE")]
    if counts != [ntiny, nsmall, nlarge]:
        raise Fail("Total zone counts %s != zones listed %s" % ([ntiny, nsmall, nlarge], counts))
    if mapped < sum(z["size"] for z in zones):
        raise Fail("%d bytes mapped < sum of the zone sizes %d" % (mapped, sum(z["size"] for z in zones)))
    for addr, size, how in blocks:
        if addr not in listed:
            raise Fail("block %#x (%d bytes) of the program is not listed" % (addr, size))
        lsize, z = listed[addr]
        if lsize != size:
            raise Fail("block 0x%X listed with %d bytes, the program asked %d" % (addr, lsize, size))
        if how == "m":
            if z["kind"] != category(size):
                raise Fail("block of %d bytes in a %s zone" % (size, z["kind"]))
            if z["kind"] != "LARGE" and z["cls"] != expected_class(size):
                raise Fail("malloc(%d) in a zone of class %d, expected class %d" % (
                    size, z["cls"], expected_class(size)))
            if z["kind"] == "LARGE" and z["size"] < size:
                raise Fail("LARGE mapping of %d B for %d bytes" % (z["size"], size))
    for addr in freed:
        if addr in listed:
            raise Fail("freed block 0x%X still listed" % addr)
    return zones, listed


def check_ex_format(r):
    zones, listed = parse_ex_dump(r)
    blocks, _ = program_blocks(r.err)
    lines = {int(m.group(1), 16): m.group(0) for m in re.finditer(r"^0x([0-9A-F]+) - .*$", r.out, re.M)}
    hello, alpha, binary = blocks[0][0], blocks[1][0], blocks[2][0]
    if not re.search(r"48 65 6C 6C 6F 00 00", lines[hello]) or "|Hello." not in lines[hello]:
        raise Fail("hex/ASCII dump of \"Hello\" missing: %r" % lines[hello])
    if not re.search(r"41 42 43 44 45 46", lines[alpha]) or "|ABCDEF" not in lines[alpha]:
        raise Fail("hex/ASCII dump of \"ABCDEF...\" missing: %r" % lines[alpha])
    if not re.search(r"01 02 7F 80 FF", lines[binary]) or not re.search(r"\|\.\.\.\.\.", lines[binary]):
        raise Fail("hex/ASCII dump of non-printable bytes wrong: %r" % lines[binary])


def check_zone_classes(r):
    zones, _ = parse_ex_dump(r)
    tiny, small = all_classes()
    seen = {z["cls"] for z in zones if z["kind"] != "LARGE"}
    missing = [c for c in tiny + small if c not in seen]
    if missing:
        raise Fail("no zone for class(es) %s" % missing[:10])
    extra = sorted(seen - set(tiny + small))
    if extra:
        raise Fail("zones of unexpected class(es) %s" % extra[:10])


def check_large_alone(r):
    zones, listed = parse_ex_dump(r)
    blocks, _ = program_blocks(r.err)
    for addr, size, _ in blocks:
        z = listed[addr][1]
        if z["kind"] != "LARGE":
            raise Fail("block of %d bytes not in a LARGE mapping" % size)


DUMP_CHECKS = {"known_heap": check_plain_dump, "ex_format": check_ex_format, "zone_classes": check_zone_classes,
               "large_listed_alone": check_large_alone}
for case in case_names(BINARIES["dump"].src):
    register("dump/%s" % case, c_case("dump", case, check=DUMP_CHECKS.get(case)), ["dump"])
# Without the per-thread cache only the reserve zone may remain.
for case in ("zone_release_tiny", "zone_release_small"):
    register("dump/%s_no_tcache" % case, c_case("dump", case, env=base_env(FT_MALLOC_TCACHE="0")), ["dump"])


# ---- linking ---------------------------------------------------------------------------------------

def nm_symbols(path, dynamic=False):
    r = run(["nm", "-D", "--defined-only", path] if dynamic else ["nm", "--defined-only", path])
    if r.rc != 0:
        raise Fail("nm failed", r.log())
    syms = {}
    for line in r.out.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            syms[parts[2].split("@")[0]] = parts[1]
    return syms


def test_link_min():
    path = BINARIES["link_min"].require()
    syms = nm_symbols(path)
    needed = API - {"show_alloc_mem", "show_alloc_mem_ex"}
    missing = sorted(s for s in needed if syms.get(s) not in ("T", "W", "t", "w", "i"))
    if missing:
        raise Fail("a program using only malloc/free does not get ft_malloc's %s" % ", ".join(missing))
    dyn = nm_symbols(path, dynamic=True)
    libc_ones = {"malloc", "free", "calloc", "realloc", "reallocarray", "memalign", "posix_memalign",
                 "aligned_alloc", "valloc", "pvalloc", "malloc_usable_size"}
    missing = sorted(libc_ones - set(dyn))
    if missing:
        raise Fail("not exported to libc from the program: %s" % ", ".join(missing))
    r = run([path])
    if r.rc != 0 or r.out != "link_min ok\n":
        raise Fail(fail_reason(r), r.log())


register("link/only_malloc_free_gets_whole_api", test_link_min, ["link_min"])
for case in case_names(BINARIES["link_libc"].src):
    register("link/%s" % case, c_case("link_libc", case), ["link_libc"])
for case in case_names(BINARIES["link_cxx"].src):
    register("link/cxx_%s" % case, c_case("link_cxx", case), ["link_cxx"], ref_ok=True)


# ---- start-up ------------------------------------------------------------------------------------

def check_startup_output(r):
    if r.out != "main ok\natexit ok\ndestructor ok\n":
        raise Fail("unexpected output %r" % r.out[-200:])


register("startup/ctor_and_atexit", c_case("startup", "ctor_and_atexit", check=check_startup_output), ["startup"],
         ref_ok=True)


def test_preload_startup():
    path = BINARIES["startup_plain"].require()
    r = run([path, "ctor_and_atexit"], env=base_env(LD_PRELOAD=LIB_SO))
    if r.rc != 0:
        raise Fail(fail_reason(r), r.log())
    check_startup_output(r)


def test_preload_library_ctor():
    lib = BINARIES["preload_ctor"].require()
    hello = BINARIES["hello_plain"].require()
    ref = run([hello])
    r = run([hello], env=base_env(LD_PRELOAD="%s %s" % (LIB_SO, lib)))
    if r.rc != 0:
        raise Fail("%s" % describe_rc(r.rc), r.log())
    if r.out != ref.out:
        raise Fail("output differs from the run without preload", r.log())
    for word in ("constructor ok", "destructor ok"):
        if "preload_ctor: " + word not in r.err:
            raise Fail("preloaded library: no `%s`" % word, r.log())


register("startup/preload_program_ctor_atexit", test_preload_startup, ["startup_plain"])
register("startup/preload_library_ctor", test_preload_library_ctor, ["preload_ctor", "hello_plain"])


# ---- LD_PRELOAD real programs ----------------------------------------------------------------------

def preload_compare(script, setup=None, timeout=TIMEOUT, env_extra=None):
    """Runs a shell script in a fresh directory, without and then with LD_PRELOAD (same directory path):
    stdout and exit status must match; ft_malloc must report nothing."""
    def fn():
        if not os.path.exists(LIB_SO):
            raise Fail("%s missing" % LIB_SO)
        outs = []
        with tempfile.TemporaryDirectory(prefix="ft_preload_") as tmp:
            work = os.path.join(tmp, "w")
            for preload in (None, LIB_SO):
                if os.path.exists(work):
                    shutil.rmtree(work)
                os.makedirs(work)
                if setup:
                    setup(work)
                extra = dict(env_extra or {})
                extra["HOME"] = tmp
                env = base_env(LD_PRELOAD=preload, **extra)
                r = run(script, shell=True, cwd=work, env=env, timeout=timeout)
                outs.append(r)
        ref, got = outs
        if re.search(r"^ft_malloc: ", got.err, re.M):
            raise Fail("ft_malloc reported: " + re.search(r"^ft_malloc: .*", got.err, re.M).group(0), got.log())
        if got.rc != ref.rc:
            raise Fail("exit status %s with ft_malloc, %s without" % (describe_rc(got.rc), describe_rc(ref.rc)),
                       ref.log() + "\n" + got.log())
        if ref.rc != 0:
            raise Fail("the reference run (without ft_malloc) failed: %s" % describe_rc(ref.rc), ref.log())
        if got.out != ref.out:
            a, b = ref.out.splitlines(), got.out.splitlines()
            i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
            raise Fail("stdout differs from the run without ft_malloc at line %d" % (i + 1),
                       ref.log() + "\n" + got.log())
    return fn


def test_preload_probe():
    path = BINARIES["probe_plain"].require()
    r = run([path], env=base_env(LD_PRELOAD=LIB_SO))
    if r.rc != 0:
        raise Fail(fail_reason(r), r.log())
    m = re.search(r"^PTR 0x([0-9a-f]+) 0x([0-9a-f]+)$", r.out, re.M)
    if not m:
        raise Fail("no PTR line", r.log())
    p, s = int(m.group(1), 16), int(m.group(2), 16)
    lines = r.out.splitlines()
    for addr, size in ((p, 4321), (s, 6)):
        if "0x%X - 0x%X : %d bytes" % (addr, addr + size, size) not in lines:
            raise Fail("preloaded: block 0x%X of %d bytes not in show_alloc_mem" % (addr, size), r.log())


register("preload/probe_uses_ft_malloc", test_preload_probe, ["probe_plain"])


def have(*progs):
    return all(shutil.which(p) for p in progs)


def gen_sort_input(work):
    with open(os.path.join(work, "lines.txt"), "w") as f:
        x = 12345
        for i in range(100000):
            x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
            f.write("%016x %d %s\n" % (x, i % 977, "w" * (x % 50)))


def gen_tree(work):
    d = os.path.join(work, "data")
    for i in range(120):
        sub = os.path.join(d, "d%02d" % (i % 7))
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, "f%03d.bin" % i), "wb") as f:
            x = i + 1
            chunk = bytearray()
            for k in range((i * 977) % 40000 + 100):
                x = (x * 1103515245 + 12345) & 0x7FFFFFFF
                chunk.append((x >> 16) & 0xFF if k % 3 else 65 + k % 26)
            f.write(bytes(chunk))


GIT_ENV = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com", "GIT_COMMITTER_NAME": "Test",
           "GIT_COMMITTER_EMAIL": "test@example.com", "GIT_AUTHOR_DATE": "2024-01-02T03:04:05 +0000",
           "GIT_COMMITTER_DATE": "2024-01-02T03:04:05 +0000", "GIT_CONFIG_NOSYSTEM": "1", "TZ": "UTC"}
GIT_SCRIPT = r"""set -e
git -c init.defaultBranch=main init -q repo
cd repo
git config user.name Test
git config user.email test@example.com
i=1
while [ $i -le 40 ]; do echo "line $i" > f$i.txt; i=$((i+1)); done
git add .
git commit -q -m first
i=1
while [ $i -le 15 ]; do echo "more $i" >> f$i.txt; git commit -q -am "change $i"; i=$((i+1)); done
git log --oneline
git log --stat -3
git diff HEAD~5 --stat
git gc -q
git rev-list --all | wc -l
git fsck --no-progress 2>&1
git cat-file -p HEAD
"""

PRELOADS = [
    ("ls", ["ls"], "ls -la /usr/bin; ls -laR /usr/include | head -2000", None, None),
    ("sh_loop", ["sh"], r"""sh -c 'i=0; s=; while [ $i -lt 3000 ]; do s="$s$i,"; i=$((i+1)); done; echo ${#s};
        for w in $(seq 1 3000); do x=$(( w * w )); done; echo $x; set -- $(seq 1 500); echo $#'""", None, None),
    ("python3", [], "'%s' '%s'" % (sys.executable, os.path.join(TEST_DIR, "heap_script.py")), None,
     {"PYTHONHASHSEED": "0"}),
    ("git", ["git"], GIT_SCRIPT, None, GIT_ENV),
    ("gcc", ["gcc"], "gcc -O2 -Wall '%s' -o hello && ./hello" % os.path.join(TEST_DIR, "preload", "hello.c"), None,
     None),
    ("gxx_stl", ["g++"], "g++ -O2 -Wall '%s' -o stl && ./stl" % os.path.join(TEST_DIR, "preload", "stl.cpp"), None,
     None),
    ("sort", ["sort"], "sort lines.txt | md5sum; sort -S 2M --parallel=2 -k2,2n -k1,1 lines.txt | tail -5", gen_sort_input,
     None),
    ("awk", ["awk"], r"""awk 'BEGIN { for (i = 0; i < 200000; i++) { k = i % 1000; s[k] += i; t[k] = t[k] "x"; u["key" i] = i }
        for (k = 0; k < 1000; k++) printf "%d %d %d\n", k, s[k], length(t[k]); n = 0; for (x in u) n++; print n }'""",
     None, None),
    ("sqlite3", ["sqlite3"], r"""sqlite3 :memory: "CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v BLOB);
        WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000)
        INSERT INTO t SELECT x, printf('k%05d', (x * 7919) % 10007), zeroblob(x % 700) FROM c;
        CREATE INDEX ik ON t(k);
        SELECT count(*), sum(length(v)), count(DISTINCT k) FROM t;
        SELECT k, count(*), sum(id) FROM t GROUP BY k ORDER BY k LIMIT 5;
        DELETE FROM t WHERE id % 3 = 0; VACUUM; SELECT count(*), max(k) FROM t;" """, None, None),
    ("perl", ["perl"], r"""perl -e 'my %h; for my $i (1..200000) { $h{"k" . ($i * 7919 % 50000)} .= "x" }
        my $t = 0; $t += length($h{$_}) for sort keys %h; print scalar(keys %h), " $t\n";
        my @a = sort { $a <=> $b } map { ($_ * 2654435761) % 1000003 } 1..100000; print "$a[0] $a[-1] $a[5000]\n";
        my $s = join(",", map { "v$_" } 1..50000); my @p = split /,/, $s; print scalar(@p), " ", length($s), "\n";'""",
     None, None),
    ("tar_xz", ["tar", "xz", "md5sum"], r"""set -e
        tar -cf - data | xz -T2 -6 > a.tar.xz
        mkdir out
        xz -d -T2 < a.tar.xz | tar -xf - -C out
        diff -r data out/data && echo same
        cd out && find data -type f | sort | xargs md5sum""", gen_tree, None),
]

for name, progs, script, setup, env_extra in PRELOADS:
    if have(*progs):
        register("preload/%s" % name, preload_compare(script, setup, timeout=90, env_extra=env_extra), [], timeout=90)


# ---- build checks ---------------------------------------------------------------------------------

def test_archive_no_cxx():
    if not os.path.exists(LIB_A):
        raise Fail("libft_malloc.a missing")
    r = run(["nm", "-u", LIB_A])
    if r.rc != 0:
        raise Fail("nm failed", r.log())
    bad = sorted({l.split()[-1] for l in r.out.splitlines() if re.search(r"\s(_Z|__cxa_|__gxx_)", l)})
    if bad:
        raise Fail("archive needs the C++ runtime: %s" % ", ".join(bad[:5]), r.log())


def test_so_exports():
    if not os.path.exists(LIB_SO):
        raise Fail("%s missing" % os.path.basename(LIB_SO))
    syms = set(nm_symbols(LIB_SO, dynamic=True)) - {"_init", "_fini", "_edata", "_end", "__bss_start"}
    extra, missing = sorted(syms - API), sorted(API - syms)
    if extra:
        raise Fail("exports more than the API: %s" % ", ".join(extra[:8]))
    if missing:
        raise Fail("does not export: %s" % ", ".join(missing))


def test_so_needed():
    r = run(["readelf", "-d", LIB_SO])
    if r.rc != 0:
        raise Fail("readelf failed", r.log())
    needed = re.findall(r"\(NEEDED\).*\[(.*)\]", r.out)
    bad = [n for n in needed if re.match(r"lib(stdc\+\+|gcc_s)", n)]
    if bad:
        raise Fail("the .so needs %s" % ", ".join(bad))


def test_no_plain_so():
    if os.path.lexists(os.path.join(ROOT, "libft_malloc.so")):
        raise Fail("libft_malloc.so exists in the top folder (the linker would prefer it to the archive)")


PROBE_C = r"""#include <ft_malloc.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    char *p = malloc(4242);
    if (!p)
        return 1;
    memset(p, 1, 4242);
    printf("PTR %p\n", (void *)p);
    fflush(stdout);
    show_alloc_mem();
    free(p);
    return 0;
}
"""


def test_install():
    with tempfile.TemporaryDirectory(prefix="ft_install_") as tmp:
        dest = os.path.join(tmp, "dest")
        r = run(["make", "-s", "install", "PREFIX=/usr", "DESTDIR=" + dest], timeout=180)
        if r.rc != 0:
            raise Fail("make install failed", r.log())
        want = ["usr/lib/libft_malloc.a", "usr/lib/libft_malloc_%s.so" % HOST, "usr/include/ft_malloc.h",
                "usr/lib/pkgconfig/ft_malloc.pc"]
        missing = [w for w in want if not os.path.isfile(os.path.join(dest, w))]
        if missing:
            raise Fail("not installed: %s" % ", ".join(missing), r.log())
        with open(os.path.join(tmp, "probe.c"), "w") as f:
            f.write(PROBE_C)
        if shutil.which("pkg-config"):
            env = base_env(PKG_CONFIG_PATH=os.path.join(dest, "usr/lib/pkgconfig"), PKG_CONFIG_SYSROOT_DIR=dest,
                           PKG_CONFIG_LIBDIR=os.path.join(dest, "usr/lib/pkgconfig"))
            r = run(["pkg-config", "--cflags", "--libs", "ft_malloc"], env=env)
            if r.rc != 0:
                raise Fail("pkg-config --cflags --libs ft_malloc failed", r.log())
            flags = r.out.split()
        else:
            flags = ["-I" + os.path.join(dest, "usr/include"), "-L" + os.path.join(dest, "usr/lib"), "-lft_malloc"]
        r = run(["gcc", "probe.c", "-o", "probe"] + flags, cwd=tmp)
        if r.rc != 0:
            raise Fail("building against the installed copy failed (%s)" % " ".join(flags), r.log())
        r = run([os.path.join(tmp, "probe")], cwd=tmp)
        m = re.search(r"^PTR 0x([0-9a-f]+)$", r.out, re.M)
        if r.rc != 0 or not m:
            raise Fail("program built against the installed copy: %s" % describe_rc(r.rc), r.log())
        line = "0x%X - 0x%X : 4242 bytes" % (int(m.group(1), 16), int(m.group(1), 16) + 4242)
        if line not in r.out.splitlines():
            raise Fail("program built against the installed copy does not use ft_malloc", r.log())


def test_dependency_tracking():
    r = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"])
    if r.rc != 0:
        raise Fail("git ls-files failed", r.log())
    files = [f for f in r.out.split("\0") if f]
    with tempfile.TemporaryDirectory(prefix="ft_deps_") as tmp:
        for f in files + ["Makefile"]:
            src = os.path.join(ROOT, f)
            if not os.path.isfile(src):
                continue
            dst = os.path.join(tmp, f)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy2(src, dst)
        # Bring the existing build along (mtimes kept) so that nothing needs compiling.
        if os.path.isdir(os.path.join(ROOT, "build")):
            shutil.copytree(os.path.join(ROOT, "build"), os.path.join(tmp, "build"), dirs_exist_ok=True)
        for lib in (LIB_A, LIB_SO):
            if os.path.exists(lib):
                shutil.copy2(lib, os.path.join(tmp, os.path.basename(lib)))
        r = run(["make", "-q", "all"], cwd=tmp)
        if r.rc != 0:
            r = run(["make", "-s", "-j2", "all"], cwd=tmp, timeout=240)
            if r.rc != 0:
                raise Fail("make in a copy of the repository failed", r.log())
            r = run(["make", "-q", "all"], cwd=tmp)
            if r.rc != 0:
                raise Fail("`make -q` says not up to date right after `make`", r.log())
        deps = {}
        for d, _, names in os.walk(os.path.join(tmp, "build")):
            for n in names:
                if n.endswith(".d"):
                    with open(os.path.join(d, n)) as f:
                        deps[os.path.join(d, n)] = f.read()
        if not deps:
            raise Fail("no dependency files (.d) under build/")
        headers = sorted(h for h in files if re.match(r"(src|show_alloc_mem)/.*\.(h|hpp|hh|hxx|tpp|ipp)$", h))
        headers = [h for h in headers if any(re.search(r"(^|\s)%s\b" % re.escape(h), t) for t in deps.values())]
        header = headers[0] if headers else "inc/ft_malloc.h"
        users = [os.path.relpath(p, os.path.join(tmp, "build"))[:-2] + ".cpp" for p, t in deps.items()
                 if re.search(r"(^|\s)%s\b" % re.escape(header), t)]
        if not users:
            raise Fail("no object depends on %s according to build/*.d" % header)
        later = time.time() + 5
        os.utime(os.path.join(tmp, header), (later, later))
        r = run(["make", "-q", "all"], cwd=tmp)
        if r.rc != 1:
            raise Fail("after touching %s, `make -q` returned %s (expected 1: out of date)" % (header, r.rc),
                       r.log())
        r = run(["make", "-n", "all"], cwd=tmp)
        if not any(re.search(r"\s-c\s+%s\b" % re.escape(u), r.out) for u in users):
            raise Fail("after touching %s, `make -n` does not recompile %s" % (header, users[0]), r.log())


register("build/archive_needs_no_cxx_runtime", test_archive_no_cxx)
register("build/so_exports_exactly_the_api", test_so_exports)
register("build/so_needs_no_libstdcxx", test_so_needed)
register("build/no_libft_malloc_so_in_top_folder", test_no_plain_so)
register("build/install_and_pkg_config", test_install, timeout=180)
register("build/dependency_tracking", test_dependency_tracking, timeout=240)


# ----------------------------------------------------------------------------------------------------
# Driver

def run_test(t):
    start = time.time()
    try:
        t.fn()
        return t, True, "", "", time.time() - start
    except Fail as e:
        return t, False, e.reason, e.log, time.time() - start
    except Exception as e:  # a bug in the runner must show as a failure, not a crash
        import traceback
        return t, False, "runner error: %r" % e, traceback.format_exc(), time.time() - start


def select(patterns):
    if not patterns:
        return list(TESTS)
    out = []
    for t in TESTS:
        for p in patterns:
            if (any(c in p for c in "*?[") and fnmatch.fnmatchcase(t.name, p)) or (
                    not any(c in p for c in "*?[") and p in t.name):
                out.append(t)
                break
    return out


def main(argv):
    global REF
    args = [a for a in argv if not a.startswith("-")]
    opts = [a for a in argv if a.startswith("-")]
    verbose = "-v" in opts
    jobs = 2
    for o in opts:
        m = re.match(r"-j(\d+)$", o)
        if m:
            jobs = max(1, int(m.group(1)))
    REF = "--ref-glibc" in opts
    os.chdir(ROOT)
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
    except (ValueError, OSError):
        pass
    tests = select(args)
    if REF:
        tests = [t for t in tests if t.ref_ok]
    if "--list" in opts:
        for t in tests:
            print(t.name)
        return 0
    os.makedirs(LOGS, exist_ok=True)
    # Build what the selected tests need first (in parallel), then run them.
    needed = sorted({n for t in tests for n in t.needs})
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        list(ex.map(lambda n: BINARIES[n].build(), needed))
    passed = failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as ex:
        for t, ok, reason, log, secs in ex.map(run_test, tests):
            logname = os.path.join(LOGS, t.name.replace("/", "__") + ".log")
            if ok:
                passed += 1
                print("PASS  %s" % t.name, flush=True)
                if os.path.exists(logname):
                    os.remove(logname)
            else:
                failed += 1
                reason = " ".join(reason.split())
                print("FAIL  %s: %s" % (t.name, reason[:300]), flush=True)
                with open(logname, "w") as f:
                    f.write("%s: %s\n(%.1f s)\n\n%s" % (t.name, reason, secs, log))
                if verbose:
                    sys.stderr.write(log + "\n")
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
