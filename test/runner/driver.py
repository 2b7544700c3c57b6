"""Selecting and running the tests: command line of test/run_tests.py (see its docstring)."""

import concurrent.futures
import fnmatch
import os
import re
import resource
import sys
import time

from runner import core
from runner.core import BINARIES, LOGS, ROOT, TESTS, Fail, make_binaries

# The groups of tests, in their order (each registers its tests when imported).
from runner import suites, dumps, linking, preload, debug, stats, leaks, valgrind, fork_glibc  # noqa: E402,F401
from runner import remote_misuse  # noqa: E402,F401  (remote frees misused across threads)
from runner import large_cache  # noqa: E402,F401  (freed LARGE mappings reused)
from runner import page_reclaim  # noqa: E402,F401  (the 42 page-reclaim scale)
from runner import resident_pages  # noqa: E402,F401  (the library's own resident pages)
from runner import fast_paths  # noqa: E402,F401  (the fast paths' routes, counted by callgrind)
from runner import build_checks  # noqa: E402,F401
from runner import internals  # noqa: E402,F401  (component tests, the layer rule, the debug build)
# The heap tools: ft_heap and its reports, the call log.
from runner import tools_common, tools_reports, tools_svg_json, tools_trace  # noqa: E402,F401
# The formats other tools read (flame graphs, pprof, massif, diffs, HTML), man pages, heaptrack.
from runner import tools_profiles, tools_charts, tools_docs  # noqa: E402,F401


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
    args = [a for a in argv if not a.startswith("-")]
    opts = [a for a in argv if a.startswith("-")]
    verbose = "-v" in opts
    for o in opts:
        m = re.match(r"-j(\d+)$", o)
        if m:
            core.JOBS = max(1, int(m.group(1)))
    jobs = core.JOBS
    core.REF = "--ref-glibc" in opts
    for o in opts:
        m = re.match(r"--long(?:=(\d+))?$", o)
        if m:
            core.SCALE = max(1, int(m.group(1) or 20))
    os.chdir(ROOT)
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
    except (ValueError, OSError):
        pass
    tests = select(args)
    if core.REF:
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
