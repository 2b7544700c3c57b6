#!/usr/bin/env python3
"""ft_malloc test suite.

    python3 test/run_tests.py [PATTERN...]     run every test (or those whose name matches a PATTERN:
                                               a substring, or a glob with * ? [ ])
    python3 test/run_tests.py --list [PATTERN] list the test names
    python3 test/run_tests.py -v ...           also print the log of each failed test
    python3 test/run_tests.py --ref-glibc ...  build the portable tests WITHOUT ft_malloc and run them
                                               against glibc's malloc (checks the tests themselves)
    python3 test/run_tests.py --long[=N] ...   the load tests N times longer (default 20: minutes;
                                               FT_TEST_SCALE=N for the test programs), limits likewise

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
SCALE = 1  # --long: load tests scale their loops by this (FT_TEST_SCALE), time limits too

API = {
    "malloc", "free", "calloc", "realloc", "reallocarray", "memalign", "posix_memalign", "aligned_alloc",
    "valloc", "pvalloc", "malloc_usable_size", "free_sized", "free_aligned_sized", "cfree", "__libc_malloc",
    "__libc_free", "__libc_calloc", "__libc_realloc", "__libc_memalign", "show_alloc_mem", "show_alloc_mem_ex",
    "ft_malloc_check",                                              # the heap check (debug modes)
    "malloc_stats", "mallinfo2", "malloc_trim", "mallopt",          # glibc's statistics and tuning calls
    "mallinfo", "malloc_info",
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
    env = dict(env or base_env())
    if SCALE > 1:
        env.setdefault("FT_TEST_SCALE", str(SCALE))
        timeout *= SCALE
    p = subprocess.Popen(cmd, shell=shell, cwd=cwd or ROOT, env=env, start_new_session=True,
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
JOBS = 2  # -jN: tests run at once, and make's jobs


class Binary:
    """A test program. test/tests.mk knows how it is built: the rule of its path (test/build/NAME,
    test/build/libNAME.so when shared). link_ft: linked with ft_malloc (-L. -lft_malloc, or the
    archive of `make inject` or `make ubsan-lib`); under --ref-glibc those are test/build/ref/NAME,
    built without ft_malloc to run under glibc. link_ft=False: never linked with it (for LD_PRELOAD,
    for ft_heap, or to run under glibc). src: the source that holds the case table."""

    def __init__(self, name, src, link_ft=True, shared=False, path=None):
        self.name, self.src, self.link_ft, self.shared, self.fixed_path = name, src, link_ft, shared, path
        self.done = None  # None: not built yet; else (ok, log)

    @property
    def path(self):
        if self.fixed_path:
            return self.fixed_path
        sub = "ref" if REF and self.link_ft else ""
        name = ("lib%s.so" % self.name) if self.shared else self.name
        return os.path.join(BUILD, sub, name)

    @property
    def target(self):
        """The path as test/tests.mk names it (relative to the repository root)."""
        return os.path.relpath(self.path, ROOT)

    def build(self):
        if self.done is None:
            make_binaries([self])
        return self.done

    def require(self):
        ok, log = self.build()
        if not ok:
            raise Fail("build of %s failed" % self.src, log)
        return self.path


MAKE_LOCK = threading.Lock()


def make_binaries(binaries):
    """Builds the binaries not built yet in ONE call of make (test/tests.mk). If that fails, make
    builds each of them alone: a program that does not build fails only the tests that need it, with
    make's output about it as their log."""
    with MAKE_LOCK:
        todo = [b for b in binaries if b.done is None]
        if not todo:
            return
        try:
            r = run(["make", "-s", "-k", "-j%d" % JOBS] + [b.target for b in todo], timeout=900)
            if r.rc == 0:
                for b in todo:
                    b.done = (True, r.log())
                return
        except Fail:
            pass
        for b in todo:
            try:
                r = run(["make", "-s", "-j%d" % JOBS, b.target], timeout=600)
                b.done = (r.rc == 0, r.log())
            except Fail as e:
                b.done = (False, e.log)


BINARIES = {b.name: b for b in [
    Binary("api", "test/api.c"),
    Binary("bad_input", "test/bad_input.c"),
    Binary("dump", "test/dump.c"),
    Binary("zones", "test/zones.c"),
    Binary("stress", "test/stress.c"),
    Binary("threads", "test/threads.c"),
    Binary("startup", "test/startup.c"),
    Binary("link_min", "test/link_min.c"),
    Binary("link_libc", "test/link_libc.c"),
    Binary("link_cxx", "test/link_cxx.cpp"),
    # Built without ft_malloc: for LD_PRELOAD tests.
    Binary("startup_plain", "test/startup.c", link_ft=False),
    Binary("hello_plain", "test/preload/hello.c", link_ft=False),
    Binary("probe_plain", "test/preload/probe.c", link_ft=False),
    Binary("dlopen_plain", "test/preload/dlopen.c", link_ft=False),
    Binary("preload_ctor", "test/preload_ctor.c", link_ft=False, shared=True),
    Binary("bad_input_plain", "test/bad_input.c", link_ft=False),
    Binary("debug_modes", "test/debug_modes.c"),
    # The same programs against the allocator built with UBSan (undefined behaviour aborts).
    Binary("api_ubsan", "test/api.c"),
    Binary("dump_ubsan", "test/dump.c"),
    Binary("stress_ubsan", "test/stress.c"),
    Binary("threads_ubsan", "test/threads.c"),
    Binary("debug_modes_ubsan", "test/debug_modes.c"),
    Binary("faults", "test/faults.c"),
    Binary("faults_inject", "test/faults.c"),
    Binary("reports", "test/reports.c"),
    Binary("leaks", "test/leaks.c"),
    Binary("leaks_rdynamic", "test/leaks.c"),
    Binary("leaks_glibc", "test/leaks.c", link_ft=False),
    # fork safety, glibc's calls and settings; statically linked too (gcc -static ... -lft_malloc).
    Binary("fork_safety", "test/fork_safety.c"),
    Binary("fork_safety_static", "test/fork_safety.c"),
    Binary("fork_safety_plain", "test/fork_safety.c", link_ft=False),
    Binary("glibc_api", "test/glibc_api.c"),
    Binary("glibc_api_static", "test/glibc_api.c"),
    Binary("glibc_api_plain", "test/glibc_api.c", link_ft=False),
    Binary("api_static", "test/api.c"),
    # test/vg_prog.c against the allocator built with `make VALGRIND=1` in a copy of the repository.
    Binary("vg_prog", "test/vg_prog.c", link_ft=False, path=os.path.join(BUILD, "valgrind_repo", "vg_prog")),
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


def bad_input_test(case, mode, preload=False):
    """preload: the program is built without ft_malloc and runs with LD_PRELOAD of the .so."""
    def fn():
        path = BINARIES["bad_input_plain" if preload else "bad_input"].require()
        if preload and not os.path.exists(LIB_SO):
            raise Fail("%s missing" % LIB_SO)
        env = base_env(FT_MALLOC_ERRORS=None if mode == "abort" else mode, LD_PRELOAD=LIB_SO if preload else None)
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

# The same misuse in a program that does not link ft_malloc, run with LD_PRELOAD of the .so: every
# case aborting, a few in the other modes.
PRELOAD_BAD_OTHER_MODES = ("free_stack", "free_large_plus4096", "double_free_tiny_frees_between",
                           "double_free_large", "realloc_freed", "stale_zone_pointer")
for case in case_names(BINARIES["bad_input"].src):
    for mode in ("abort", "warn", "ignore"):
        if mode == "abort" or case in PRELOAD_BAD_OTHER_MODES:
            register("preload/bad_input/%s/%s" % (mode, case), bad_input_test(case, mode, preload=True),
                     ["bad_input_plain"])


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


def test_dlopen():
    """The shared object loaded with dlopen after start-up (its TLS is initial-exec), used from
    4 threads through dlsym (the thread caches on); its statistics at exit count the calls."""
    prog = BINARIES["dlopen_plain"].require()
    r = run([prog, LIB_SO], env=base_env(FT_MALLOC_STATS="1"))
    if r.rc != 0 or r.out.strip() != "OK":
        raise Fail("dlopen of %s: %s" % (os.path.basename(LIB_SO), describe_rc(r.rc)), r.log())
    m = re.search(r"^total\s+-\s+(\d+)\s+(\d+)", r.err, re.M)
    if not m or int(m.group(1)) < 500000:
        raise Fail("the statistics at exit do not show the 500,000 mallocs made through dlsym", r.log())


register("startup/dlopen_initial_exec_tls", test_dlopen, ["dlopen_plain"])


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


def gen_make_project(work):
    """A small C project: 8 modules, a header, a Makefile (make -j2 runs two compilers at a time)."""
    names = ["m%d" % i for i in range(8)]
    with open(os.path.join(work, "mods.h"), "w") as f:
        f.write("".join("long %s(long);\n" % n for n in names))
    for i, n in enumerate(names):
        with open(os.path.join(work, n + ".c"), "w") as f:
            f.write('#include <stdlib.h>\n#include <string.h>\n#include "mods.h"\n'
                    "long %s(long x)\n{\n    char *p = malloc(1000 + x %% 100);\n    memset(p, %d, 1000);\n"
                    "    long s = 0;\n    for (int k = 0; k < 1000; k++) s += p[k] * (k %% 7 + x);\n"
                    "    free(p);\n    return s;\n}\n" % (n, i + 1))
    with open(os.path.join(work, "main.c"), "w") as f:
        f.write('#include <stdio.h>\n#include "mods.h"\nint main(void)\n{\n'
                + "".join('    printf("%s %%ld\\n", %s(%d));\n' % (n, n, i * 13) for i, n in enumerate(names))
                + "    return 0;\n}\n")
    objs = " ".join(n + ".o" for n in names + ["main"])
    with open(os.path.join(work, "Makefile"), "w") as f:
        f.write("CFLAGS = -O2 -Wall\nprog: %s\n\t$(CC) -o $@ $^\n%%.o: %%.c mods.h\n\t$(CC) $(CFLAGS) -c $< -o $@\n"
                "clean:\n\trm -f prog *.o\n" % objs)


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
    ("python3_threads", [], "'%s' '%s'" % (sys.executable, os.path.join(TEST_DIR, "preload", "threads_script.py")),
     None, {"PYTHONHASHSEED": "0"}),
    ("make_j2", ["make", "gcc"], "make -s -j2 && ./prog && make -s -j2 clean && ls", gen_make_project, None),
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


# ---- debug modes: FT_MALLOC_SCRIBBLE, FT_MALLOC_GUARD, FT_MALLOC_CHECK -----------------------------

def announced_ptr(r, tag="PTR"):
    m = re.search(r"^%s (0x[0-9a-f]+)$" % tag, r.out, re.M)
    if not m:
        raise Fail("the program did not reach the bad access (%s)" % fail_reason(r), r.log())
    return int(m.group(1), 16)


def ft_lines(r):
    return [l for l in r.err.splitlines() if l.startswith("ft_malloc:")]


def expect_killed(binary, case, env, sig, check=None):
    """The case makes a bad access after printing PTR: it must die by `sig`, not go on."""
    def fn():
        path = BINARIES[binary].require()
        r = run([path, case], env=env)
        if any(l.startswith("FAIL:") for l in r.err.splitlines()):
            raise Fail(fail_reason(r), r.log())
        ptr = announced_ptr(r)
        if "SURVIVED" in r.out.split():
            raise Fail("the bad access at %#x went unnoticed (the program went on)" % ptr, r.log())
        if r.rc != -sig:
            raise Fail("expected %s, got %s" % (signal.Signals(sig).name, describe_rc(r.rc)), r.log())
        if check:
            check(r, ptr)
    return fn


GUARD = base_env(FT_MALLOC_GUARD="1")
CHECK_ENV = base_env(FT_MALLOC_CHECK="1")
ALL_DEBUG = base_env(FT_MALLOC_CHECK="1", FT_MALLOC_SCRIBBLE="1", FT_MALLOC_GUARD="1")
OVERFLOW_LINE = re.compile(r"^ft_malloc: (free|realloc|ft_malloc_check)\(\): heap overflow 0x([0-9a-f]+) "
                           r"\(the canary after the (TINY|SMALL|LARGE) block of (\d+) B was overwritten\)$")
KIND_SIZE = {"TINY": 30, "SMALL": 1000, "LARGE": 131072 + 4096 + 123}  # as debug_modes.c's kind_size()


def check_overflow_report(call, kind):
    def check(r, ptr):
        lines = ft_lines(r)
        if len(lines) != 1:
            raise Fail("expected one `ft_malloc: %s(): heap overflow ...` line, got %d" % (call, len(lines)), r.log())
        m = OVERFLOW_LINE.match(lines[0])
        if not m:
            raise Fail("malformed report: %s" % lines[0], r.log())
        if m.group(1) != call or int(m.group(2), 16) != ptr or m.group(3) != kind or int(m.group(4)) != KIND_SIZE[kind]:
            raise Fail("report %r, expected %s() of the %s block %#x of %d B" % (lines[0], call, kind, ptr,
                                                                                  KIND_SIZE[kind]), r.log())
    return check


def test_check_warn_goes_on():
    path = BINARIES["debug_modes"].require()
    r = run([path, "check_overflow_warn_goes_on"], env=base_env(FT_MALLOC_CHECK="1", FT_MALLOC_ERRORS="warn"))
    if r.rc != 0 or "CONTINUED" not in r.out.split():
        raise Fail("FT_MALLOC_ERRORS=warn: expected the program to go on: %s" % fail_reason(r), r.log())
    ptr = announced_ptr(r)
    lines = ft_lines(r)
    m = OVERFLOW_LINE.match(lines[0]) if len(lines) == 1 else None
    if not m or m.group(1) != "free" or int(m.group(2), 16) != ptr or m.group(3) != "TINY" or m.group(4) != "100":
        raise Fail("expected one `ft_malloc: free(): heap overflow %#x (... TINY block of 100 B ...)` line" % ptr,
                   r.log())


def test_check_function():
    path = BINARIES["debug_modes"].require()
    r = run([path, "check_function_finds_overflow"], env=CHECK_ENV)
    if r.rc != 0 or "CONTINUED" not in r.out.split():
        raise Fail(fail_reason(r), r.log())
    ptrs = [announced_ptr(r, "PTR%d" % k) for k in range(3)]
    lines = ft_lines(r)
    if len(lines) != 3:
        raise Fail("expected 3 reports (one per ft_malloc_check() call with damage), got %d" % len(lines), r.log())
    for k, line in enumerate(lines):
        m = OVERFLOW_LINE.match(line)
        if not m or m.group(1) != "ft_malloc_check":
            raise Fail("malformed report: %s" % line, r.log())
        if int(m.group(2), 16) not in ptrs[:k + 1]:
            raise Fail("ft_malloc_check() call %d names %s, not one of the damaged blocks" % (k + 1, m.group(2)),
                       r.log())


for case in case_names("test/debug_modes.c"):
    if case.startswith("scribble_"):
        register("debug/%s" % case, c_case("debug_modes", case, env=base_env(FT_MALLOC_SCRIBBLE="1")), ["debug_modes"])
    elif case.startswith("guard_overflow_"):
        register("debug/%s" % case, expect_killed("debug_modes", case, GUARD, signal.SIGSEGV), ["debug_modes"])
    elif case.startswith("guard_"):
        register("debug/%s" % case, c_case("debug_modes", case, env=GUARD), ["debug_modes"])
    elif case.startswith("check_overflow_free_") or case.startswith("check_overflow_realloc_"):
        call, kind = case.split("_")[2], case.split("_")[3].upper()
        register("debug/%s" % case, expect_killed("debug_modes", case, CHECK_ENV, signal.SIGABRT,
                                                  check_overflow_report(call, kind)), ["debug_modes"])
    elif case == "check_overflow_warn_goes_on":
        register("debug/%s" % case, test_check_warn_goes_on, ["debug_modes"])
    elif case == "check_function_finds_overflow":
        register("debug/%s" % case, test_check_function, ["debug_modes"])
    elif case.startswith("check_"):
        register("debug/%s" % case, c_case("debug_modes", case, env=CHECK_ENV), ["debug_modes"])
    else:
        register("debug/%s" % case, c_case("debug_modes", case, env=ALL_DEBUG), ["debug_modes"])
# The random workload (contents, overlaps, alignment, calloc zero) with every debug mode on.
register("debug/stress_seed3_all_modes", c_case("stress", "seed3", env=ALL_DEBUG, timeout=120), ["stress"],
         timeout=120)
register("debug/stress_small_only_check", c_case("stress", "small_only", env=CHECK_ENV, timeout=120), ["stress"],
         timeout=120)


# ---- UBSan: the allocator built with -fsanitize=undefined ---------------------------------------
# The same programs and checks, against build/ubsan/libft_malloc.a: any undefined behaviour in the
# allocator aborts the case.

for case in case_names(BINARIES["api"].src):
    register("ubsan/api/%s" % case, c_case("api_ubsan", case), ["api_ubsan"])
for case in case_names(BINARIES["dump"].src):
    register("ubsan/dump/%s" % case, c_case("dump_ubsan", case, check=DUMP_CHECKS.get(case)), ["dump_ubsan"])
register("ubsan/stress/seed1", c_case("stress_ubsan", "seed1", timeout=120), ["stress_ubsan"], timeout=120)
for case in ("handoff_8_threads", "producer_consumer", "fork_while_allocating"):
    register("ubsan/threads/%s" % case, c_case("threads_ubsan", case, timeout=120), ["threads_ubsan"],
             timeout=120)
register("ubsan/debug/all_modes_stress", c_case("debug_modes_ubsan", "all_modes_threads", env=ALL_DEBUG,
                                               timeout=120), ["debug_modes_ubsan"], timeout=120)


# ---- fuzzing: 30 seconds of libFuzzer from the committed corpus ----------------------------------

def test_fuzz_smoke():
    r = run(["make", "-s", "fuzz-smoke", "FUZZ_SECONDS=30"], timeout=600)
    if r.rc != 0:
        raise Fail("the fuzzer found a failure or did not build (%s)" % describe_rc(r.rc), r.log())
    if not re.search(r"Done \d+ runs", r.err + r.out):
        raise Fail("the fuzzer did not run", r.log())


if have("clang"):
    register("fuzz/smoke_30s", test_fuzz_smoke, timeout=600)


# ---- out of memory: RLIMIT_AS and fault injection ---------------------------------------------------

for case in case_names("test/faults.c"):
    b = "faults_inject" if case.startswith("inject_") else "faults"
    register("faults/%s" % case, c_case(b, case, timeout=120), [b], timeout=120)


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
    if not re.search(r"^mmap calls \d+, munmap calls \d+, lock acquisitions \d+, lock waits \d+, peak live \d+ B",
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


register("stats/exit_stats_table", test_exit_stats, ["reports"])
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


# ---- leak report ------------------------------------------------------------------------------------

LEAK_GROUP = re.compile(r"^([\d,]+) bytes? in (\d+) blocks? allocated at (.+)$")
LEAK_SUMMARY = "ft_malloc: leaks: 12,794 bytes in 5 blocks from 3 call sites"


def run_leaks(binary):
    path = BINARIES[binary].require()
    r = run([path], env=base_env(FT_MALLOC_LEAKS="1"))
    if r.rc != 0:
        raise Fail(fail_reason(r), r.log())
    groups = []
    for line in r.err.splitlines():
        m = LEAK_GROUP.match(line)
        if m:
            groups.append((int(m.group(1).replace(",", "")), int(m.group(2)), m.group(3).split(" <- ")))
    return r, groups


def check_leak_groups(r, groups):
    got = [(b, n) for b, n, _ in groups]
    if got != [(12288, 3), (500, 1), (6, 1)]:
        raise Fail("leak groups (bytes, blocks) %s, expected [(12288, 3), (500, 1), (6, 1)], biggest first" % got,
                   r.log())
    if "12,288 bytes in 3 blocks allocated at " not in r.err:
        raise Fail("no line `12,288 bytes in 3 blocks allocated at ...`", r.log())
    if LEAK_SUMMARY not in r.err.splitlines():
        raise Fail("no line `%s`" % LEAK_SUMMARY, r.log())
    if "strdup" not in groups[2][2][0]:
        raise Fail("the 6-byte block's first frame is %r, not strdup" % groups[2][2][0], r.log())


def test_leaks_report():
    r, groups = run_leaks("leaks")
    check_leak_groups(r, groups)
    exe = BINARIES["leaks"].path
    for b, _, frames in groups[:2]:
        if "(%s)" % exe not in frames[0]:
            raise Fail("the first frame of the %d-byte group is %r, not in %s" % (b, frames[0], exe), r.log())


def test_leaks_rdynamic():
    r, groups = run_leaks("leaks_rdynamic")
    check_leak_groups(r, groups)
    for (b, _, frames), fn in zip(groups, ("leak_three+", "leak_one+", "__strdup")):
        if not frames[0].startswith(fn) and not (fn == "__strdup" and "strdup" in frames[0]):
            raise Fail("built with -rdynamic: the %d-byte group's first frame is %r, expected %s..." % (
                b, frames[0], fn), r.log())
        if not any(f.startswith("main+") for f in frames):
            raise Fail("built with -rdynamic: `main` not among the frames of the %d-byte group" % b, r.log())


def test_leaks_vs_valgrind():
    r, groups = run_leaks("leaks")
    ft_bytes, ft_blocks = sum(b for b, _, _ in groups), sum(n for _, n, _ in groups)
    path = BINARIES["leaks_glibc"].require()
    v = run(["valgrind", "--leak-check=full", path], timeout=120)
    m = re.search(r"definitely lost: ([\d,]+) bytes in ([\d,]+) blocks", v.err)
    if not m:
        raise Fail("no `definitely lost` line from valgrind", v.log())
    vg_bytes, vg_blocks = int(m.group(1).replace(",", "")), int(m.group(2).replace(",", ""))
    if (vg_bytes, vg_blocks) != (ft_bytes, ft_blocks):
        raise Fail("ft_malloc reports %d bytes in %d blocks leaked, valgrind (glibc) %d bytes in %d blocks" % (
            ft_bytes, ft_blocks, vg_bytes, vg_blocks), r.log() + "\n" + v.log())


register("leaks/report_grouped_by_site", test_leaks_report, ["leaks"])
register("leaks/rdynamic_names_functions", test_leaks_rdynamic, ["leaks_rdynamic"])
if have("valgrind"):
    register("leaks/same_total_as_valgrind", test_leaks_vs_valgrind, ["leaks", "leaks_glibc"], timeout=120)


# ---- valgrind: make VALGRIND=1 ----------------------------------------------------------------------

# Without this option valgrind puts its own malloc in place of the program's (ft_malloc's) one.
VG_KEEP_OURS = "--soname-synonyms=somalloc=nouseroverride"


def build_valgrind():
    """test/vg_prog.c linked with the allocator built by `make VALGRIND=1` in a copy of the repository
    (never in the repository itself: the other tests use its library meanwhile); test/tests.mk."""
    b = BINARIES["vg_prog"]
    ok, log = b.build()
    return ok, log, b.path


def run_vg(case, keep_ours=True):
    ok, log, prog = build_valgrind()
    if not ok:
        raise Fail("make VALGRIND=1 in a copy of the repository failed", log)
    cmd = ["valgrind", "--leak-check=full", "--error-exitcode=99"] + ([VG_KEEP_OURS] if keep_ours else []) + [prog,
                                                                                                          case]
    return run(cmd, timeout=180)


def vg_uses_ft(r):
    m = re.search(r"^PTR (0x[0-9a-f]+)$", r.out, re.M)
    if not m:
        raise Fail("the program did not print its block", r.log())
    a = int(m.group(1), 16)
    if "0x%X - 0x%X : 100 bytes" % (a, a + 100) not in r.out.splitlines():
        raise Fail("under valgrind the program's malloc is not ft_malloc's (its block is not in show_alloc_mem)",
                   r.log())


def test_vg_leak():
    r = run_vg("leak")
    vg_uses_ft(r)
    if not re.search(r"definitely lost: 5,100 bytes in 2 blocks", r.err):
        raise Fail("memcheck does not report the 2 leaked blocks (5,100 bytes) as definitely lost", r.log())


def test_vg_uaf():
    r = run_vg("use_after_free")
    if not re.search(r"Invalid read of size \d+", r.err) or "inside a block of size 32 free'd" not in r.err:
        raise Fail("memcheck does not report the read of a freed block (Invalid read ... free'd)", r.log())


def test_vg_overflow():
    r = run_vg("overflow")
    if not re.search(r"Invalid write of size 1\b", r.err) or "0 bytes after a block of size 30 alloc'd" not in r.err:
        raise Fail("memcheck does not report the write past the block (Invalid write ... after a block)", r.log())


def test_vg_clean(case):
    def fn():
        r = run_vg(case)
        errs = re.search(r"ERROR SUMMARY: ([\d,]+) errors", r.err)
        if r.rc != 0 or not errs or errs.group(1) != "0":
            first = re.search(r"^==\d+== (Invalid .*|.*uninitialised.*|.*definitely lost.*)$", r.err, re.M)
            raise Fail("memcheck reports errors on a clean program (%s): %s" % (
                errs.group(0) if errs else describe_rc(r.rc), first.group(1) if first else "?"), r.log())
        if "definitely lost: " in r.err and not re.search(r"definitely lost: 0 bytes", r.err):
            raise Fail("memcheck reports a leak on a clean program", r.log())
    return fn


def test_vg_readme_command():
    """The valgrind command README.md gives, run on a program linked with the VALGRIND=1 build,
    really checks ft_malloc's blocks."""
    with open(os.path.join(ROOT, "README.md")) as f:
        cmds = [l.split() for l in f if l.startswith("valgrind ") and l.rstrip().endswith("./prog")]
    if not cmds:
        raise Fail("README.md gives no `valgrind ... ./prog` command")
    ok, log, prog = build_valgrind()
    if not ok:
        raise Fail("make VALGRIND=1 in a copy of the repository failed", log)
    r = run(cmds[0][:-1] + [prog, "leak"], timeout=180)
    vg_uses_ft(r)


if have("valgrind"):
    register("valgrind/leak_definitely_lost", test_vg_leak, ["vg_prog"], timeout=300)
    register("valgrind/use_after_free_invalid_read", test_vg_uaf, ["vg_prog"], timeout=300)
    register("valgrind/overflow_invalid_write", test_vg_overflow, ["vg_prog"], timeout=300)
    for case in ("clean_basic", "clean", "clean_realloc", "clean_realloc_large"):
        register("valgrind/%s_no_error" % case, test_vg_clean(case), ["vg_prog"], timeout=300)
    register("valgrind/readme_command_checks_ft_malloc", test_vg_readme_command, ["vg_prog"], timeout=300)


# ---- fork, glibc's calls, settings, static linking ------------------------------------------------

# Each program three ways: linked with -lft_malloc, linked statically, and plain under LD_PRELOAD.
LINKINGS = [("linked", "%s", None), ("static", "%s_static", None), ("preload", "%s_plain", "so")]


def linking_env(how, **extra):
    return base_env(LD_PRELOAD=LIB_SO if how == "so" else None, **extra)


# The fork scenarios run thousands of forks; a hang is the time limit passing.
for label, fmt, how in LINKINGS:
    for case in case_names("test/fork_safety.c"):
        for tc in (None, "0"):
            if tc and case == "fork_against_stdio":
                continue  # the stdio case is about other threads; its lock order does not change
            name = "fork/%s/%s%s" % (label, case, "_no_tcache" if tc else "")
            register(name, c_case(fmt % "fork_safety", case, timeout=120,
                                  env=linking_env(how, FT_MALLOC_TCACHE=tc)),
                     [fmt % "fork_safety"], timeout=120)

GLIBC_API_CASES = ("mallinfo_counts_our_heap", "mallinfo_clamps_to_int_max", "malloc_info_rejects_options")


def check_malloc_info(r):
    """malloc_info(0, stdout): well-formed XML with the program's 10,000 blocks of 1000 B and its
    5 MiB LARGE block in it."""
    m = re.search(r"^XML BEGIN\n(.*)^XML END$", r.out, re.M | re.S)
    held = re.search(r"^HELD (\d+) (\d+) (\d+)$", r.out, re.M)
    if not m or not held:
        raise Fail("no XML between the markers")
    import xml.dom.minidom
    try:
        doc = xml.dom.minidom.parseString(m.group(1))
    except Exception as e:  # noqa: BLE001 - any parse error is the failure
        raise Fail("malloc_info's output is not well-formed XML: %s" % e)
    top = doc.documentElement
    if top.tagName != "malloc" or top.getAttribute("allocator") != "ft_malloc":
        raise Fail("the root element is <%s allocator=%r>, not ft_malloc's <malloc>" % (
            top.tagName, top.getAttribute("allocator")))
    blocks, size, large = (int(x) for x in held.groups())
    cls = [c for c in top.getElementsByTagName("class") if int(c.getAttribute("size")) == expected_class(size)]
    if not cls or int(cls[0].getAttribute("blocks")) < blocks or int(cls[0].getAttribute("bytes")) < blocks * size:
        raise Fail("<class size=%d> does not show the %d blocks of %d B" % (expected_class(size), blocks, size))
    lg = top.getElementsByTagName("large")
    if not lg or int(lg[0].getAttribute("blocks")) < 1 or int(lg[0].getAttribute("bytes")) < large:
        raise Fail("<large> does not show the %d-byte block" % large)
    live = top.getElementsByTagName("live")
    if not live or int(live[0].getAttribute("bytes")) < blocks * size + large:
        raise Fail("<live> holds fewer bytes than the program does")
    for t in ("cache", "reserve", "heap"):
        if not top.getElementsByTagName(t):
            raise Fail("no <%s> element" % t)
    for t in top.getElementsByTagName("total"):
        if t.getAttribute("type") == "mmap" and int(t.getAttribute("size")) < large:
            raise Fail("<total type=\"mmap\"> is smaller than the LARGE block")
    if shutil.which("xmllint"):
        with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as f:
            f.write(m.group(1))
        try:
            x = run(["xmllint", "--noout", f.name])
            if x.rc != 0:
                raise Fail("xmllint rejects malloc_info's output: %s" % x.err.strip()[:300])
        finally:
            os.unlink(f.name)


for label, fmt, how in LINKINGS:
    for case in GLIBC_API_CASES:
        register("glibc_api/%s/%s" % (label, case), c_case(fmt % "glibc_api", case, env=linking_env(how)),
                 [fmt % "glibc_api"])
    register("glibc_api/%s/malloc_info_xml" % label,
             c_case(fmt % "glibc_api", "malloc_info_xml", env=linking_env(how), check=check_malloc_info),
             [fmt % "glibc_api"])

# The api suite statically linked: everything it checks holds in a static program too.
for case in case_names(BINARIES["api"].src):
    register("static/api/%s" % case, c_case("api_static", case), ["api_static"])

SETTING_LINE = re.compile(r"^ft_malloc: (FT_MALLOC_\w+)=(.*): not (.+); using (.+)$")


def settings_run(how, binary_fmt, case, **env):
    path = BINARIES[binary_fmt % "glibc_api"].require()
    return run([path, case], env=linking_env(how, **env))


def test_bad_values(label, fmt, how):
    """A value ft_malloc cannot use: one line naming the variable, the value and what is used instead;
    the default is then in effect."""
    def fn():
        bad = {"FT_MALLOC_ERRORS": "bogus", "FT_MALLOC_EVERY": "abc", "FT_MALLOC_STATS": "maybe",
               "FT_MALLOC_DUMP": "2", "FT_MALLOC_DUMP_SIGNAL": "NOSUCHSIG", "FT_MALLOC_TCACHE": "x"}
        r = settings_run(how, fmt, "settings_probe", **bad)
        if r.rc != 0 or "PROBE OK" not in r.out:
            raise Fail("the program did not run: %s" % fail_reason(r), r.log())
        lines = [l for l in r.err.splitlines() if l.startswith("ft_malloc:")]
        seen = {}
        for l in lines:
            m = SETTING_LINE.match(l)
            if not m:
                raise Fail("unexpected line %r" % l, r.log())
            seen[m.group(1)] = m.group(2)
        for var, value in bad.items():
            if seen.get(var) != value:
                raise Fail("no `ft_malloc: %s=%s: not ...; using ...` line" % (var, value), r.log())
        if len(lines) != len(bad):
            raise Fail("%d lines for %d bad values" % (len(lines), len(bad)), r.log())
        if "statistics" in r.err:
            raise Fail("FT_MALLOC_STATS=maybe printed statistics (the default is off)", r.log())
        d = settings_run(how, fmt, "settings_double_free", FT_MALLOC_ERRORS="bogus")
        if d.rc != -signal.SIGABRT or "CONTINUED" in d.out:
            raise Fail("FT_MALLOC_ERRORS=bogus: a double free did not abort (the default): %s" % describe_rc(d.rc),
                       d.log())
    return fn


def test_unknown_name(label, fmt, how):
    """A name that starts with FT_MALLOC_ but is none of ours (a typo) is reported, once."""
    def fn():
        r = settings_run(how, fmt, "settings_probe", FT_MALLOC_STAT="1", FT_MALLOC_LEAK="1")
        lines = [l for l in r.err.splitlines() if l.startswith("ft_malloc:")]
        for name in ("FT_MALLOC_STAT=1", "FT_MALLOC_LEAK=1"):
            got = [l for l in lines if l.startswith("ft_malloc: %s: unknown setting" % name)]
            if len(got) != 1:
                raise Fail("%d lines `ft_malloc: %s: unknown setting ...`" % (len(got), name), r.log())
        if len(lines) != 2 or r.rc != 0:
            raise Fail("expected exactly the two lines and exit 0", r.log())
    return fn


def test_verbose(label, fmt, how):
    """FT_MALLOC_VERBOSE=1: one line per setting with its effective value, once."""
    def fn():
        r = settings_run(how, fmt, "settings_probe", FT_MALLOC_VERBOSE="1", FT_MALLOC_ERRORS="warn",
                         FT_MALLOC_EVERY="7")
        lines = [l for l in r.err.splitlines() if l.startswith("ft_malloc: FT_MALLOC_")]
        names = [l.split("=", 1)[0][len("ft_malloc: "):] for l in lines]
        for want in ("ft_malloc: FT_MALLOC_ERRORS=warn", "ft_malloc: FT_MALLOC_EVERY=7",
                     "ft_malloc: FT_MALLOC_TCACHE=1", "ft_malloc: FT_MALLOC_VERBOSE=1"):
            if want not in lines:
                raise Fail("no line %r" % want, r.log())
        if len(names) != len(set(names)) or len(names) < 12:
            raise Fail("%d setting lines, %d distinct: expected every setting once" % (len(names), len(set(names))),
                       r.log())
        q = settings_run(how, fmt, "settings_probe")
        if "ft_malloc:" in q.err:
            raise Fail("without FT_MALLOC_VERBOSE the program printed settings", q.log())
    return fn


for label, fmt, how in LINKINGS:
    register("settings/%s/bad_values_named_and_defaulted" % label, test_bad_values(label, fmt, how),
             [fmt % "glibc_api"])
    register("settings/%s/unknown_name_reported" % label, test_unknown_name(label, fmt, how), [fmt % "glibc_api"])
    register("settings/%s/verbose_prints_settings" % label, test_verbose(label, fmt, how), [fmt % "glibc_api"])


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
        if shutil.which("pkg-config"):
            env = base_env(PKG_CONFIG_PATH=os.path.join(dest, "usr/lib/pkgconfig"), PKG_CONFIG_SYSROOT_DIR=dest,
                           PKG_CONFIG_LIBDIR=os.path.join(dest, "usr/lib/pkgconfig"))
            r = run(["pkg-config", "--cflags", "--libs", "ft_malloc"], env=env)
            if r.rc != 0:
                raise Fail("pkg-config --cflags --libs ft_malloc failed", r.log())
            flags = r.out.split()
        else:
            flags = ["-I" + os.path.join(dest, "usr/include"), "-L" + os.path.join(dest, "usr/lib"), "-lft_malloc"]
        # test/install_probe.c, built by test/tests.mk with these flags only.
        r = run(["make", "-s", "TEST_INSTALL_DIR=" + tmp, "TEST_INSTALL_FLAGS=" + " ".join(flags),
                 os.path.join(tmp, "probe")], timeout=180)
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
# The heap tools (ft_heap and its reports, the call log): test/tools_tests.py

import tools_tests  # noqa: E402  (it needs the helpers above)
tools_tests.register_all(sys.modules[__name__])


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
    global REF, SCALE, JOBS
    args = [a for a in argv if not a.startswith("-")]
    opts = [a for a in argv if a.startswith("-")]
    verbose = "-v" in opts
    for o in opts:
        m = re.match(r"-j(\d+)$", o)
        if m:
            JOBS = max(1, int(m.group(1)))
    jobs = JOBS
    REF = "--ref-glibc" in opts
    for o in opts:
        m = re.match(r"--long(?:=(\d+))?$", o)
        if m:
            SCALE = max(1, int(m.group(1) or 20))
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
    # Build what the selected tests need first (one call of make), then run them.
    make_binaries([BINARIES[n] for n in sorted({n for t in tests for n in t.needs})])
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
