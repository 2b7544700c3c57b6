"""The runner's core: paths and constants, processes (run, Result, Fail), the test programs
(Binary, BINARIES: test/tests.mk builds them, make_binaries asks make) and the registry of tests
(register, c_case). The test modules register their tests when imported; driver.py imports them in
order and runs them.
"""

import os
import re
import shutil
import signal
import subprocess
import threading


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
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
    Binary("api_plain", "test/api.c", link_ft=False),
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


def have(*progs):
    return all(shutil.which(p) for p in progs)
