"""What the build makes: the archive, the .so's exports and needs, make install with pkg-config,
and the Makefile's dependency tracking.
"""

import os
import re
import shutil
import tempfile
import time

from runner.core import API, Fail, HOST, LIB_A, LIB_SO, ROOT, base_env, describe_rc, register, run
from runner.linking import nm_symbols


# ---- build checks ---------------------------------------------------------------------------------

def test_archive_no_cxx():
    if not os.path.exists(LIB_A):
        raise Fail("libft_malloc.a missing")
    r = run(["nm", "-u", LIB_A])
    if r.rc != 0:
        raise Fail("nm failed", r.log())
    bad = sorted({l.split()[-1] for l in r.out.splitlines() if re.search(r"\s(_Z|__cxa_|__gxx_)", l)})
    if bad:
        raise Fail("archive needs the C++ runtime: %s" % ", ".join(bad[:5]), r.log())


def test_so_exports():
    if not os.path.exists(LIB_SO):
        raise Fail("%s missing" % os.path.basename(LIB_SO))
    syms = set(nm_symbols(LIB_SO, dynamic=True)) - {"_init", "_fini", "_edata", "_end", "__bss_start"}
    extra, missing = sorted(syms - API), sorted(API - syms)
    if extra:
        raise Fail("exports more than the API: %s" % ", ".join(extra[:8]))
    if missing:
        raise Fail("does not export: %s" % ", ".join(missing))


def test_so_needed():
    r = run(["readelf", "-d", LIB_SO])
    if r.rc != 0:
        raise Fail("readelf failed", r.log())
    needed = re.findall(r"\(NEEDED\).*\[(.*)\]", r.out)
    bad = [n for n in needed if re.match(r"lib(stdc\+\+|gcc_s)", n)]
    if bad:
        raise Fail("the .so needs %s" % ", ".join(bad))


def test_no_plain_so():
    if os.path.lexists(os.path.join(ROOT, "libft_malloc.so")):
        raise Fail("libft_malloc.so exists in the top folder (the linker would prefer it to the archive)")


def test_install():
    with tempfile.TemporaryDirectory(prefix="ft_install_") as tmp:
        dest = os.path.join(tmp, "dest")
        r = run(["make", "-s", "install", "PREFIX=/usr", "DESTDIR=" + dest], timeout=180)
        if r.rc != 0:
            raise Fail("make install failed", r.log())
        want = ["usr/lib/libft_malloc.a", "usr/lib/libft_malloc_%s.so" % HOST, "usr/include/ft_malloc.h",
                "usr/lib/pkgconfig/ft_malloc.pc", "usr/bin/ft_heap", "usr/share/man/man1/ft_heap.1",
                "usr/share/man/man3/ft_malloc.3"]
        missing = [w for w in want if not os.path.isfile(os.path.join(dest, w))]
        if missing:
            raise Fail("not installed: %s" % ", ".join(missing), r.log())
        if shutil.which("pkg-config"):
            env = base_env(PKG_CONFIG_PATH=os.path.join(dest, "usr/lib/pkgconfig"), PKG_CONFIG_SYSROOT_DIR=dest,
                           PKG_CONFIG_LIBDIR=os.path.join(dest, "usr/lib/pkgconfig"))
            r = run(["pkg-config", "--cflags", "--libs", "ft_malloc"], env=env)
            if r.rc != 0:
                raise Fail("pkg-config --cflags --libs ft_malloc failed", r.log())
            flags = r.out.split()
        else:
            flags = ["-I" + os.path.join(dest, "usr/include"), "-L" + os.path.join(dest, "usr/lib"), "-lft_malloc"]
        # test/install_probe.c, built by test/tests.mk with these flags only.
        r = run(["make", "-s", "TEST_INSTALL_DIR=" + tmp, "TEST_INSTALL_FLAGS=" + " ".join(flags),
                 os.path.join(tmp, "probe")], timeout=180)
        if r.rc != 0:
            raise Fail("building against the installed copy failed (%s)" % " ".join(flags), r.log())
        r = run([os.path.join(tmp, "probe")], cwd=tmp)
        m = re.search(r"^PTR 0x([0-9a-f]+)$", r.out, re.M)
        if r.rc != 0 or not m:
            raise Fail("program built against the installed copy: %s" % describe_rc(r.rc), r.log())
        line = "0x%X - 0x%X : 4242 bytes" % (int(m.group(1), 16), int(m.group(1), 16) + 4242)
        if line not in r.out.splitlines():
            raise Fail("program built against the installed copy does not use ft_malloc", r.log())


def test_dependency_tracking():
    r = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"])
    if r.rc != 0:
        raise Fail("git ls-files failed", r.log())
    files = [f for f in r.out.split("\0") if f]
    with tempfile.TemporaryDirectory(prefix="ft_deps_") as tmp:
        for f in files + ["Makefile"]:
            src = os.path.join(ROOT, f)
            if not os.path.isfile(src):
                continue
            dst = os.path.join(tmp, f)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy2(src, dst)
        # Bring the existing build along (mtimes kept) so that nothing needs compiling.
        if os.path.isdir(os.path.join(ROOT, "build")):
            shutil.copytree(os.path.join(ROOT, "build"), os.path.join(tmp, "build"), dirs_exist_ok=True)
        for lib in (LIB_A, LIB_SO):
            if os.path.exists(lib):
                shutil.copy2(lib, os.path.join(tmp, os.path.basename(lib)))
        r = run(["make", "-q", "all"], cwd=tmp)
        if r.rc != 0:
            r = run(["make", "-s", "-j2", "all"], cwd=tmp, timeout=240)
            if r.rc != 0:
                raise Fail("make in a copy of the repository failed", r.log())
            r = run(["make", "-q", "all"], cwd=tmp)
            if r.rc != 0:
                raise Fail("`make -q` says not up to date right after `make`", r.log())
        deps = {}
        for d, _, names in os.walk(os.path.join(tmp, "build")):
            for n in names:
                if n.endswith(".d"):
                    with open(os.path.join(d, n)) as f:
                        deps[os.path.join(d, n)] = f.read()
        if not deps:
            raise Fail("no dependency files (.d) under build/")
        headers = sorted(h for h in files if re.match(r"(src|show_alloc_mem)/.*\.(h|hpp|hh|hxx|tpp|ipp)$", h))
        headers = [h for h in headers if any(re.search(r"(^|\s)%s\b" % re.escape(h), t) for t in deps.values())]
        header = headers[0] if headers else "inc/ft_malloc.h"
        users = [os.path.relpath(p, os.path.join(tmp, "build"))[:-2] + ".cpp" for p, t in deps.items()
                 if re.search(r"(^|\s)%s\b" % re.escape(header), t)]
        if not users:
            raise Fail("no object depends on %s according to build/*.d" % header)
        later = time.time() + 5
        os.utime(os.path.join(tmp, header), (later, later))
        r = run(["make", "-q", "all"], cwd=tmp)
        if r.rc != 1:
            raise Fail("after touching %s, `make -q` returned %s (expected 1: out of date)" % (header, r.rc),
                       r.log())
        r = run(["make", "-n", "all"], cwd=tmp)
        if not any(re.search(r"\s-c\s+%s\b" % re.escape(u), r.out) for u in users):
            raise Fail("after touching %s, `make -n` does not recompile %s" % (header, users[0]), r.log())


# The cold code the hot text may call (src/api/hot_text.ld, src/base/compiler.h FT_HOT_TEXT): what
# runs only for a report, a debug mode, a setting's message, a misuse, a fork child's rescue, or
# without a thread cache. Anything else the hot text calls in the cold text is a function that
# lost its mark (a compiler clone, .constprop, .isra or .part, does not keep the section) or
# was never marked: it faults in a 64 KiB window of cold code in every program that runs it
# (preload/library_resident_pages catches it only on the routes it runs).
COLD_CALLEES_ALLOWED = [
    "::malloc_traced(", "call_log::",                           # FT_MALLOC_TRACE
    "::print_settings(", "warn_unknown_names()", "::warn_value(",  # the settings' messages
    "LineWriter::",                                             # messages and reports
    "::start_thread(",                                          # the reporter threads
    "::dump_heap", "stats::print_report(", "leaks::",           # reports at exit, leak tracking
    "::write_file(", "::write_exit_reports(",                   # reports and files asked for at exit
    "os::protect_none(",                                        # FT_MALLOC_GUARD
    "::report_fault(", "::report_double_free(",                  # misuse reports
    "rescue::", "turn_off_in_this_thread(",                     # a fork child's rescue allocator
    "zone_pool::allocate(",                                     # no thread cache
    "trim_for_retry(",                                          # the system refused memory
]


def hot_text_cold_calls(so):
    """{cold callee: set of hot callers} of the .so's hot text (objdump)."""
    r = run(["readelf", "-SW", so])
    if r.rc != 0:
        raise Fail("readelf failed", r.log())
    bounds = {}
    for line in r.out.splitlines():
        m = re.search(r"\]\s+(\.text(?:\.ft_hot)?)\s+PROGBITS\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", line)
        if m:
            bounds[m.group(1)] = (int(m.group(2), 16), int(m.group(2), 16) + int(m.group(3), 16))
    if ".text.ft_hot" not in bounds or ".text" not in bounds:
        raise Fail("no .text.ft_hot and .text sections in %s" % os.path.basename(so), r.log())
    cold_start, cold_end = bounds[".text"]
    r = run(["objdump", "-d", "-C", "--no-show-raw-insn", "-j", ".text.ft_hot", so])
    if r.rc != 0:
        raise Fail("objdump failed", r.log())
    calls, caller = {}, None
    for line in r.out.splitlines():
        m = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
        if m:
            caller = m.group(1)
            continue
        m = re.search(r"\s(?:call|jmp)\s+([0-9a-f]+) <([^>]*)>", line)
        if m and cold_start <= int(m.group(1), 16) < cold_end:
            callee = re.sub(r"\+0x[0-9a-f]+$", "", m.group(2))
            calls.setdefault(callee, set()).add(caller)
    return calls


def test_hot_text_calls():
    if not os.path.exists(LIB_SO):
        raise Fail("%s missing" % os.path.basename(LIB_SO))
    calls = hot_text_cold_calls(LIB_SO)
    bad = {callee: callers for callee, callers in calls.items()
           if not any(a in callee for a in COLD_CALLEES_ALLOWED)}
    if bad:
        raise Fail("the hot text calls cold code outside the list: " + "; ".join(
            "%s (from %s)" % (callee, ", ".join(sorted(callers)[:2])) for callee, callers in sorted(bad.items())[:5]))
    if not calls:
        raise Fail("no call from the hot text into the cold text found: the check reads nothing")


register("build/archive_needs_no_cxx_runtime", test_archive_no_cxx)
register("build/so_exports_exactly_the_api", test_so_exports)
register("build/hot_text_calls_only_listed_cold_code", test_hot_text_calls)
register("build/so_needs_no_libstdcxx", test_so_needed)
register("build/no_libft_malloc_so_in_top_folder", test_no_plain_so)
register("build/install_and_pkg_config", test_install, timeout=180)
register("build/dependency_tracking", test_dependency_tracking, timeout=240)
