"""The heap tools in the formats other tools read, part 1: the heap profiles written at exit
(--folded, --folded-alloc, --pprof, and their FT_MALLOC_* variables) and the --stats size
histogram, on test/tools/profile_heap.c, whose allocations per function are known and which says
them (SITE lines). Every number is read back (google-pprof for --pprof, flamegraph.pl's own
grammar for the collapsed stacks) and compared with the program's.
"""

import os
import re
import shutil
import tempfile

from runner import core
from runner.tools_common import expect_ok, fail, heap, lib_so, prog, reg, with_file

PROFILE = "tools_profile_heap"
# flamegraph.pl's reading of a collapsed-stack line (stackcollapse format): the count is the last
# field, the stack everything before it.
FOLDED_LINE = re.compile(r"^(.*)\s+?(\d+(?:\.\d*)?)$")


def sites(out):
    """profile_heap's SITE lines: {function: (live blocks, live bytes, allocations, bytes allocated)}."""
    return {m.group(1): tuple(int(x) for x in m.groups()[1:])
            for m in re.finditer(r"^SITE (\w+) (\d+) (\d+) (\d+) (\d+)$", out, re.M)}


def said(out, word):
    m = re.search(r"^%s (\d+)$" % word, out, re.M)
    return int(m.group(1)) if m else None


def run_profile(opts, tmp, args=(), extra_env=None):
    r = heap(opts, [prog(PROFILE)] + list(args), cwd=tmp, extra_env=extra_env)
    expect_ok(r, "profile_heap under ft_heap %s" % " ".join(opts))
    s = sites(r.out)
    if len(s) != 6:
        raise fail("profile_heap did not say what it allocated", r.log())
    return r, s


def read_folded(path, r):
    """{stack (tuple of frames, root first): count}; every line as flamegraph.pl reads it."""
    if not os.path.exists(path):
        raise fail("%s: not written" % os.path.basename(path), r.log())
    with open(path) as f:
        text = f.read()
    stacks = {}
    for line in text.splitlines():
        m = FOLDED_LINE.match(line)
        if not m or not m.group(1):
            raise fail("not a collapsed-stack line (flamegraph.pl would skip it): %r" % line, with_file(r, "folded", text))
        frames = tuple(m.group(1).split(";"))
        if frames in stacks:
            raise fail("the same stack on two lines: %s" % m.group(1), with_file(r, "folded", text))
        stacks[frames] = int(m.group(2))
    return stacks, text


def check_folded(path, r, expected, field):
    """The collapsed stacks of `path` give each function of profile_heap its bytes (field 1: live,
    3: allocated), in one line per function, root first, the function last, main above it."""
    stacks, text = read_folded(path, r)
    log = with_file(r, os.path.basename(path), text)
    by_leaf = {}
    for frames, count in stacks.items():
        leaf = frames[-1]
        if leaf in expected:
            if "main" not in frames or frames.index("main") != len(frames) - 2:
                raise fail("stack of %s is not root first with main as its caller: %s" % (leaf, ";".join(frames)), log)
            if frames[0] == leaf or frames[0] == "main":
                raise fail("the root frame of %s's stack is %s, not the outermost (_start, __libc_start_main)" % (
                    leaf, frames[0]), log)
            if leaf in by_leaf:
                raise fail("%s on two lines: its two call sites in main must be one stack" % leaf, log)
            by_leaf[leaf] = count
    want = {fn: v[field] for fn, v in expected.items() if v[field]}
    if by_leaf != want:
        raise fail("bytes per function in the collapsed stacks %s, the program says %s" % (by_leaf, want), log)
    others = sum(c for frames, c in stacks.items() if frames[-1] not in expected)
    if others:
        raise fail("%d bytes from stacks that are none of the program's functions" % others, log)


def test_folded_live():
    with tempfile.TemporaryDirectory(prefix="ft_prof_") as tmp:
        path = os.path.join(tmp, "live.folded")
        r, s = run_profile(["--folded", path], tmp)
        check_folded(path, r, s, 1)


def test_folded_alloc():
    with tempfile.TemporaryDirectory(prefix="ft_prof_") as tmp:
        path = os.path.join(tmp, "alloc.folded")
        r, s = run_profile(["--folded-alloc", path], tmp)
        check_folded(path, r, s, 3)


def test_profiles_from_environment():
    """The same files from the FT_MALLOC_* variables, the library preloaded by hand: no ft_heap."""
    with tempfile.TemporaryDirectory(prefix="ft_prof_") as tmp:
        live, alloc, pprof = (os.path.join(tmp, n) for n in ("live.folded", "alloc.folded", "heap.prof"))
        env = core.base_env(LD_PRELOAD=lib_so(), FT_MALLOC_FOLDED=live, FT_MALLOC_FOLDED_ALLOC=alloc,
                            FT_MALLOC_PPROF=pprof)
        r = core.run([prog(PROFILE)], env=env, cwd=tmp)
        expect_ok(r, "profile_heap with FT_MALLOC_FOLDED, _FOLDED_ALLOC, _PPROF")
        s = sites(r.out)
        check_folded(live, r, s, 1)
        check_folded(alloc, r, s, 3)
        if not os.path.exists(pprof) or not open(pprof).read().startswith("heap profile: "):
            raise fail("FT_MALLOC_PPROF: no heap profile written", r.log())
        leftovers = [n for n in os.listdir(tmp) if ".tmp." in n]
        if leftovers:
            raise fail("temporary files left beside the outputs: %s" % leftovers, r.log())


PPROF_ROW = re.compile(r"^\s*(\d+)\s+[\d.]+%\s+[\d.]+%\s+(\d+)\s+[\d.]+%\s+(\S+)")


def pprof_text(binary, path, what, r):
    """google-pprof --text of the profile: ({function: flat}, total)."""
    if not shutil.which("google-pprof"):
        raise fail("google-pprof missing (make test-deps installs Debian's google-perftools)")
    p = core.run(["google-pprof", "--text", "--show_bytes", what, binary, path], timeout=60)
    if p.rc != 0:
        raise fail("google-pprof --text %s: %s" % (what, core.describe_rc(p.rc)), r.log() + p.log())
    flat = {}
    for line in p.out.splitlines():
        m = PPROF_ROW.match(line)
        if m and int(m.group(1)):
            flat[m.group(3)] = int(m.group(1))
    total = re.search(r"^Total: (\d+)", p.out, re.M)
    return flat, int(total.group(1)) if total else None, p


def test_pprof_read_by_google_pprof():
    with tempfile.TemporaryDirectory(prefix="ft_prof_") as tmp:
        path = os.path.join(tmp, "heap.prof")
        r, s = run_profile(["--pprof", path], tmp)
        with open(path) as f:
            text = f.read()
        log = with_file(r, "heap.prof", text)
        if not re.match(r"heap profile:\s+\d+:\s+\d+ \[\s+\d+:\s+\d+\] @ heapprofile\n", text):
            raise fail("the first line is not gperftools' heap profile header", log)
        if "\nMAPPED_LIBRARIES:\n" not in text:
            raise fail("no MAPPED_LIBRARIES: section", log)
        binary = prog(PROFILE)
        for what, field, unit in (("--inuse_space", 1, "B"), ("--alloc_space", 3, "B"),
                                  ("--inuse_objects", 0, ""), ("--alloc_objects", 2, "")):
            flat, total, p = pprof_text(binary, path, what, r)
            want = {fn: v[field] for fn, v in s.items() if v[field]}
            got = {fn: flat.get(fn) for fn in s if fn in flat}
            if got != want:
                raise fail("google-pprof %s per function %s, the program says %s" % (what, got, want), log + p.log())
            if total != sum(want.values()):
                raise fail("google-pprof %s: Total %s, the program's %d" % (what, total, sum(want.values())),
                           log + p.log())


HIST_ROW = re.compile(r"^\s+(\d+)-(\d+)\s+(\d+)\s+(\d+)\s+(\d+)(?:  #+)?$")


def size_bucket(n):
    b = 4
    while (1 << b) < n:
        b += 1
    return b


def test_stats_size_histogram():
    """--stats: the allocation sizes in powers of two match what profile_heap allocated (TINY and
    SMALL blocks counted by their class, LARGE by their size)."""
    with tempfile.TemporaryDirectory(prefix="ft_prof_") as tmp:
        r, s = run_profile(["--stats"], tmp)
        rows = {}
        for line in r.err.splitlines():
            m = HIST_ROW.match(line)
            if m:
                lo, hi, allocs, live, live_bytes = (int(x) for x in m.groups())
                rows[size_bucket(hi)] = (allocs, live, live_bytes)
        if not rows:
            raise fail("--stats shows no allocation-size histogram", r.log())
        want = {}

        def add(size, allocs, live, live_bytes):
            cls = core.expected_class(size)
            b = size_bucket(cls if cls else size)
            a = want.get(b, (0, 0, 0))
            want[b] = (a[0] + allocs, a[1] + live, a[2] + live_bytes)

        grown = {m.group(1): (int(m.group(2)), int(m.group(3)))
                 for m in re.finditer(r"^GROWN (\w+) (\d+) (\d+)$", r.out, re.M)}
        for fn, (live, live_bytes, allocs, alloc_bytes) in s.items():
            if fn in grown:  # made at one size (an allocation), live at another (grown in place by mremap)
                add(grown[fn][0], 1, 0, 0)
                add(grown[fn][1], 0, live, live_bytes)
            else:
                add(alloc_bytes // allocs, allocs, live, live_bytes)
        if rows != want:
            raise fail("histogram {bucket: (allocs, live, live bytes)} %s, the program's %s" % (rows, want), r.log())


reg("profile/folded_live_per_stack", test_folded_live, [PROFILE])
reg("profile/folded_alloc_per_stack", test_folded_alloc, [PROFILE])
reg("profile/ft_malloc_variables_in_process", test_profiles_from_environment, [PROFILE])
reg("profile/pprof_read_by_google_pprof", test_pprof_read_by_google_pprof, [PROFILE])
reg("profile/stats_size_histogram", test_stats_size_histogram, [PROFILE])
