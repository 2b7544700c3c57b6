/* The cache of freed LARGE mappings (src/large/large_cache.h): a freed LARGE block's mapping is
 * reused by a later request it fits, within a byte bound and a time bound; malloc_trim(0) and
 * FT_MALLOC_LARGE_CACHE=0 empty it; calloc of a reused mapping is zero; a freed block is never
 * listed. The runner (test/runner/large_cache.py) runs some cases with settings, under strace, or
 * expecting a signal. */
#include "common.h"

#include <malloc.h>

#define MB ((size_t)1 << 20)

static int cache_on(void)
{
    const char *v = getenv("FT_MALLOC_LARGE_CACHE");
    return !v || strcmp(v, "0");
}

static void touch(char *p, size_t n, int v)
{
    for (size_t i = 0; i < n; i += 4096)
        p[i] = (char)v;
    p[n - 1] = (char)v;
}

/* A loop of malloc/free of one LARGE size gets the same mapping back every time. */
TEST(pairs_reuse_mapping)
{
    char *first = malloc(MB);
    CHECK(first != NULL, "malloc(1 MiB) failed");
    touch(first, MB, 1);
    free(first);
    int same = 0;
    for (int i = 0; i < 100; i++) {
        char *p = malloc(MB);
        CHECK(p != NULL, "malloc(1 MiB) failed");
        touch(p, MB, i);
        same += p == first;
        free(p);
    }
    CHECK(same == 100, "only %d of 100 pairs of 1 MiB reused the freed mapping", same);
}

/* The block a cached mapping held is no block: not listed, and its mapping is only the cache's. */
TEST(freed_not_listed)
{
    char *p = malloc(3 * MB + 5);
    char *live = malloc(2 * MB);
    CHECK(p && live, "malloc failed");
    touch(p, 3 * MB, 1);
    free(p);
    const char *d = dump_plain();
    CHECK(!dump_has_start(d, p), "the freed LARGE block %p is still listed by show_alloc_mem", (void *)p);
    CHECK(dump_has_block(d, live, 2 * MB), "the live LARGE block %p is not listed", (void *)live);
    CHECK(addr_mapped((uintptr_t)p) == cache_on(), "the freed block's mapping is %s",
          cache_on() ? "gone though the cache is on" : "still there though the cache is off");
    free(live);
}

static void calloc_after(size_t freed, size_t asked)
{
    char *p = malloc(freed);
    CHECK(p != NULL, "malloc(%zu) failed", freed);
    memset(p, 0xA5, freed);
    free(p);
    unsigned char *q = calloc(1, asked);
    CHECK(q != NULL, "calloc(%zu) failed", asked);
    for (size_t i = 0; i < asked; i++)
        CHECK(q[i] == 0, "calloc(%zu) after a free of %zu: byte %zu is 0x%02x", asked, freed, i, q[i]);
    free(q);
}

TEST(calloc_same_size_zero) { calloc_after(MB, MB); }
TEST(calloc_smaller_zero) { calloc_after(4 * MB, MB + 12345); }  /* a mapping trimmed to fit */
TEST(calloc_larger_zero) { calloc_after(MB, 3 * MB + 7); }       /* a mapping grown with mremap */
TEST(calloc_near_size_zero) { calloc_after(MB + 8192, MB); }     /* a fit with a little room left */

/* malloc_trim(0) gives every cached mapping back. */
TEST(trim_empties)
{
    char *p[4];
    for (int i = 0; i < 4; i++) {
        p[i] = malloc((size_t)(i + 1) * MB);
        CHECK(p[i] != NULL, "malloc failed");
        touch(p[i], (size_t)(i + 1) * MB, 1);
    }
    for (int i = 0; i < 4; i++)
        free(p[i]);
    malloc_trim(0);
    for (int i = 0; i < 4; i++)
        CHECK(!addr_mapped((uintptr_t)p[i]), "the mapping of a freed %d MiB block is still there after malloc_trim(0)",
              i + 1);
}

/* A mapping unused for about a second goes back, on a slow path of another size. */
TEST(idle_mapping_goes_back)
{
    char *p = malloc(2 * MB);
    CHECK(p != NULL, "malloc failed");
    touch(p, 2 * MB, 1);
    free(p);
    CHECK(addr_mapped((uintptr_t)p), "the freed mapping is not cached");
    struct timespec ts = {1, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    enum { N = 20000 };
    static void *small[N];
    for (int i = 0; i < N; i++)  /* refills: the thread cache's slow path */
        small[i] = malloc(48);
    for (int i = 0; i < N; i++)
        free(small[i]);
    CHECK(!addr_mapped((uintptr_t)p), "a mapping unused for 1.3 s is still mapped after 20000 mallocs");
}

/* 256 MiB of LARGE blocks freed: at most 64 MiB stays resident, at most 4 MiB after malloc_trim. */
TEST(freed_bytes_bounded)
{
    enum { N = 256 };
    static char *p[N];
    long base = vm_rss_kb();
    for (int i = 0; i < N; i++) {
        p[i] = malloc(MB);
        CHECK(p[i] != NULL, "malloc failed");
        touch(p[i], MB, i);
    }
    for (int i = 0; i < N; i++)
        free(p[i]);
    long kept = vm_rss_kb() - base;
    CHECK(kept <= 64 * 1024, "after freeing 256 MiB of LARGE blocks %ld KiB stay resident (at most 64 MiB)", kept);
    malloc_trim(0);
    long trimmed = vm_rss_kb() - base;
    CHECK(trimmed <= 4 * 1024, "after malloc_trim(0) %ld KiB stay resident (at most 4 MiB)", trimmed);
    printf("KEPT_KB %ld TRIMMED_KB %ld\n", kept, trimmed);
}

/* A block above the cache's byte bound is unmapped at once. */
TEST(huge_not_cached)
{
    char *p = malloc(64 * MB);
    CHECK(p != NULL, "malloc(64 MiB) failed");
    touch(p, 64 * MB, 1);
    free(p);
    CHECK(!addr_mapped((uintptr_t)p), "a freed 64 MiB block stays mapped (above the cache's bound)");
}

/* Random sizes from 128 KiB to 8 MiB, a few live: every block keeps its bytes. */
TEST(churn_intact)
{
    enum { LIVE = 8, STEPS = 600 };
    char *p[LIVE] = {0};
    size_t n[LIVE] = {0};
    rng_t r;
    rng_seed(&r, 13);
    for (int s = 0; s < STEPS; s++) {
        int k = (int)rng_below(&r, LIVE);
        if (p[k]) {
            CHECK(pattern_check(p[k], n[k], (uint64_t)k * 1000 + 1) == (size_t)-1, "block %d lost its bytes", k);
            free(p[k]);
        }
        n[k] = ((size_t)128 << 10) << rng_below(&r, 7);
        n[k] += rng_below(&r, n[k]);
        p[k] = malloc(n[k]);
        CHECK(p[k] != NULL, "malloc(%zu) failed", n[k]);
        pattern_fill(p[k], n[k], (uint64_t)k * 1000 + 1);
    }
    for (int k = 0; k < LIVE; k++)
        free(p[k]);
}

/* For strace (the runner counts the memory system calls): 2000 pairs of 1 MiB, each touched. */
TEST(pairs_1m)
{
    for (int i = 0; i < 2000; i++) {
        char *p = malloc(MB);
        CHECK(p != NULL, "malloc failed");
        touch(p, MB, i);
        free(p);
    }
}

/* Under FT_MALLOC_GUARD=1 (the runner): a block in a reused mapping still ends against its guard
 * page (as near as its 16-byte alignment lets it), so the write just past it faults. */
TEST(guard_after_reuse)
{
    size_t n = MB + 100;
    char *p = malloc(n);
    CHECK(p != NULL, "malloc failed");
    memset(p, 1, n);
    free(p);
    char *q = malloc(n);
    CHECK(q != NULL, "malloc failed");
    memset(q, 2, n);
    printf("REUSED %d\n", q == p);
    fflush(stdout);
    ((volatile char *)q)[(n + 15) & ~(size_t)15] = 3;
    printf("NO FAULT\n");
}

static const test_case cases[] = {
    CASE(pairs_reuse_mapping),
    CASE(freed_not_listed),
    CASE(calloc_same_size_zero),
    CASE(calloc_smaller_zero),
    CASE(calloc_larger_zero),
    CASE(calloc_near_size_zero),
    CASE(trim_empties),
    CASE(idle_mapping_goes_back),
    CASE(freed_bytes_bounded),
    CASE(huge_not_cached),
    CASE(churn_intact),
    CASE(pairs_1m),
    CASE(guard_after_reuse),
};

RUN_CASES(cases)
