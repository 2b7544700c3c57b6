"""The leak report at exit (FT_MALLOC_LEAKS=1, test/leaks.c), checked against valgrind's count.
"""

import re

from runner.core import BINARIES, Fail, base_env, fail_reason, have, register, run


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
