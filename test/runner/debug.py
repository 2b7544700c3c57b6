"""Catching bugs: the debug modes (FT_MALLOC_SCRIBBLE, FT_MALLOC_GUARD, FT_MALLOC_CHECK: test/debug_modes.c),
the allocator built with UBSan, a fuzzing smoke run, and out of memory (RLIMIT_AS and fault
injection: test/faults.c).
"""

import re
import signal

from runner.core import (BINARIES, Fail, base_env, c_case, case_names, describe_rc, fail_reason, have,
                         register, run)
from runner.dumps import DUMP_CHECKS


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
