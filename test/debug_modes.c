/*
 * The debug modes: FT_MALLOC_SCRIBBLE, FT_MALLOC_GUARD, FT_MALLOC_CHECK (run_tests.py sets the
 * variable each case needs).
 *
 * A case that makes a bad access prints "PTR 0x<hex>" (the block it is about to damage, flushed)
 * first; if the program survives what must kill it, it prints "SURVIVED". run_tests.py checks how
 * the process ended and what ft_malloc printed.
 */
#include "common.h"

#include <pthread.h>

static void announce(const void *p)
{
    printf("PTR %p\n", p);
    fflush(stdout);
}

static void survived(void)
{
    printf("SURVIVED\n");
    fflush(stdout);
}

/* ---- FT_MALLOC_SCRIBBLE=1 ---- */

static const size_t scribble_sizes[] = {1, 16, 32, 100, 256, 257, 1000, 4096, 5000, 70000, FT_SMALL_MAX,
                                        FT_SMALL_MAX + 1, 300000};

static void expect_bytes(const unsigned char *p, size_t n, unsigned char v, const char *what, size_t size)
{
    for (size_t i = 0; i < n; i++)
        CHECK(p[i] == v, "%s (block of %zu B): byte %zu of %zu is %#x, expected %#x", what, size, i, n, p[i], v);
}

TEST(scribble_new_blocks)
{
    /* Every way to get a block: its bytes read 0xAA, also when the chunk was used before. */
    for (int round = 0; round < 2; round++) {
        for (size_t k = 0; k < sizeof scribble_sizes / sizeof scribble_sizes[0]; k++) {
            size_t n = scribble_sizes[k];
            unsigned char *p = malloc(n);
            CHECK(p != NULL, "malloc(%zu) failed", n);
            expect_bytes(p, n, 0xAA, "malloc", n);
            memset(p, 0x11, n);
            free(p);
            p = memalign(64, n);
            CHECK(p != NULL, "memalign(64, %zu) failed", n);
            expect_bytes(p, n, 0xAA, "memalign", n);
            memset(p, 0x22, n);
            free(p);
            p = realloc(NULL, n);
            CHECK(p != NULL, "realloc(NULL, %zu) failed", n);
            expect_bytes(p, n, 0xAA, "realloc(NULL)", n);
            memset(p, 0x33, n);
            free(p);
        }
    }
    /* A block grown by realloc to another chunk: the old usable bytes kept, the new ones 0xAA. */
    unsigned char *p = malloc(100);
    CHECK(p != NULL, "malloc failed");
    size_t u = malloc_usable_size(p);
    memset(p, 0x44, u);
    p = realloc(p, 3000);
    CHECK(p != NULL, "realloc failed");
    expect_bytes(p, u, 0x44, "realloc kept part", 3000);
    expect_bytes(p + u, 3000 - u, 0xAA, "realloc new part", 3000);
    free(p);
}

static void scribble_freed(size_t n)
{
    unsigned char *keep = malloc(n); /* keeps the zone mapped */
    unsigned char *p = malloc(n);
    CHECK(p != NULL && keep != NULL, "malloc(%zu) failed", n);
    size_t u = malloc_usable_size(p);
    CHECK(u >= n, "usable %zu < %zu", u, n);
    memset(p, 0x11, u);
    free(p);
    /* Reading a freed block: fine here, its chunk stays mapped in a zone that holds `keep`. */
    expect_bytes(launder(p), u, 0x55, "after free", n);
    free(keep);
}

TEST(scribble_freed_tiny)
{
    for (size_t n = 0; n <= FT_TINY_MAX; n += 15)
        scribble_freed(n);
    scribble_freed(FT_TINY_MAX);
}

TEST(scribble_freed_small)
{
    size_t sizes[] = {FT_TINY_MAX + 1, 500, 1000, 4096, 5000, 33000, FT_SMALL_MAX};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
        scribble_freed(sizes[k]);
}

TEST(scribble_calloc_zero)
{
    for (int round = 0; round < 3; round++) {
        for (size_t k = 0; k < sizeof scribble_sizes / sizeof scribble_sizes[0]; k++) {
            size_t n = scribble_sizes[k];
            /* Dirty a chunk of the class first, so calloc gets a used one. */
            unsigned char *d = malloc(n);
            memset(d, 0x77, n);
            free(d);
            unsigned char *p = calloc(1, n);
            CHECK(p != NULL, "calloc(1, %zu) failed", n);
            expect_bytes(p, n, 0, "calloc", n);
            memset(p, 0x66, n);
            free(p);
            p = calloc(n ? n : 1, 1);
            CHECK(p != NULL, "calloc failed");
            expect_bytes(p, n, 0, "calloc", n);
            free(p);
        }
    }
}

/* ---- FT_MALLOC_GUARD=1 ---- */

/* The LARGE blocks of every kind of call, with their sizes and alignments. */
typedef struct {
    const char *how;
    size_t size, align;
} guard_kind;

static const guard_kind guard_kinds[] = {
    {"malloc", 300000, 0},
    {"malloc", FT_SMALL_MAX + 1, 0},
    {"malloc", 1 << 20, 0},
    {"calloc", 200003, 0},
    {"memalign", 300000, 64},
    {"memalign", 300000, 4096},
    {"memalign", 300000, 8192},
    {"memalign", 300000, 65536},
    {"memalign", 200000, 1 << 20},
    {"posix_memalign", 250000, 4096},
    {"aligned_alloc", 262144, 32768},
    {"valloc", 150000, 0},
    {"realloc", 400000, 0}, /* malloc(300000), then realloc to size */
};
#define GUARD_KINDS (sizeof guard_kinds / sizeof guard_kinds[0])

static unsigned char *guard_alloc(const guard_kind *g)
{
    void *p = NULL;
    if (!strcmp(g->how, "malloc"))
        p = malloc(g->size);
    else if (!strcmp(g->how, "calloc"))
        p = calloc(1, g->size);
    else if (!strcmp(g->how, "memalign"))
        p = memalign(g->align, g->size);
    else if (!strcmp(g->how, "posix_memalign")) {
        int r = posix_memalign(&p, g->align, g->size);
        CHECK(r == 0, "posix_memalign(%zu, %zu) returned %d", g->align, g->size, r);
    } else if (!strcmp(g->how, "aligned_alloc"))
        p = aligned_alloc(g->align, g->size);
    else if (!strcmp(g->how, "valloc"))
        p = valloc(g->size);
    else if (!strcmp(g->how, "realloc")) {
        unsigned char *q = malloc(300000);
        CHECK(q != NULL, "malloc(300000) failed");
        memset(q, 0x5C, 300000);
        p = realloc(q, g->size);
        CHECK(p != NULL, "realloc(%zu) failed", g->size);
        expect_bytes(p, 300000, 0x5C, "realloc under FT_MALLOC_GUARD", g->size);
    }
    CHECK(p != NULL, "FT_MALLOC_GUARD: %s(size %zu, align %zu) failed: %s", g->how, g->size, g->align,
          strerror(errno));
    if (g->align)
        CHECK((uintptr_t)p % g->align == 0, "%s(%zu, align %zu) = %p misaligned", g->how, g->size, g->align, p);
    CHECK((uintptr_t)p % FT_ALIGN == 0, "%p not aligned", p);
    CHECK(malloc_usable_size(p) >= g->size, "usable %zu < %zu", malloc_usable_size(p), g->size);
    return p;
}

TEST(guard_usable_bytes_writable)
{
    for (size_t k = 0; k < GUARD_KINDS; k++) {
        unsigned char *p = guard_alloc(&guard_kinds[k]);
        size_t u = malloc_usable_size(p);
        memset(p, 0x3D, u); /* every usable byte, up to the last one */
        CHECK(p[u - 1] == 0x3D, "last usable byte not written");
        free(p);
    }
    /* TINY and SMALL blocks are not guarded, but work as usual. */
    for (size_t n = 0; n < 5000; n += 97) {
        unsigned char *p = malloc(n);
        CHECK(p != NULL, "malloc(%zu) failed", n);
        memset(p, 1, malloc_usable_size(p));
        free(p);
    }
}

static void guard_overflow(int k)
{
    unsigned char *p = guard_alloc(&guard_kinds[k]);
    size_t u = malloc_usable_size(p);
    p[u - 1] = 1;
    announce(p);
    ((volatile unsigned char *)p)[u] = 1; /* the first byte past the usable end: must fault */
    survived();
    free(p);
}

TEST(guard_overflow_malloc) { guard_overflow(0); }
TEST(guard_overflow_malloc_min_large) { guard_overflow(1); }
TEST(guard_overflow_calloc) { guard_overflow(3); }
TEST(guard_overflow_memalign_64) { guard_overflow(4); }
TEST(guard_overflow_memalign_4096) { guard_overflow(5); }
TEST(guard_overflow_memalign_8192) { guard_overflow(6); }
TEST(guard_overflow_memalign_65536) { guard_overflow(7); }
TEST(guard_overflow_memalign_1m) { guard_overflow(8); }
TEST(guard_overflow_posix_memalign) { guard_overflow(9); }
TEST(guard_overflow_aligned_alloc) { guard_overflow(10); }
TEST(guard_overflow_valloc) { guard_overflow(11); }
TEST(guard_overflow_realloc) { guard_overflow(12); }

/* ---- FT_MALLOC_CHECK=1 ---- */

static size_t kind_size(const char *kind)
{
    return !strcmp(kind, "TINY") ? 30 : !strcmp(kind, "SMALL") ? 1000 : SZ_LARGE;
}

/* One byte past the end of a block, then free (or realloc) it: reported, abort. */
static void check_overflow(const char *kind, int use_realloc)
{
    size_t n = kind_size(kind);
    unsigned char *keep = malloc(n);
    unsigned char *p = malloc(n);
    CHECK(p != NULL && keep != NULL, "malloc(%zu) failed", n);
    memset(p, 0x12, n);
    p[n] ^= 0xFF; /* a changed byte: no canary sees a write of the value it holds */
    announce(p);
    if (use_realloc) {
        void *q = realloc(p, n * 2);
        (void)q;
    } else {
        free(p);
    }
    survived();
    free(keep);
}

TEST(check_overflow_free_tiny) { check_overflow("TINY", 0); }
TEST(check_overflow_free_small) { check_overflow("SMALL", 0); }
TEST(check_overflow_free_large) { check_overflow("LARGE", 0); }
TEST(check_overflow_realloc_tiny) { check_overflow("TINY", 1); }
TEST(check_overflow_realloc_small) { check_overflow("SMALL", 1); }
TEST(check_overflow_realloc_large) { check_overflow("LARGE", 1); }

/* A block overflowed by one byte in FT_MALLOC_ERRORS=warn: reported, and the program goes on. */
TEST(check_overflow_warn_goes_on)
{
    unsigned char *p = launder(malloc(100));
    CHECK(p != NULL, "malloc failed");
    p[launder_size(100)] ^= 0xFF; /* a changed byte: no canary sees a write of the value it holds */
    announce(p);
    free(p);
    for (int i = 0; i < 1000; i++) {
        void *q = malloc((size_t)i * 7);
        CHECK(q != NULL, "malloc failed after the report");
        free(q);
    }
    printf("CONTINUED\n");
}

/* ft_malloc_check() finds an overwritten canary after a TINY, a SMALL and a LARGE block (and
 * reports once), finds nothing once the bytes are put back; the blocks then free cleanly. */
TEST(check_function_finds_overflow)
{
    CHECK(ft_malloc_check() == 0, "ft_malloc_check() != 0 on a fresh heap");
    const char *kinds[] = {"TINY", "SMALL", "LARGE"};
    unsigned char *p[3];
    unsigned char saved[3];
    for (int k = 0; k < 3; k++) {
        size_t n = kind_size(kinds[k]);
        p[k] = malloc(n);
        CHECK(p[k] != NULL, "malloc failed");
        memset(p[k], 0x21, n);
    }
    CHECK(ft_malloc_check() == 0, "ft_malloc_check() != 0 on a sound heap");
    for (int k = 0; k < 3; k++) {
        size_t n = kind_size(kinds[k]);
        saved[k] = p[k][n];
        p[k][n] = (unsigned char)~saved[k];
        printf("PTR%d %p\n", k, (void *)p[k]);
        fflush(stdout);
        int r = ft_malloc_check();
        printf("CHECK%d %d\n", k, r);
        fflush(stdout);
        CHECK(r == k + 1, "ft_malloc_check() returned %d with %d damaged blocks", r, k + 1);
    }
    for (int k = 0; k < 3; k++)
        p[k][kind_size(kinds[k])] = saved[k];
    int r = ft_malloc_check();
    CHECK(r == 0, "ft_malloc_check() returned %d after the canaries were restored", r);
    for (int k = 0; k < 3; k++)
        free(p[k]);
    printf("CONTINUED\n");
}

/* A random workload through every entry point, ft_malloc_check() sound all along. */
TEST(check_sound_after_workload)
{
    enum { N = 3000 };
    static unsigned char *p[N];
    static size_t sz[N];
    rng_t r;
    rng_seed(&r, 77);
    long ops = 200000;
    for (long op = 0; op < ops; op++) {
        int i = (int)rng_below(&r, N);
        if (p[i]) {
            for (size_t b = 0; b < sz[i]; b += 1 + sz[i] / 8)
                CHECK(p[i][b] == (unsigned char)i, "block %d corrupted", i);
            if (rng_below(&r, 3) == 0) {
                size_t n = rng_below(&r, 5) ? rng_below(&r, 3000) : rng_below(&r, 300000);
                unsigned char *q = realloc(p[i], n);
                if (n == 0) {
                    CHECK(q == NULL, "realloc(p, 0) != NULL");
                    p[i] = NULL;
                    continue;
                }
                CHECK(q != NULL, "realloc(%zu) failed", n);
                CHECK(malloc_usable_size(q) == n, "FT_MALLOC_CHECK: usable %zu after realloc to %zu",
                      malloc_usable_size(q), n);
                memset(q, i, n);
                p[i] = q;
                sz[i] = n;
            } else {
                free(p[i]);
                p[i] = NULL;
            }
            continue;
        }
        size_t n = rng_below(&r, 10) ? rng_below(&r, 1200) : rng_below(&r, 200000);
        switch (rng_below(&r, 6)) {
        case 0:
            p[i] = calloc(1, n);
            break;
        case 1:
            p[i] = memalign((size_t)16 << rng_below(&r, 9), n);
            break;
        case 2:
            CHECK(posix_memalign((void **)&p[i], 64, n) == 0, "posix_memalign failed");
            break;
        case 3:
            p[i] = aligned_alloc(256, n);
            break;
        default:
            p[i] = malloc(n);
        }
        CHECK(p[i] != NULL, "allocation of %zu failed", n);
        CHECK(malloc_usable_size(p[i]) == n, "FT_MALLOC_CHECK: malloc_usable_size %zu for a block of %zu",
              malloc_usable_size(p[i]), n);
        memset(p[i], i, n);
        sz[i] = n;
        if (op % 20000 == 0)
            CHECK(ft_malloc_check() == 0, "ft_malloc_check() reports damage at op %ld", op);
    }
    CHECK(ft_malloc_check() == 0, "ft_malloc_check() reports damage after the workload");
    for (int i = 0; i < N; i++)
        free(p[i]);
    CHECK(ft_malloc_check() == 0, "ft_malloc_check() reports damage after freeing everything");
}

/* Under FT_MALLOC_CHECK the usable size is exactly the size asked (the canary follows). */
TEST(check_usable_size_exact)
{
    size_t sizes[] = {0, 1, 7, 8, 15, 16, 17, 31, 32, 100, 200, 247, 248, 255, 256, 257, 1000, 4095, 4096, 5000,
                      65536, FT_SMALL_MAX - 8, FT_SMALL_MAX, FT_SMALL_MAX + 1, 300000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        unsigned char *p = malloc(n);
        CHECK(p != NULL, "malloc(%zu) failed", n);
        CHECK(malloc_usable_size(p) == n, "malloc(%zu): malloc_usable_size %zu", n, malloc_usable_size(p));
        memset(p, 0xEE, n);
        unsigned char *q = calloc(1, n);
        CHECK(q != NULL && malloc_usable_size(q) == n, "calloc(1, %zu): usable %zu", n, malloc_usable_size(q));
        unsigned char *a = memalign(64, n);
        CHECK(a != NULL && malloc_usable_size(a) == n, "memalign(64, %zu): usable %zu", n, malloc_usable_size(a));
        memset(a, 0xEF, n);
        CHECK(ft_malloc_check() == 0, "ft_malloc_check() after writing every usable byte");
        p = realloc(p, n + 3);
        CHECK(p != NULL && malloc_usable_size(p) == n + 3, "realloc to %zu: usable %zu", n + 3,
              malloc_usable_size(p));
        p = realloc(p, n / 2 + 1);
        CHECK(p != NULL && malloc_usable_size(p) == n / 2 + 1, "realloc to %zu: usable %zu", n / 2 + 1,
              malloc_usable_size(p));
        free(p);
        free(q);
        free(a);
    }
}

/* All three modes at once, from several threads. */
static void *mixed_worker(void *arg)
{
    rng_t r;
    rng_seed(&r, (uint64_t)(uintptr_t)arg);
    unsigned char *p[64] = {0};
    size_t sz[64] = {0};
    for (int op = 0; op < 20000; op++) {
        int i = (int)rng_below(&r, 64);
        if (p[i]) {
            CHECK(sz[i] == 0 || (p[i][0] == (unsigned char)i && p[i][sz[i] - 1] == (unsigned char)i), "corrupted");
            free(p[i]);
            p[i] = NULL;
        } else {
            size_t n = rng_below(&r, 100) ? rng_below(&r, 2000) : FT_SMALL_MAX + rng_below(&r, 100000);
            p[i] = malloc(n);
            CHECK(p[i] != NULL, "malloc failed");
            for (size_t b = 0; b < n; b++)
                CHECK(p[i][b] == 0xAA, "FT_MALLOC_SCRIBBLE: new block byte %zu is %#x", b, p[i][b]);
            CHECK(malloc_usable_size(p[i]) == n, "FT_MALLOC_CHECK: usable %zu != %zu", malloc_usable_size(p[i]), n);
            memset(p[i], i, n);
            sz[i] = n;
        }
    }
    for (int i = 0; i < 64; i++)
        free(p[i]);
    return NULL;
}

TEST(all_modes_threads)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, mixed_worker, (void *)(uintptr_t)(i + 1)) == 0, "pthread_create failed");
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK(ft_malloc_check() == 0, "ft_malloc_check() reports damage");
}

static const test_case cases[] = {
    CASE(scribble_new_blocks),
    CASE(scribble_freed_tiny),
    CASE(scribble_freed_small),
    CASE(scribble_calloc_zero),
    CASE(guard_usable_bytes_writable),
    CASE(guard_overflow_malloc),
    CASE(guard_overflow_malloc_min_large),
    CASE(guard_overflow_calloc),
    CASE(guard_overflow_memalign_64),
    CASE(guard_overflow_memalign_4096),
    CASE(guard_overflow_memalign_8192),
    CASE(guard_overflow_memalign_65536),
    CASE(guard_overflow_memalign_1m),
    CASE(guard_overflow_posix_memalign),
    CASE(guard_overflow_aligned_alloc),
    CASE(guard_overflow_valloc),
    CASE(guard_overflow_realloc),
    CASE(check_overflow_free_tiny),
    CASE(check_overflow_free_small),
    CASE(check_overflow_free_large),
    CASE(check_overflow_realloc_tiny),
    CASE(check_overflow_realloc_small),
    CASE(check_overflow_realloc_large),
    CASE(check_overflow_warn_goes_on),
    CASE(check_function_finds_overflow),
    CASE(check_sound_after_workload),
    CASE(check_usable_size_exact),
    CASE(all_modes_threads),
};

RUN_CASES(cases)
