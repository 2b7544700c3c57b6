"""Remote frees misused (test/remote_misuse.c, test/remote_ok.c): a block freed twice across threads
(by two other threads, by its owner and another thread in either order, after its owner exited),
realloc and malloc_usable_size of a block another thread freed, in the three FT_MALLOC_ERRORS
modes; and correct programs that hand blocks between threads, with the dumps and statistics right
after remote frees. Linked with -lft_malloc, and a few cases plain under LD_PRELOAD.

    remote/<case>            a misuse, aborting (the default), or a correct program
    remote/warn/<case>       FT_MALLOC_ERRORS=warn: one report, the program goes on intact
    remote/ignore/<case>     FT_MALLOC_ERRORS=ignore: no report, the program goes on intact
    remote/preload/...       the same, the program built without ft_malloc, run with LD_PRELOAD
"""

import os
import re
import signal

from runner.core import (BINARIES, Binary, Fail, LIB_SO, base_env, c_case, case_names, describe_rc, fail_reason,
                         register, run)


BINARIES["remote_misuse"] = Binary("remote_misuse", "test/remote_misuse.c")
BINARIES["remote_misuse_plain"] = Binary("remote_misuse_plain", "test/remote_misuse.c", link_ft=False)

# The correct programs (no report at all); every other case of the table is a misuse.
CORRECT = ("producer_consumer", "dump_after_remote_free", "dump_after_remote_free_owner_exited",
           "reuse_after_take_in")
# The block's zone may be gone (given back, or kept empty) when it is freed again: any report of
# free() naming the pointer will do.
ANY_FREE_REPORT = ("cached_all_freed_owner_exited",)

REPORT = re.compile(r"^ft_malloc: (free|realloc|malloc_usable_size)\(\): (double free|use after free|"
                    r"invalid pointer) 0x([0-9a-f]+)\b")


def expected_report(case):
    """(call, what) of the one line the case must print; what None: any."""
    if case.startswith("realloc"):
        return "realloc", "use after free"
    if case.startswith("usable_size"):
        return "malloc_usable_size", "use after free"
    if case in ANY_FREE_REPORT:
        return "free", None
    return "free", "double free"


def misuse_test(case, mode, preload=False, binary=None):
    """binary: another build of the program (the debug build's), linked with its library."""
    def fn():
        name = binary or ("remote_misuse_plain" if preload else "remote_misuse")
        path = BINARIES[name].require()
        if preload and not os.path.exists(LIB_SO):
            raise Fail("%s missing" % LIB_SO)
        env = base_env(FT_MALLOC_ERRORS=None if mode == "abort" else mode, LD_PRELOAD=LIB_SO if preload else None)
        r = run([path, case], env=env)
        if any(l.startswith("FAIL:") for l in r.err.splitlines()):
            raise Fail(fail_reason(r), r.log())
        ptrs = re.findall(r"^PTR 0x([0-9a-f]+)$", r.out, re.M)
        if len(ptrs) != 1:
            raise Fail("the program did not reach the bad call (%s)" % fail_reason(r), r.log())
        passed = int(ptrs[0], 16)
        continued = "CONTINUED" in r.out.split()
        if mode == "abort":
            if r.rc != -signal.SIGABRT:
                raise Fail("expected SIGABRT, got %s" % describe_rc(r.rc), r.log())
            if continued:
                raise Fail("the program went on after the bad call", r.log())
        else:
            if r.rc != 0:
                raise Fail("FT_MALLOC_ERRORS=%s: expected exit 0, got %s" % (mode, describe_rc(r.rc)), r.log())
            if not continued:
                raise Fail("FT_MALLOC_ERRORS=%s: the program did not get through its checks after the bad call"
                           % mode, r.log())
        lines = [l for l in r.err.splitlines() if l.startswith("ft_malloc:")]
        if mode == "ignore":
            if lines:
                raise Fail("FT_MALLOC_ERRORS=ignore but stderr has: %s" % lines[0], r.log())
            return
        if len(lines) != 1:
            raise Fail("expected one `ft_malloc: ...` line on stderr, got %d%s" % (
                len(lines), (": " + lines[0]) if lines else " (the second free was not reported)"), r.log())
        m = REPORT.match(lines[0])
        call, what = expected_report(case)
        if not m or m.group(1) != call or (what and m.group(2) != what):
            raise Fail("expected `ft_malloc: %s(): %s 0x...`, got: %s" % (call, what or "...", lines[0]), r.log())
        if int(m.group(3), 16) != passed:
            raise Fail("the report shows %#x, the pointer passed was %#x" % (int(m.group(3), 16), passed), r.log())
    return fn


def check_producer_consumer(r):
    if not re.search(r"^STATS made \d+", r.out, re.M):
        raise Fail("no STATS line")


CASES = case_names("test/remote_misuse.c")
MISUSE = [c for c in CASES if c not in CORRECT]

for case in MISUSE:
    for mode in ("abort", "warn"):
        name = "remote/%s" % case if mode == "abort" else "remote/%s/%s" % (mode, case)
        register(name, misuse_test(case, mode), ["remote_misuse"])
for case in ("remote_remote_tiny", "remote_owner_small", "pending_twice_tiny", "exited_owner_two_frees"):
    register("remote/ignore/%s" % case, misuse_test(case, "ignore"), ["remote_misuse"])

for case in CORRECT:
    register("remote/%s" % case, c_case("remote_misuse", case, timeout=90,
                                        check=check_producer_consumer if case == "producer_consumer" else None),
             ["remote_misuse"], timeout=90)

# Plain under LD_PRELOAD: a few misuses aborting and warning, and the correct programs.
PRELOAD_MISUSE = ("remote_remote_tiny", "remote_owner_tiny", "owner_remote_small", "pending_twice_cold",
                  "exited_owner_two_frees", "realloc_remote_freed")
for case in PRELOAD_MISUSE:
    register("remote/preload/%s" % case, misuse_test(case, "abort", preload=True), ["remote_misuse_plain"])
for case in ("pending_twice_cold", "exited_owner_two_frees"):
    register("remote/preload/warn/%s" % case, misuse_test(case, "warn", preload=True), ["remote_misuse_plain"])
for case in ("producer_consumer", "dump_after_remote_free"):
    register("remote/preload/%s" % case,
             c_case("remote_misuse_plain", case, timeout=90, env=base_env(LD_PRELOAD=LIB_SO),
                    check=check_producer_consumer if case == "producer_consumer" else None),
             ["remote_misuse_plain"], timeout=90)


# Two threads freeing one block at the same instant (test/free_race.c): under FT_MALLOC_CHECK=1,
# or with the cache off, every free meets the other at the heap lock: one succeeds, one is
# reported, every round, and the heap stays whole (README: "Two frees of one pointer at the same
# instant").
BINARIES["free_race"] = Binary("free_race", "test/free_race.c")


def simultaneous_frees(env):
    def fn():
        r = run([BINARIES["free_race"].require(), "simultaneous_frees"], env=base_env(FT_MALLOC_ERRORS="warn", **env),
                timeout=120)
        if r.rc != 0 or any(l.startswith("FAIL:") for l in r.err.splitlines()):
            raise Fail(fail_reason(r), r.log())
        m = re.search(r"^ROUNDS (\d+)$", r.out, re.M)
        if not m:
            raise Fail("no ROUNDS line", r.log())
        reports = [l for l in r.err.splitlines() if l.startswith("ft_malloc:")]
        doubles = [l for l in reports if REPORT.match(l) and REPORT.match(l).group(2) == "double free"]
        if len(doubles) != int(m.group(1)) or len(reports) != len(doubles):
            raise Fail("%d rounds of two simultaneous frees: %d double-free reports, %d reports in all (expected "
                       "one per round)" % (int(m.group(1)), len(doubles), len(reports)), r.log())
    return fn


register("remote/strict/simultaneous_frees_check", simultaneous_frees({"FT_MALLOC_CHECK": "1"}), ["free_race"],
         timeout=120)
register("remote/strict/simultaneous_frees_no_tcache", simultaneous_frees({"FT_MALLOC_TCACHE": "0"}), ["free_race"],
         timeout=120)
