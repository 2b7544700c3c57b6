#!/usr/bin/env python3
"""Writes the seed corpus of test/fuzz/fuzz_heap.cpp into test/fuzz/corpus/ (replacing it).

    python3 test/fuzz/make_seeds.py

Each seed is a sequence of 4-byte records [op | mod << 4, slot, v & 0xFF, v >> 8], the encoding
documented at the top of fuzz_heap.cpp. size(n) finds a v that decodes to exactly n: the boundary
table below mirrors init_boundaries() in the harness (keep them in step).
"""

import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")

# Ops, as in fuzz_heap.cpp.
MALLOC, CALLOC, REALLOC, MEMALIGN, ALIGNED_ALLOC, POSIX_MEMALIGN, FREE, WRITE = range(8)
CHECK, USABLE, DUMP, VALLOC, HEAP_CHECK, ERRORS, MALLOC_EDGE, FREE2 = range(8, 16)

TINY_MAX, SMALL_MAX = 256, 131072


def boundaries():
    """init_boundaries() of the harness, in the same order."""
    b = [0, 1, 2, 8, 15, 16, 17]
    for c in range(16, TINY_MAX + 1, 16):
        b += [c - 1, c, c + 1]
        if c > 16:
            b += [c - 14, c - 15]
    base = TINY_MAX
    while base < SMALL_MAX:
        for k in range(1, 5):
            c = base + k * (base // 4)
            b += [c - 1, c, c + 1]
        base *= 2
    b += [4095, 4096, 4097, 8191, 8192, 8193, 65535, 65536, 65537, 135167, 135168, 135169,
          200000, 262143, 262144, 262145, 1048575, 1048576, 1048577, 2097151, 2097152, 2097153]
    return b


BOUNDARY = boundaries()


def decode(v):
    low = v & 0x3FFF
    mode = v >> 14
    if mode == 0:
        return BOUNDARY[v % len(BOUNDARY)]
    if mode == 1:
        return low
    if mode == 2:
        return low * 8 + low % 7
    return SMALL_MAX + low * low * low // (1 << 22) + low % 7


def size(n):
    """A v with decode(v) == n (the closest larger size when n cannot be hit exactly)."""
    if n in BOUNDARY:
        return BOUNDARY.index(n)
    if n < 0x4000:
        return 0x4000 | n
    best = None
    for v in range(0x8000, 0x10000):
        d = decode(v)
        if d == n:
            return v
        if d > n and (best is None or d < decode(best)):
            best = v
    return best


def rec(op, slot=0, n=0, mod=0):
    v = size(n)
    return bytes([op | (mod << 4), slot, v & 0xFF, v >> 8])


def align_mod(a):
    """The mod that selects alignment a (16 .. 65536), or 13/14/15 for 0, 48, 8."""
    special = {0: 13, 48: 14, 8: 15}
    if a in special:
        return special[a]
    return (a // 16).bit_length() - 1


SEEDS = {}


def seed(name):
    def register(fn):
        SEEDS[name] = fn()
        return fn
    return register


TINY_CLASSES = list(range(16, TINY_MAX + 1, 16))
SMALL_CLASSES = [b + k * (b // 4) for b in (256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536)
                 for k in range(1, 5)]


@seed("tiny_classes")
def _():
    out = b""
    for i, c in enumerate(TINY_CLASSES):
        out += rec(MALLOC, i, c - 1) + rec(MALLOC, 16 + i, c) + rec(MALLOC, 32 + i, c + 1)
    out += rec(DUMP) + rec(CHECK)
    for i in range(0, 48, 3):
        out += rec(FREE, i)
    out += rec(DUMP, mod=1)
    return out


@seed("tiny_size_codes")
def _():
    # chunk - 14 keeps the size in the nibble, chunk - 15 in the chunk's last 4 bytes.
    out = b""
    for i, c in enumerate(TINY_CLASSES[1:]):
        out += rec(MALLOC, 2 * i, c - 14) + rec(MALLOC, 2 * i + 1, c - 15) + rec(USABLE, 2 * i + 1)
    for i in range(30):
        out += rec(REALLOC, i, [1, 200, 33, 17, 48][i % 5]) + rec(USABLE, i) + rec(CHECK, i, mod=1)
    out += rec(DUMP, mod=1) + rec(HEAP_CHECK)
    return out


@seed("small_classes")
def _():
    out = b""
    for i, c in enumerate(SMALL_CLASSES):
        out += rec(MALLOC, i, c) + rec(MALLOC, 36 + i % 28, c + 1)
    out += rec(DUMP) + rec(CHECK) + rec(HEAP_CHECK)
    return out


@seed("small_edges")
def _():
    out = b""
    for i, c in enumerate(SMALL_CLASSES[::3]):
        out += rec(MALLOC_EDGE, i, c - 1) + rec(CALLOC, i + 20, c, mod=1) + rec(WRITE, i)
    out += rec(DUMP, mod=1)
    return out


@seed("large")
def _():
    out = b""
    for i, n in enumerate([131073, 135168, 200000, 262144, 1048577, 2097152]):
        out += rec(MALLOC, i, n) + rec(USABLE, i)
    out += rec(DUMP) + rec(FREE, 2) + rec(FREE, 4) + rec(DUMP, mod=1)
    return out


@seed("large_realloc")
def _():
    # grow with mremap, shrink in place, back to SMALL and TINY
    out = rec(MALLOC, 5, 131073)
    for n in [262144, 1048576, 2097153, 300000, 131073, 131072, 4096, 100, 2097152, 0, 5000]:
        out += rec(REALLOC, 5, n) + rec(CHECK, 5, mod=1) + rec(USABLE, 5)
    out += rec(DUMP)
    return out


@seed("realloc_chain")
def _():
    out = rec(REALLOC, 1, 10)  # realloc(NULL, 10)
    for n in [16, 17, 256, 257, 320, 4096, 65536, 131072, 131073, 70000, 1000, 16, 1]:
        out += rec(REALLOC, 1, n) + rec(WRITE, 1) + rec(REALLOC, 2, n // 2 + 1)
    out += rec(REALLOC, 1, 0) + rec(DUMP) + rec(REALLOC, 1, 0)
    return out


@seed("realloc_shrink_move")
def _():
    # a SMALL chunk of >= 4 KiB shrunk to a quarter moves; above a quarter it stays
    out = b""
    for i, (a, b) in enumerate([(4096, 1024), (4096, 1025), (8192, 2048), (65536, 100), (131072, 32768),
                                (5120, 1280), (5120, 1281)]):
        out += rec(MALLOC, i, a) + rec(REALLOC, i, b) + rec(USABLE, i) + rec(REALLOC, i, a)
    out += rec(REALLOC, 9, 1000, mod=12) + rec(REALLOC, 9, 3000, mod=14) + rec(DUMP)
    return out


@seed("calloc")
def _():
    out = b""
    for i, (cnt, n) in enumerate([(0, 100), (1, 0), (3, 255), (7, 4097), (15, 131073), (2, 512),
                                  (4, 16), (9, 1000000)]):
        out += rec(MALLOC, i, n) + rec(FREE, i) + rec(CALLOC, i, n, mod=cnt)
    out += rec(DUMP, mod=1) + rec(CHECK)
    return out


@seed("memalign")
def _():
    out = b""
    slot = 0
    for a in [16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 0, 48, 8]:
        for n in [0, 100, 5000]:
            out += rec(MEMALIGN, slot % 64, n, mod=align_mod(a))
            slot += 1
    out += rec(DUMP) + rec(HEAP_CHECK)
    return out


@seed("aligned_alloc")
def _():
    out = b""
    for i, a in enumerate([16, 64, 4096, 8192, 65536, 0, 48, 8, 256, 2048]):
        out += rec(ALIGNED_ALLOC, i, [1, 4096, 131073, 200][i % 4], mod=align_mod(a))
    out += rec(DUMP, mod=1)
    for i in range(10):
        out += rec(FREE, i, mod=14)  # free_aligned_sized
    return out


@seed("posix_memalign")
def _():
    out = b""
    for i, a in enumerate([8, 16, 32, 4096, 16384, 65536, 0, 48, 1024]):
        out += rec(POSIX_MEMALIGN, i, [0, 17, 4097, 131072, 300000][i % 5], mod=align_mod(a))
    out += rec(DUMP) + rec(CHECK)
    return out


@seed("valloc")
def _():
    out = b""
    for i, n in enumerate([0, 1, 4095, 4096, 4097, 131072, 135169]):
        out += rec(VALLOC, i, n, mod=0) + rec(VALLOC, 10 + i, n, mod=1)
    out += rec(DUMP) + rec(USABLE, 3) + rec(USABLE, 13)
    return out


@seed("free_variants")
def _():
    out = b""
    for i, n in enumerate([0, 24, 300, 5000, 140000]):
        out += rec(MALLOC, i, n) + rec(MEMALIGN, 10 + i, n, mod=align_mod(256))
    for i in range(5):
        out += rec(FREE, i, mod=12) + rec(FREE, 10 + i, mod=14)
    for i, n in enumerate([7, 77, 777]):
        out += rec(MALLOC, 20 + i, n) + rec(FREE, 20 + i, mod=15) + rec(FREE2, 20 + i)
    out += rec(DUMP)
    return out


@seed("errors")
def _():
    out = rec(MALLOC, 3, 100) + rec(MALLOC, 4, 200000)
    for m in range(16):
        out += rec(ERRORS, 3 if m % 2 else 4, mod=m)
    out += rec(ERRORS, 5, mod=4) + rec(CHECK) + rec(DUMP)
    return out


@seed("zero_sizes")
def _():
    out = b""
    for i in range(20):
        out += rec(MALLOC, i, 0)
    out += rec(CALLOC, 20, 0, mod=5) + rec(CALLOC, 21, 0, mod=0) + rec(MEMALIGN, 22, 0, mod=6)
    out += rec(REALLOC, 3, 0) + rec(REALLOC, 4, 1) + rec(DUMP) + rec(DUMP, mod=1)
    return out


@seed("tcache_churn")
def _():
    # frees beyond a class's cache capacity (4 KiB: 4 chunks; 256 B: 64) flush it back to its zone
    out = b""
    for n in [4096, 256, 16]:
        for i in range(64):
            out += rec(MALLOC, i, n)
        for i in range(64):
            out += rec(FREE2, i)
    out += rec(DUMP) + rec(HEAP_CHECK)
    return out


@seed("page_edges")
def _():
    out = b""
    for i, n in enumerate([4095, 4096, 4097, 8191, 8192, 8193, 65535, 65536, 65537]):
        out += rec(MALLOC, i, n) + rec(MEMALIGN, 20 + i, n, mod=align_mod(4096))
        out += rec(MEMALIGN, 40 + i, n, mod=align_mod(8192))
    out += rec(DUMP, mod=1) + rec(CHECK)
    return out


@seed("write_check_usable")
def _():
    out = b""
    for i in range(16):
        out += rec(MALLOC, i, 40 * i + 3)
    for i in range(16):
        out += rec(WRITE, i) + rec(USABLE, i) + rec(CHECK, i, mod=1)
    out += rec(CHECK) + rec(HEAP_CHECK)
    return out


@seed("mixed")
def _():
    # a deterministic pseudo-random walk over every op
    x = 12345
    out = b""
    for _ in range(120):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        op, mod, slot, v = x & 15, (x >> 4) & 15, (x >> 8) % 16, (x >> 12) & 0xFFFF
        if op == ERRORS and mod in (4, 5):
            mod = 10
        out += bytes([op | mod << 4, slot, v & 0xFF, v >> 8])
    return out + rec(DUMP, mod=1)


@seed("sixty_four_slots")
def _():
    out = b""
    sizes = [1, 48, 200, 256, 257, 1000, 3000, 4096, 9000, 20000]
    for i in range(64):
        out += rec(MALLOC if i % 3 else CALLOC, i, sizes[i % len(sizes)], mod=2)
    for i in range(0, 64, 2):
        out += rec(REALLOC, i, sizes[(i + 3) % len(sizes)])
    out += rec(DUMP) + rec(CHECK)
    return out


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    for name, data in SEEDS.items():
        assert len(data) % 4 == 0 and len(data) <= 4096, name
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print("%d seeds in %s" % (len(SEEDS), os.path.relpath(OUT)))


if __name__ == "__main__":
    main()
