"""The allocators under test: glibc, ft_malloc's shared object (run from a snapshot) and the
installed peers, each checked in place with build/which_malloc."""
import os
import platform
import re
import shutil
import subprocess
import time

from benchlib.common import BUILD, FT, GLIBC, PEERS, ROOT


class Allocator:
    def __init__(self, name, so):
        self.name = name
        self.so = so  # None for glibc

    def env(self, base):
        env = dict(base)
        if self.so:
            env["LD_PRELOAD"] = self.so
        return env

    def prefix(self):
        return "LD_PRELOAD=%s " % self.so if self.so else ""


def lib_dirs():
    dirs = []
    arch = sysconfig_multiarch()
    for d in ["/usr/local/lib", "/usr/lib/" + arch, "/lib/" + arch, "/usr/lib64", "/usr/lib",
              "/lib64", "/lib"]:
        if d not in dirs and os.path.isdir(d):
            dirs.append(d)
    return dirs


def sysconfig_multiarch():
    import sysconfig
    arch = sysconfig.get_config_var("MULTIARCH")
    return arch or "%s-linux-gnu" % platform.machine()


def find_so(sonames):
    for name in sonames:
        for d in lib_dirs():
            path = os.path.join(d, name)
            if os.path.exists(path):
                return path
    try:
        out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    except OSError:
        out = ""
    for name in sonames:
        m = re.search(r"^\s*%s .*=> (\S+)$" % re.escape(name), out, re.M)
        if m:
            return m.group(1)
    return None


def which_malloc(alloc, base_env, valgrind=None):
    """Returns (ok, message): does malloc resolve to the allocator's file in a child?"""
    argv = [os.path.join(BUILD, "which_malloc")]
    if valgrind:
        argv = valgrind + argv
    r = subprocess.run(argv, env=alloc.env(base_env), capture_output=True, text=True)
    m = re.search(r"^malloc_from=(.*)$", r.stdout, re.M)
    if r.returncode != 0 or not m:
        return False, "check run failed (rc=%d): %s" % (r.returncode, r.stderr.strip()[-400:])
    got = os.path.realpath(m.group(1))
    if alloc.so:
        if got != os.path.realpath(alloc.so):
            return False, "malloc comes from %s, not %s: %s" % (got, alloc.so,
                                                                r.stderr.strip()[-300:])
    elif "libc.so" not in os.path.basename(got):
        return False, "malloc comes from %s, not libc" % got
    return True, got


def find_allocators(args, base_env):
    allocs = [Allocator(GLIBC, None)]
    notes = []
    so = os.path.abspath(os.path.join(ROOT, args.so)) if args.so else None
    if so and os.path.exists(so):
        # Benchmark a private copy: a rebuild of the shared object during the run (make re in
        # another shell) would otherwise make some runs fail to preload, or mix two versions.
        snap = os.path.join(BUILD, "ft_malloc_snapshot.so")
        shutil.copy2(so, snap + ".tmp")
        os.replace(snap + ".tmp", snap)
        notes.append("ft_malloc: benchmarking %s, a copy of %s as of %s" % (
            os.path.relpath(snap, ROOT), os.path.relpath(so, ROOT),
            time.strftime("%H:%M:%S", time.localtime(os.path.getmtime(so)))))
        allocs.append(Allocator(FT, snap))
    else:
        notes.append("ft_malloc: %s not found (run `make`); benchmarking the peers only" % args.so)
    for name, pkg, sonames in PEERS:
        if args.only and name not in args.only:
            continue
        path = find_so(sonames)
        if path:
            allocs.append(Allocator(name, path))
        else:
            notes.append("%s: not installed (Debian package %s, `make bench-deps`); skipped"
                         % (name, pkg))
    checked = []
    for a in allocs:
        ok, msg = which_malloc(a, base_env)
        if ok:
            checked.append(a)
        else:
            notes.append("%s: skipped, the preload check failed: %s" % (a.name, msg))
    return checked, notes
