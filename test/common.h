/*
 * Shared helpers of the ft_malloc test programs.
 *
 * Every test program holds many named cases: `prog NAME` runs one case, `prog --list` lists them.
 * A case returns normally on success; any failed check prints one line
 *     FAIL: file.c:LINE: message
 * on stderr and exits with status 1. run_tests.py shows that message as the reason.
 *
 * Built with -DFT_TEST_REF_GLIBC, the programs run against glibc's malloc instead of ft_malloc
 * (to check the tests themselves): ft_malloc-only features are then skipped or stubbed.
 */
#ifndef FT_TEST_COMMON_H
#define FT_TEST_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "ft_malloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <malloc.h>

/* ---- Size classes: the ONE place the tests know them (run_tests.py reads these lines). ---- */
#define FT_TINY_MAX 256          /* TINY: requests 0 .. FT_TINY_MAX bytes */
#define FT_TINY_STEP 16          /* TINY classes: 16, 32, ..., FT_TINY_MAX */
#define FT_SMALL_MAX 131072      /* SMALL: FT_TINY_MAX+1 .. FT_SMALL_MAX; LARGE above */
#define FT_SMALL_PER_DOUBLING 4  /* SMALL classes: 4 per doubling (320, 384, 448, 512, 640, ...) */
#define FT_MIN_CHUNKS 100        /* every TINY/SMALL zone holds at least this many chunks */
#define FT_KEPT_ZONE_BYTES (2u << 20) /* wholly free zones kept resident, all classes together
                                         (src/zone/zone_pool.h kKeptBytes) */
#define FT_KEPT_ZONE_MAX_BYTES (8u << 20) /* ... once the heap shrank and grew again (kKeptMaxBytes) */
#define FT_ALIGN 16              /* every pointer is aligned to this */

/* A size well inside each category, used by cases that need "a TINY/SMALL/LARGE block". */
#define SZ_TINY 32
#define SZ_SMALL 1000
#define SZ_LARGE (FT_SMALL_MAX + 4096 + 123)

/* The class (chunk size) a plain malloc(size) lands in; 0 for LARGE. */
__attribute__((unused))
static size_t expected_class(size_t size)
{
    if (size <= FT_TINY_MAX)
        return size <= FT_TINY_STEP ? FT_TINY_STEP : (size + FT_TINY_STEP - 1) / FT_TINY_STEP * FT_TINY_STEP;
    if (size > FT_SMALL_MAX)
        return 0;
    size_t base = FT_TINY_MAX;
    while (base * 2 < size)
        base *= 2;
    size_t step = base / FT_SMALL_PER_DOUBLING;
    return (size - base + step - 1) / step * step + base;
}

#ifdef FT_TEST_REF_GLIBC
/* glibc has none of these: keep the programs linkable, skip what depends on them. */
#define show_alloc_mem() ((void)0)
#define show_alloc_mem_ex() ((void)0)
#define free_sized(p, n) free(p)
#define free_aligned_sized(p, a, n) free(p)
#define HAVE_FT 0
#else
#define HAVE_FT 1
#endif

#ifdef FT_TEST_PRELOAD
/* Built without ft_malloc and run with LD_PRELOAD of its .so (test/build/NAME_plain): ft_malloc's
 * own calls are found at run time in the preloaded library (checked before any case runs). */
#pragma weak show_alloc_mem
#pragma weak show_alloc_mem_ex
#pragma weak ft_malloc_check
#pragma weak free_sized
#pragma weak free_aligned_sized
#pragma weak cfree
#endif

/* ---- Failure reporting ---- */
#define FAIL(...) test_fail(__FILE__, __LINE__, __VA_ARGS__)
#define CHECK(cond, ...) do { if (!(cond)) FAIL(__VA_ARGS__); } while (0)

__attribute__((noreturn, format(printf, 3, 4), unused))
static void test_fail(const char *file, int line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char out[700];
    int n = snprintf(out, sizeof out, "FAIL: %s:%d: %s\n", file, line, msg);
    if (n > (int)sizeof out - 1)
        n = (int)sizeof out - 1;
    fflush(stdout);
    if (write(2, out, (size_t)n) < 0) {
    }
    _exit(1);
}

/* Hides a pointer from the compiler so that it cannot reason about malloc's result
 * (e.g. fold malloc(0) != malloc(0) to true, or drop a malloc/free pair). */
static inline void *launder(void *p)
{
    __asm__ volatile("" : "+r"(p)::"memory");
    return p;
}
static inline size_t launder_size(size_t n)
{
    __asm__ volatile("" : "+r"(n));
    return n;
}

/* ---- Load scaling ---- */
/* Load tests multiply their loop counts by FT_TEST_SCALE (run_tests.py --long sets it; default 1).
 * getenv does not allocate. */
__attribute__((unused))
static long test_scale(void)
{
    const char *s = getenv("FT_TEST_SCALE");
    long v = s ? strtol(s, NULL, 10) : 1;
    return v > 0 ? v : 1;
}

/* ---- Case table ---- */
typedef struct {
    const char *name;
    void (*fn)(void);
} test_case;

#define TEST(name) static void test_##name(void)
#define CASE(name) { #name, test_##name }
/* A program over several files: a case in a file other than the one with the case table is defined
 * with TEST_EXTERN(name) { ... } and declared with TEST_EXTERN(name); in the program's header. */
#define TEST_EXTERN(name) void test_##name(void)

__attribute__((unused))
static int run_case(const test_case *cases, size_t n, int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CASE | --list\n", argv[0]);
        return 2;
    }
    if (!strcmp(argv[1], "--list")) {
        for (size_t i = 0; i < n; i++)
            printf("%s\n", cases[i].name);
        return 0;
    }
#ifdef FT_TEST_PRELOAD
    if (!&show_alloc_mem || !&ft_malloc_check)
        FAIL("ft_malloc is not loaded: run this program with LD_PRELOAD=libft_malloc_$HOSTTYPE.so");
#endif
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(argv[1], cases[i].name)) {
            cases[i].fn();
            return 0;
        }
    }
    fprintf(stderr, "unknown case %s\n", argv[1]);
    return 2;
}
#define RUN_CASES(cases) \
    int main(int argc, char **argv) { return run_case(cases, sizeof(cases) / sizeof(cases[0]), argc, argv); }

/* ---- Deterministic random numbers (xorshift64*) ---- */
typedef struct { uint64_t s; } rng_t;
static inline void rng_seed(rng_t *r, uint64_t seed) { r->s = seed * 0x9E3779B97F4A7C15ull + 0x1234567ull; if (!r->s) r->s = 1; }
static inline uint64_t rng_next(rng_t *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1Dull;
}
static inline uint64_t rng_below(rng_t *r, uint64_t n) { return n ? rng_next(r) % n : 0; }

/* ---- Content patterns: byte i of a block with id `id` is a function of (id, i). ---- */
static inline uint64_t pattern_word(uint64_t id, size_t k)
{
    uint64_t x = (id + 1) * 0x9E3779B97F4A7C15ull ^ (uint64_t)k * 0xC2B2AE3D27D4EB4Full;
    x ^= x >> 29;
    return x;
}
static inline unsigned char pattern_byte(uint64_t id, size_t i)
{
    return (unsigned char)(pattern_word(id, i / 8) >> ((i % 8) * 8));
}
/* p must be 8-aligned. */
__attribute__((unused))
static void pattern_fill(void *p, size_t n, uint64_t id)
{
    uint64_t *w = (uint64_t *)p;
    size_t words = n / 8;
    for (size_t k = 0; k < words; k++)
        w[k] = pattern_word(id, k);
    unsigned char *b = (unsigned char *)p;
    for (size_t i = words * 8; i < n; i++)
        b[i] = pattern_byte(id, i);
}
/* Frees, in order, n blocks of the given sizes once all are written (every page resident): LARGE
 * ones wait as cached mappings for a later request, which may gather them (src/large/large_cache.h
 * take_pieces; test/large_cache.c, test/faults_inject.c). At most 8. */
__attribute__((unused))
static void free_written_blocks(const size_t *sizes, int n)
{
    void *p[8];
    for (int i = 0; i < n; i++) {
        p[i] = malloc(sizes[i]);
        CHECK(p[i] != NULL, "malloc(%zu) failed", sizes[i]);
        pattern_fill(p[i], sizes[i], (uint64_t)i + 1);
    }
    for (int i = 0; i < n; i++)
        free(p[i]);
}
/* Returns the offset of the first wrong byte, or (size_t)-1 if all n bytes are right. */
__attribute__((unused))
static size_t pattern_check(const void *p, size_t n, uint64_t id)
{
    const uint64_t *w = (const uint64_t *)p;
    size_t words = n / 8;
    for (size_t k = 0; k < words; k++)
        if (w[k] != pattern_word(id, k)) {
            for (size_t i = k * 8;; i++)
                if (((const unsigned char *)p)[i] != pattern_byte(id, i))
                    return i;
        }
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = words * 8; i < n; i++)
        if (b[i] != pattern_byte(id, i))
            return i;
    return (size_t)-1;
}

/* ---- /proc helpers (no allocation: they may run while the heap is being inspected) ---- */
static char proc_buf[8 << 20];

/* Reads a whole file into proc_buf with read(2); returns its length, NUL-terminated. */
__attribute__((unused))
static size_t read_file_raw(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        FAIL("open %s: %s", path, strerror(errno));
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, proc_buf + len, sizeof proc_buf - 1 - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            FAIL("read %s: %s", path, strerror(errno));
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len == sizeof proc_buf - 1)
            FAIL("%s larger than the buffer", path);
    }
    close(fd);
    proc_buf[len] = 0;
    return len;
}

/* 1 if address a lies in any mapping of this process (/proc/self/maps). */
__attribute__((unused))
static int addr_mapped(uintptr_t a)
{
    read_file_raw("/proc/self/maps");
    char *line = proc_buf;
    while (*line) {
        char *end;
        unsigned long lo = strtoul(line, &end, 16);
        unsigned long hi = strtoul(end + 1, NULL, 16);
        if (a >= lo && a < hi)
            return 1;
        char *nl = strchr(line, '\n');
        if (!nl)
            break;
        line = nl + 1;
    }
    return 0;
}

/* Resident set size of this process in kB (VmRSS). */
__attribute__((unused))
static long vm_rss_kb(void)
{
    read_file_raw("/proc/self/status");
    char *s = strstr(proc_buf, "VmRSS:");
    if (!s)
        FAIL("no VmRSS in /proc/self/status");
    return strtol(s + 6, NULL, 10);
}

/* ---- Capturing show_alloc_mem / show_alloc_mem_ex output into a static buffer ---- */
static char dump_buf[16 << 20];

/* Runs fn with fd 1 redirected to a memfd; returns the text (NUL-terminated, in dump_buf). */
__attribute__((unused))
static const char *capture_dump(void (*fn)(void))
{
    fflush(stdout);
    int fd = memfd_create("ft_dump", 0);
    if (fd < 0)
        FAIL("memfd_create: %s", strerror(errno));
    int saved = dup(1);
    if (saved < 0 || dup2(fd, 1) < 0)
        FAIL("dup: %s", strerror(errno));
    fn();
    if (dup2(saved, 1) < 0)
        FAIL("dup2: %s", strerror(errno));
    close(saved);
    if (lseek(fd, 0, SEEK_SET) < 0)
        FAIL("lseek: %s", strerror(errno));
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, dump_buf + len, sizeof dump_buf - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
        if (len == sizeof dump_buf - 1)
            FAIL("dump larger than the buffer");
    }
    close(fd);
    dump_buf[len] = 0;
    return dump_buf;
}

#ifndef FT_TEST_REF_GLIBC
static void call_show_alloc_mem(void) { show_alloc_mem(); }
static void call_show_alloc_mem_ex(void) { show_alloc_mem_ex(); }

/* 1 if the plain dump `d` has the exact block line "0xSTART - 0xEND : SIZE bytes". */
__attribute__((unused))
static int dump_has_block(const char *d, const void *p, size_t size)
{
    char line[128];
    int n = snprintf(line, sizeof line, "\n0x%lX - 0x%lX : %zu bytes\n", (unsigned long)(uintptr_t)p,
                     (unsigned long)((uintptr_t)p + size), size);
    (void)n;
    return strstr(d, line) != NULL;
}
/* 1 if the plain dump `d` has any block line starting at p. */
__attribute__((unused))
static int dump_has_start(const char *d, const void *p)
{
    char line[64];
    snprintf(line, sizeof line, "\n0x%lX - ", (unsigned long)(uintptr_t)p);
    return strstr(d, line) != NULL;
}
/* Block lines of a plain dump, parsed once for fast lookups (many blocks). */
typedef struct {
    uintptr_t start;
    size_t size;
} dump_entry;
static dump_entry dump_entries[1 << 20];
static size_t dump_n;

static int dump_entry_cmp(const void *a, const void *b)
{
    uintptr_t x = ((const dump_entry *)a)->start, y = ((const dump_entry *)b)->start;
    return x < y ? -1 : x > y;
}

__attribute__((unused))
static void dump_index(const char *d)
{
    dump_n = 0;
    for (const char *s = d; *s;) {
        unsigned long a, b;
        size_t n;
        if (sscanf(s, "0x%lX - 0x%lX : %zu bytes", &a, &b, &n) == 3) {
            CHECK(dump_n < sizeof dump_entries / sizeof dump_entries[0], "too many blocks in the dump");
            dump_entries[dump_n].start = a;
            dump_entries[dump_n].size = n;
            dump_n++;
        }
        const char *nl = strchr(s, '\n');
        if (!nl)
            break;
        s = nl + 1;
    }
    qsort(dump_entries, dump_n, sizeof dump_entries[0], dump_entry_cmp);
}

/* 1 if the indexed dump lists a block at p of exactly `size` bytes. */
__attribute__((unused))
static int dump_index_has(const void *p, size_t size)
{
    size_t lo = 0, hi = dump_n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (dump_entries[mid].start < (uintptr_t)p)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < dump_n && dump_entries[lo].start == (uintptr_t)p && dump_entries[lo].size == size;
}

/* Number of TINY/SMALL zones of chunk size `cls` in a show_alloc_mem_ex dump. */
__attribute__((unused))
static int count_class_zones(const char *d, size_t cls)
{
    char pat[64];
    snprintf(pat, sizeof pat, " class %zu B,", cls);
    int n = 0;
    for (const char *s = d; (s = strstr(s, pat)) != NULL; s++)
        n++;
    return n;
}

/* The most wholly free zones of chunk size `cls` the pool may keep resident beyond the reserve
 * within a budget of `kept` bytes (its bytes over the chunk bytes of one of its zones in the dump,
 * plus one zone written in part); 0 when the dump has no zone of the class. */
__attribute__((unused))
static int kept_class_zones_within(const char *d, size_t cls, size_t kept)
{
    char pat[64];
    snprintf(pat, sizeof pat, " class %zu B, ", cls);
    const char *s = strstr(d, pat);
    unsigned long chunks;
    if (!s || sscanf(s + strlen(pat), "%lu chunks", &chunks) != 1 || !chunks)
        return 0;
    return (int)(kept / (chunks * cls)) + 1;
}
/* ... within FT_KEPT_ZONE_BYTES, a heap that never shrank and grew again. */
__attribute__((unused))
static int kept_class_zones(const char *d, size_t cls) { return kept_class_zones_within(d, cls, FT_KEPT_ZONE_BYTES); }

__attribute__((unused))
static const char *dump_plain(void) { return capture_dump(call_show_alloc_mem); }
__attribute__((unused))
static const char *dump_ex(void) { return capture_dump(call_show_alloc_mem_ex); }
#endif

#endif
