"""valgrind's memcheck on a program linked with the build of `make VALGRIND=1` (test/vg_prog.c).
"""

import os
import re

from runner.core import BINARIES, Fail, ROOT, describe_rc, have, register, run


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


def test_vg_uaf_large():
    r = run_vg("use_after_free_large")
    if not re.search(r"Invalid read of size \d+", r.err) or "inside a block of size 1,048,576 free'd" not in r.err:
        raise Fail("memcheck does not report the read of a freed LARGE block whose mapping is cached", r.log())
    errs = re.search(r"ERROR SUMMARY: ([\d,]+) errors", r.err)
    if not errs or errs.group(1) != "1":
        raise Fail("memcheck reports more than the one read after free (%s): the reused mapping is not clean" % (
            errs.group(0) if errs else "no summary"), r.log())


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
    register("valgrind/use_after_free_large_cached", test_vg_uaf_large, ["vg_prog"], timeout=300)
    register("valgrind/overflow_invalid_write", test_vg_overflow, ["vg_prog"], timeout=300)
    for case in ("clean_basic", "clean", "clean_realloc", "clean_realloc_large"):
        register("valgrind/%s_no_error" % case, test_vg_clean(case), ["vg_prog"], timeout=300)
    register("valgrind/readme_command_checks_ft_malloc", test_vg_readme_command, ["vg_prog"], timeout=300)
