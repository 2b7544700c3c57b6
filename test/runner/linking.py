"""Linking (test/link_min.c, link_libc.c, link_cxx.cpp) and start-up (test/startup.c, preload_ctor.c,
preload/dlopen.c): what a program gets from -lft_malloc, and ft_malloc before main and after exit.
"""

import os
import re

from runner.core import (API, BINARIES, Fail, LIB_SO, base_env, c_case, case_names, describe_rc, fail_reason,
                         register, run)


# ---- linking ---------------------------------------------------------------------------------------

def nm_symbols(path, dynamic=False):
    r = run(["nm", "-D", "--defined-only", path] if dynamic else ["nm", "--defined-only", path])
    if r.rc != 0:
        raise Fail("nm failed", r.log())
    syms = {}
    for line in r.out.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            syms[parts[2].split("@")[0]] = parts[1]
    return syms


def test_link_min():
    path = BINARIES["link_min"].require()
    syms = nm_symbols(path)
    needed = API - {"show_alloc_mem", "show_alloc_mem_ex"}
    missing = sorted(s for s in needed if syms.get(s) not in ("T", "W", "t", "w", "i"))
    if missing:
        raise Fail("a program using only malloc/free does not get ft_malloc's %s" % ", ".join(missing))
    dyn = nm_symbols(path, dynamic=True)
    libc_ones = {"malloc", "free", "calloc", "realloc", "reallocarray", "memalign", "posix_memalign",
                 "aligned_alloc", "valloc", "pvalloc", "malloc_usable_size"}
    missing = sorted(libc_ones - set(dyn))
    if missing:
        raise Fail("not exported to libc from the program: %s" % ", ".join(missing))
    r = run([path])
    if r.rc != 0 or r.out != "link_min ok\n":
        raise Fail(fail_reason(r), r.log())


register("link/only_malloc_free_gets_whole_api", test_link_min, ["link_min"])
for case in case_names(BINARIES["link_libc"].src):
    register("link/%s" % case, c_case("link_libc", case), ["link_libc"])
for case in case_names(BINARIES["link_cxx"].src):
    register("link/cxx_%s" % case, c_case("link_cxx", case), ["link_cxx"], ref_ok=True)


# ---- start-up ------------------------------------------------------------------------------------

def check_startup_output(r):
    if r.out != "main ok\natexit ok\ndestructor ok\n":
        raise Fail("unexpected output %r" % r.out[-200:])


register("startup/ctor_and_atexit", c_case("startup", "ctor_and_atexit", check=check_startup_output), ["startup"],
         ref_ok=True)


def test_preload_startup():
    path = BINARIES["startup_plain"].require()
    r = run([path, "ctor_and_atexit"], env=base_env(LD_PRELOAD=LIB_SO))
    if r.rc != 0:
        raise Fail(fail_reason(r), r.log())
    check_startup_output(r)


def test_preload_library_ctor():
    lib = BINARIES["preload_ctor"].require()
    hello = BINARIES["hello_plain"].require()
    ref = run([hello])
    r = run([hello], env=base_env(LD_PRELOAD="%s %s" % (LIB_SO, lib)))
    if r.rc != 0:
        raise Fail("%s" % describe_rc(r.rc), r.log())
    if r.out != ref.out:
        raise Fail("output differs from the run without preload", r.log())
    for word in ("constructor ok", "destructor ok"):
        if "preload_ctor: " + word not in r.err:
            raise Fail("preloaded library: no `%s`" % word, r.log())


register("startup/preload_program_ctor_atexit", test_preload_startup, ["startup_plain"])
register("startup/preload_library_ctor", test_preload_library_ctor, ["preload_ctor", "hello_plain"])


def test_dlopen():
    """The shared object loaded with dlopen after start-up (its TLS is initial-exec), used from
    4 threads through dlsym (the thread caches on); its statistics at exit count the calls."""
    prog = BINARIES["dlopen_plain"].require()
    r = run([prog, LIB_SO], env=base_env(FT_MALLOC_STATS="1"))
    if r.rc != 0 or r.out.strip() != "OK":
        raise Fail("dlopen of %s: %s" % (os.path.basename(LIB_SO), describe_rc(r.rc)), r.log())
    m = re.search(r"^total\s+-\s+(\d+)\s+(\d+)", r.err, re.M)
    if not m or int(m.group(1)) < 500000:
        raise Fail("the statistics at exit do not show the 500,000 mallocs made through dlsym", r.log())


register("startup/dlopen_initial_exec_tls", test_dlopen, ["dlopen_plain"])
