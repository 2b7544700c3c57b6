"""The cache of freed LARGE mappings (test/large_cache.c): reuse, zeroing, the byte and time bounds,
malloc_trim, FT_MALLOC_LARGE_CACHE=0, the guard page kept, the memory system calls of 2000 pairs
of 1 MiB, and what the statistics say of the cache.

    large_cache/<case>               the case as it is, the cache on (the default)
    large_cache/off/<case>           the same under FT_MALLOC_LARGE_CACHE=0
    large_cache/syscalls_2000_pairs  strace -c: at most 200 memory system calls (target of issue 13)
    large_cache/guard_kept           FT_MALLOC_GUARD=1: the write past a reused block faults
    large_cache/stats                FT_MALLOC_STATS=1 counts the hits
"""

import os
import re
import signal
import tempfile

from runner.core import BINARIES, Binary, Fail, base_env, c_case, case_names, describe_rc, have, register, run


BINARIES["large_cache"] = Binary("large_cache", "test/large_cache.c")

# Cases that say nothing of the cache being off, or that check what the cache does: not run off.
ON_ONLY = ("pairs_reuse_mapping", "idle_mapping_goes_back", "pairs_1m", "guard_after_reuse", "grown_block_reuses_room",
           "grown_blocks_of_many_sizes_reuse_room", "large_blocks_of_random_sizes_reuse_pages")
SPECIAL = ("pairs_1m", "guard_after_reuse")

for case in case_names(BINARIES["large_cache"].src):
    if case in SPECIAL:
        continue
    register("large_cache/%s" % case, c_case("large_cache", case, timeout=60), ["large_cache"])
    if case not in ON_ONLY:
        register("large_cache/off/%s" % case,
                 c_case("large_cache", case, timeout=60, env=base_env(FT_MALLOC_LARGE_CACHE="0")), ["large_cache"])

MEMORY_CALLS = ("mmap", "munmap", "mremap", "madvise", "mprotect", "brk")


def test_syscalls():
    if not have("strace"):
        raise Fail("strace is not installed")
    path = BINARIES["large_cache"].require()
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "strace.txt")
        r = run(["strace", "-f", "-c", "-o", out, "-e", "trace=" + ",".join(MEMORY_CALLS), path, "pairs_1m"],
                env=base_env(), timeout=120)
        if r.rc != 0:
            raise Fail("pairs_1m under strace: %s" % describe_rc(r.rc), r.log())
        with open(out) as f:
            text = f.read()
    m = re.search(r"^-+.*\n\s*100\.00\s+\S+\s+\S+\s+(\d+)", text, re.M)
    if not m:
        raise Fail("no total in strace -c's table", text)
    calls = int(m.group(1))
    if calls > 200:
        raise Fail("2000 pairs of 1 MiB made %d memory system calls (at most 200)" % calls, text)


def test_guard_kept():
    path = BINARIES["large_cache"].require()
    r = run([path, "guard_after_reuse"], env=base_env(FT_MALLOC_GUARD="1"), timeout=60)
    if "REUSED 1" not in r.out:
        raise Fail("under FT_MALLOC_GUARD=1 the freed mapping was not reused (the case tests nothing)", r.log())
    if r.rc != -signal.SIGSEGV or "NO FAULT" in r.out:
        raise Fail("the write one byte past a block in a reused mapping did not fault (%s)" % describe_rc(r.rc),
                   r.log())


def test_stats():
    path = BINARIES["large_cache"].require()
    r = run([path, "pairs_reuse_mapping"], env=base_env(FT_MALLOC_STATS="1"), timeout=60)
    m = re.search(r"^large cache: (\d+) mappings, (\d+) B; hits (\d+), resized (\d+), gathered (\d+), misses (\d+), returned (\d+)$",
                  r.err, re.M)
    if r.rc != 0 or not m:
        raise Fail("FT_MALLOC_STATS=1 has no 'large cache:' line", r.log())
    mappings, nbytes, hits = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if hits != 100 or mappings != 1 or nbytes < 1 << 20:
        raise Fail("the statistics say %d hits, %d mappings of %d B (the program made 100 hits, one 1 MiB mapping "
                   "left)" % (hits, mappings, nbytes), r.log())


register("large_cache/syscalls_2000_pairs", test_syscalls, ["large_cache"])
register("large_cache/guard_kept", test_guard_kept, ["large_cache"])
register("large_cache/stats", test_stats, ["large_cache"])

# With the cache off, free itself gives a LARGE mapping back (test/zones.c checks at once).
for case in ("large_munmap", "large_munmap_many"):
    register("zones/large_cache_off/%s" % case,
             c_case("zones", case, timeout=60, env=base_env(FT_MALLOC_LARGE_CACHE="0")), ["zones"])
