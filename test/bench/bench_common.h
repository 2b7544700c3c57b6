/* Shared helpers for the ft_malloc benchmark workloads (test/bench/).
 * The workloads are built with plain gcc -O2 and never linked with ft_malloc:
 * the driver picks the allocator with LD_PRELOAD. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

/* Makes the compiler believe the block escapes, so malloc/free pairs are never elided. */
#define BENCH_ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")

typedef struct { uint64_t s; } bench_rng;

static inline uint64_t bench_next(bench_rng *r)
{
    /* splitmix64: fast, deterministic, good enough for picking sizes and slots */
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static inline size_t bench_range(bench_rng *r, size_t lo, size_t hi)
{
    return lo + (size_t)(bench_next(r) % (uint64_t)(hi - lo + 1));
}

/* Log-uniform in [lo, hi]: as many blocks in 16..32 as in 32K..64K. */
static inline size_t bench_logsize(bench_rng *r, size_t lo, size_t hi)
{
    double u = (double)(bench_next(r) >> 11) * (1.0 / 9007199254740992.0);
    double l = __builtin_log((double)lo), h = __builtin_log((double)hi + 1.0);
    size_t s = (size_t)__builtin_exp(l + u * (h - l));
    return s < lo ? lo : s > hi ? hi : s;
}

/* Resident set size of this process in bytes (VmRSS of /proc/self/status), read with plain
 * open/read into a static buffer so that measuring never calls malloc. */
static inline long long bench_rss_bytes(void)
{
    static char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *p = strstr(buf, "VmRSS:");
    return p ? strtoll(p + 6, NULL, 10) * 1024 : -1;
}

static inline long bench_arg(int argc, char **argv, int i, long dflt)
{
    return argc > i ? strtol(argv[i], NULL, 0) : dflt;
}

#endif
