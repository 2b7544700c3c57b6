"""The C suites case by case (api, zones, stress, threads), and bad input (test/bad_input.c):
each misuse in the three FT_MALLOC_ERRORS modes, linked with the library and preloaded.
"""

import os
import re
import signal

from runner.core import (BINARIES, Fail, LIB_SO, base_env, c_case, case_names, describe_rc, fail_reason,
                         register, run)


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


def bad_input_test(case, mode, preload=False, binary=None):
    """preload: the program is built without ft_malloc and runs with LD_PRELOAD of the .so. binary: another
    build of the program (the debug build's), linked with its library."""
    def fn():
        path = BINARIES[binary or ("bad_input_plain" if preload else "bad_input")].require()
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
        want = EXPECTED_WORDS.get(case)
        if want and want not in line:
            raise Fail("the error line does not say %r: %s" % (want, line), r.log())
    return fn


# Cases whose report must name the misuse exactly (the others: any report of the right call).
EXPECTED_WORDS = {"double_free_large": "double free", "double_free_large_frees_between": "double free",
                  "double_free_large_cached_long_after": "double free", "double_free_large_gathered": "double free",
                  "double_free_tiny_other_class_last": "double free", "double_free_cancel_pending": "double free",
                  "double_free_named_by_stale_stack_entry": "double free",
                  "free_inside_cached_large": "not allocated by ft_malloc"}


for case in case_names(BINARIES["bad_input"].src):
    for mode in ("abort", "warn", "ignore"):
        register("bad_input/%s/%s" % (mode, case), bad_input_test(case, mode), ["bad_input"])

# The same misuse in a program that does not link ft_malloc, run with LD_PRELOAD of the .so: every
# case aborting, a few in the other modes.
PRELOAD_BAD_OTHER_MODES = ("free_stack", "free_large_plus4096", "double_free_tiny_frees_between",
                           "double_free_large", "realloc_freed", "stale_zone_pointer", "double_free_cancel_pending")
for case in case_names(BINARIES["bad_input"].src):
    for mode in ("abort", "warn", "ignore"):
        if mode == "abort" or case in PRELOAD_BAD_OTHER_MODES:
            register("preload/bad_input/%s/%s" % (mode, case), bad_input_test(case, mode, preload=True),
                     ["bad_input_plain"])
