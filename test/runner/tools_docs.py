"""The manual pages (man/ft_heap.1, man/ft_malloc.3: rendered by man without a warning, naming
every option and every setting) and heaptrack run over ft_malloc, as README.md shows it.
"""

import os
import re
import shutil
import tempfile

from runner import core
from runner.tools_common import expect_ok, fail, lib_so, prog, reg, tool
from runner.tools_profiles import PROFILE, said, sites

MAN = os.path.join(core.ROOT, "man")


def man_text(page):
    if not shutil.which("man"):
        raise fail("man missing (make test-deps installs Debian's man-db)")
    r = core.run(["man", "--warnings", "-l", os.path.join(MAN, page)], env=core.base_env(MANWIDTH="100"))
    if r.rc != 0 or r.err.strip():
        raise fail("man --warnings -l man/%s: %s%s" % (page, core.describe_rc(r.rc), r.err.strip()[:300]), r.log())
    if len(r.out.splitlines()) < 40:
        raise fail("man/%s renders to almost nothing" % page, r.log())
    return r.out


def test_man_pages_render():
    for page in ("ft_heap.1", "ft_malloc.3"):
        man_text(page)


def test_ft_heap_1_every_option():
    text = man_text("ft_heap.1")
    h = tool(["--help"])
    options = sorted(set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", h.out)))
    missing = [o for o in options if not re.search(r"^\s+%s\b" % re.escape(o), text, re.M)]
    if len(options) < 15 or missing:
        raise fail("ft_heap.1 does not describe %s (of %d options in --help)" % (missing, len(options)), h.log())


def test_ft_malloc_3_every_setting():
    with open(os.path.join(core.ROOT, "src/base/settings.cpp")) as f:
        names = sorted(set(re.findall(r'"(FT_MALLOC_[A-Z_]+)"', f.read())))
    text = man_text("ft_malloc.3")
    with open(os.path.join(core.ROOT, "README.md")) as f:
        readme = f.read()
    missing = [n for n in names if not re.search(r"^\s+%s\b" % n, text, re.M)]
    not_in_readme = [n for n in names if not re.search(r"\b%s\b" % n, readme)]
    if len(names) < 15 or missing or not_in_readme:
        raise fail("settings not described: in ft_malloc.3 %s, in README.md %s" % (missing, not_in_readme))


def test_heaptrack_over_ft_malloc():
    """LD_PRELOAD=libft_malloc... heaptrack PROG: heaptrack sees the program's calls and leaks while
    ft_malloc serves them (its statistics at exit count the program's blocks)."""
    for cmd in ("heaptrack", "heaptrack_print"):
        if not shutil.which(cmd):
            raise fail("%s missing (make test-deps installs Debian's heaptrack)" % cmd)
    with tempfile.TemporaryDirectory(prefix="ft_heaptrack_") as tmp:
        stats = os.path.join(tmp, "stats.txt")
        env = core.base_env(LD_PRELOAD=lib_so(), FT_MALLOC_STATS="1", FT_MALLOC_OUT=stats)
        r = core.run(["heaptrack", "-o", os.path.join(tmp, "ht"), prog(PROFILE)], env=env, cwd=tmp, timeout=120)
        expect_ok(r, "heaptrack over ft_malloc")
        s = sites(r.out)
        data = [n for n in os.listdir(tmp) if n.startswith("ht.")]
        if not data:
            raise fail("heaptrack wrote no data file", r.log())
        p = core.run(["heaptrack_print", "-f", os.path.join(tmp, data[0])], timeout=120)
        if p.rc != 0:
            raise fail("heaptrack_print: %s" % core.describe_rc(p.rc), r.log() + p.log())
        leaked = re.search(r"^total memory leaked: ([\d.]+)([KMG]?)", p.out, re.M)
        calls = re.search(r"^calls to allocation functions: (\d+)", p.out, re.M)
        scale = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9}
        end = said(r.out, "END")
        program_calls = sum(v[2] for v in s.values())
        if not leaked or abs(float(leaked.group(1)) * scale[leaked.group(2)] - end) > end * 0.001 + 1:
            raise fail("heaptrack's leaked memory (%s) is not the program's %d B" % (
                leaked and leaked.group(0), end), p.log())
        if not calls or int(calls.group(1)) < program_calls:
            raise fail("heaptrack counts %s calls, the program made %d" % (calls and calls.group(1), program_calls),
                       p.log())
        text = open(stats).read() if os.path.exists(stats) else ""
        large = re.search(r"^LARGE\s+-\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", text, re.M)
        if "ft_malloc statistics" not in text or not large or int(large.group(4)) < s["keep_large"][1]:
            raise fail("ft_malloc did not serve the program under heaptrack (no LARGE block of %d B in its "
                       "statistics)" % s["keep_large"][1], r.log() + "\n--- stats\n" + text)


reg("docs/man_pages_render_without_warnings", test_man_pages_render)
reg("docs/ft_heap_1_names_every_option", test_ft_heap_1_every_option)
reg("docs/ft_malloc_3_names_every_setting", test_ft_malloc_3_every_setting)
reg("heaptrack/leaks_and_calls_over_ft_malloc", test_heaptrack_over_ft_malloc, [PROFILE], timeout=180)
