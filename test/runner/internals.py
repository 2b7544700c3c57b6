"""The allocator's insides: the component tests, the layer rule, and the debug build.

    component/<program>/<case>   test/component/*_test.cpp: programs that include src/ headers and test
                                 one internal structure (the zone registry, the LARGE table, the zone
                                 layouts of every class), linked with build/ft_malloc_internal.o
    layers/...                   tools/check_layers.py (make check-layers) on this tree, and on copies of
                                 it with an include planted that runs upward, hides its folder, or
                                 names none: each must fail, naming the file and the line
    debug_build/<suite>/<case>   the suites once more, linked with build/debug/libft_malloc.a (make
                                 debug: the zone invariants asserted on the paths that change chunk
                                 state); an assertion that fails aborts the case
    debug_build/asserts/<case>   those assertions provoked on purpose (test/component/zone_asserts.cpp)
"""

import glob
import os
import re
import shutil
import signal
import sys
import tempfile

from runner import dumps, fork_glibc, remote_misuse, suites
from runner.core import (BINARIES, BUILD, ROOT, Binary, Fail, c_case, case_names, describe_rc, fail_reason,
                         register, run)


# ---- component tests ------------------------------------------------------------------------------

for src in sorted(glob.glob(os.path.join(ROOT, "test", "component", "*_test.cpp"))):
    prog = os.path.basename(src)[:-len(".cpp")]
    rel = os.path.relpath(src, ROOT)
    BINARIES["component_" + prog] = Binary("component_" + prog, rel, path=os.path.join(BUILD, "component", prog))
    for case in case_names(rel):
        register("component/%s/%s" % (prog, case), c_case("component_" + prog, case), ["component_" + prog])


# ---- the layer rule: make check-layers -------------------------------------------------------------

CHECK_LAYERS = os.path.join(ROOT, "tools", "check_layers.py")


def check_layers(root):
    return run([sys.executable, CHECK_LAYERS, root])


def test_tree_holds():
    r = check_layers(ROOT)
    if r.rc != 0:
        raise Fail("check-layers fails on this tree: %s" % (r.out.strip().splitlines() or ["?"])[0], r.log())
    if "all downward" not in r.out:
        raise Fail("check-layers did not say that every include runs down", r.log())


def planted(rel, line_no, text, expect, where=None):
    """A copy of the layers (src/, show_alloc_mem/) with `text` inserted as line line_no of rel: check-layers
    must fail, with a line naming `where` (rel:line_no) that contains every string of `expect`."""
    def fn():
        with tempfile.TemporaryDirectory(prefix="ft_layers_") as tmp:
            for d in ("src", "show_alloc_mem"):
                shutil.copytree(os.path.join(ROOT, d), os.path.join(tmp, d))
            path = os.path.join(tmp, rel)
            if os.path.exists(path):
                with open(path) as f:
                    lines = f.read().split("\n")
            else:
                lines = [""]
            lines.insert(line_no - 1, text)
            with open(path, "w") as f:
                f.write("\n".join(lines))
            r = check_layers(tmp)
            if r.rc == 0:
                raise Fail("check-layers passed with %r planted in %s:%d" % (text, rel, line_no), r.log())
            at = where or "%s:%d" % (rel, line_no)
            named = [l for l in r.out.splitlines() if at in l]
            if not named:
                raise Fail("check-layers failed but named no %s" % at, r.log())
            for want in expect:
                if not any(want in l for l in named):
                    raise Fail("check-layers's line about %s does not say %r" % (at, want), r.log())
    return fn


register("layers/tree_holds", test_tree_holds)
# zone/ is the third layer, api/ the last: an include of api/ from zone/ runs upward, and closes a circle.
register("layers/planted_upward_include_fails",
         planted("src/zone/zone.cpp", 3, '#include "api/startup.h"', ["runs upward", "zone", "api"]))
register("layers/planted_upward_include_names_the_circle",
         planted("src/zone/zone.cpp", 3, '#include "api/startup.h"', ["circle", "zone -> api"]))
register("layers/planted_upward_include_in_a_header_fails",
         planted("src/base/size_class.h", 2, '#include "heap/malloc.h"', ["runs upward"]))
register("layers/dumps_above_the_heap",
         planted("src/heap/free.cpp", 2, '#include "show_alloc_mem/dump.h"', ["runs upward"]))
# An include that reaches an upper folder through "..", or with angle brackets (-Isrc finds it too).
register("layers/planted_dotdot_include_fails",
         planted("src/zone/zone.cpp", 3, '#include "zone/../api/startup.h"', ["runs upward"]))
register("layers/planted_angle_include_fails",
         planted("src/zone/zone.cpp", 3, '#include <api/startup.h>', ["runs upward"]))
register("layers/include_without_folder_fails",
         planted("src/heap/free.cpp", 2, '#include "zone.h"', ["names no folder"]))
register("layers/loose_file_in_src_fails", planted("src/loose.cpp", 1, "int loose;", ["loose"], where="src/loose.cpp"))


# ---- the debug build ------------------------------------------------------------------------------

DEBUG_SUITES = [("api", 60), ("zones", 60), ("stress", 120), ("threads", 120)]
for b, _ in DEBUG_SUITES + [("dump", 0), ("bad_input", 0), ("fork_safety", 0), ("large_cache", 0),
                            ("remote_misuse", 0)]:
    BINARIES[b + "_debug"] = Binary(b + "_debug", BINARIES[b].src)

for b, timeout in DEBUG_SUITES:
    for case in case_names(BINARIES[b].src):
        register("debug_build/%s/%s" % (b, case), c_case(b + "_debug", case, timeout=timeout), [b + "_debug"],
                 timeout=timeout)
for case in case_names(BINARIES["dump"].src):
    register("debug_build/dump/%s" % case, c_case("dump_debug", case, check=dumps.DUMP_CHECKS.get(case)),
             ["dump_debug"])
# Misuse is reported, not asserted: the same report as in the normal build, then abort.
for case in case_names(BINARIES["bad_input"].src):
    register("debug_build/bad_input/%s" % case, suites.bad_input_test(case, "abort", binary="bad_input_debug"),
             ["bad_input_debug"])
for case in case_names(BINARIES["fork_safety"].src):
    register("debug_build/fork/%s" % case, c_case("fork_safety_debug", case, timeout=fork_glibc.FORK_TIMEOUT),
             ["fork_safety_debug"], timeout=fork_glibc.FORK_TIMEOUT)
for case in case_names(BINARIES["large_cache"].src):
    register("debug_build/large_cache/%s" % case, c_case("large_cache_debug", case), ["large_cache_debug"])
for case in remote_misuse.CORRECT:
    register("debug_build/remote/%s" % case, c_case("remote_misuse_debug", case, timeout=90), ["remote_misuse_debug"],
             timeout=90)
for case in remote_misuse.MISUSE:
    register("debug_build/remote/%s" % case, remote_misuse.misuse_test(case, "abort", binary="remote_misuse_debug"),
             ["remote_misuse_debug"])


# ---- the debug build's assertions, provoked ---------------------------------------------------------

BINARIES["zone_asserts"] = Binary("zone_asserts", "test/component/zone_asserts.cpp",
                                  path=os.path.join(BUILD, "component", "zone_asserts"))
ASSERTION = re.compile(r"^ft_malloc: internal error: src/\S+:\d+: assertion failed: .+$", re.M)


def assertion_fires(case):
    def fn():
        r = run([BINARIES["zone_asserts"].require(), case])
        if r.rc != -signal.SIGABRT:
            raise Fail("expected an assertion and SIGABRT, got %s (%s)" % (describe_rc(r.rc), fail_reason(r)), r.log())
        if not ASSERTION.search(r.err):
            raise Fail("no `ft_malloc: internal error: FILE:LINE: assertion failed: ...` line", r.log())
    return fn


for case in case_names("test/component/zone_asserts.cpp"):
    if case == "zone_used_rightly":
        register("debug_build/asserts/%s" % case, c_case("zone_asserts", case), ["zone_asserts"])
    else:
        register("debug_build/asserts/%s" % case, assertion_fires(case), ["zone_asserts"])
