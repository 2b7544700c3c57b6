/*
 * Deterministic random workload with a shadow list of live blocks.
 * Checks: every block keeps its content (a pattern from its id over the whole usable area), is
 * aligned, has usable >= asked, calloc memory is zero, and no two live blocks overlap
 * ([p, p + usable) disjoint, checked on a sorted copy at checkpoints).
 */
#include "common.h"

typedef struct {
    unsigned char *p;
    size_t size;
    size_t usable;
    size_t align;
    uint64_t id;
} blk;

#define MAXLIVE 6000

static blk live[MAXLIVE];
static blk sorted[MAXLIVE];
static int nlive;
static uint64_t next_id;
static rng_t rng;

typedef struct {
    unsigned large_per_mille; /* chance of a LARGE size */
    unsigned mid_per_mille;   /* chance of 4 KiB .. FT_SMALL_MAX */
    size_t large_max;
} size_mix;

static size_t draw_size(const size_mix *mx)
{
    uint64_t k = rng_below(&rng, 1000);
    if (k < mx->large_per_mille)
        return FT_SMALL_MAX + 1 + rng_below(&rng, mx->large_max - FT_SMALL_MAX);
    k -= mx->large_per_mille;
    if (k < mx->mid_per_mille)
        return 4097 + rng_below(&rng, FT_SMALL_MAX - 4096);
    if (rng_below(&rng, 100) < 62)
        return rng_below(&rng, FT_TINY_MAX + 1);
    return FT_TINY_MAX + 1 + rng_below(&rng, 4096 - FT_TINY_MAX);
}

static void verify(const blk *b, const char *when)
{
    size_t bad = pattern_check(b->p, b->usable, b->id);
    CHECK(bad == (size_t)-1, "%s: block id %llu at %p (size %zu, usable %zu) corrupted at offset %zu", when,
          (unsigned long long)b->id, (void *)b->p, b->size, b->usable, bad);
}

static void adopt(unsigned char *p, size_t size, size_t align, uint64_t id, const char *what)
{
    CHECK(p != NULL, "%s(%zu) returned NULL", what, size);
    CHECK((uintptr_t)p % FT_ALIGN == 0, "%s(%zu) = %p not 16-aligned", what, size, (void *)p);
    if (align)
        CHECK((uintptr_t)p % align == 0, "%s(%zu, align %zu) = %p misaligned", what, size, align, (void *)p);
    size_t u = malloc_usable_size(p);
    CHECK(u >= size, "%s(%zu): usable %zu", what, size, u);
    blk *b = &live[nlive++];
    b->p = p;
    b->size = size;
    b->usable = u;
    b->align = align;
    b->id = id;
    pattern_fill(p, u, id);
}

static int cmp_blk(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const blk *)a)->p, y = (uintptr_t)((const blk *)b)->p;
    return x < y ? -1 : x > y;
}

static void checkpoint(long op)
{
#if HAVE_FT
    /* The heap's own view: headers, bitmaps, counts (and canaries under FT_MALLOC_CHECK). */
    CHECK(ft_malloc_check() == 0, "op %ld: ft_malloc_check() reports damage", op);
#endif
    memcpy(sorted, live, sizeof(blk) * (size_t)nlive);
    qsort(sorted, (size_t)nlive, sizeof(blk), cmp_blk);
    for (int i = 0; i + 1 < nlive; i++)
        CHECK((uintptr_t)sorted[i].p + sorted[i].usable <= (uintptr_t)sorted[i + 1].p,
              "op %ld: blocks overlap: [%p, +%zu) and %p", op, (void *)sorted[i].p, sorted[i].usable,
              (void *)sorted[i + 1].p);
    for (int i = 0; i < nlive; i++) {
        CHECK(malloc_usable_size(live[i].p) == live[i].usable, "op %ld: usable size of %p changed", op,
              (void *)live[i].p);
        verify(&live[i], "checkpoint");
    }
}

static void drop(int i)
{
    live[i] = live[--nlive];
}

static void workload(uint64_t seed, long ops, int lo_live, int hi_live, const size_mix *mx)
{
    rng_seed(&rng, seed);
    nlive = 0;
    next_id = seed << 40;
    int target = hi_live;
    for (long op = 0; op < ops; op++) {
        if (op % 50000 == 0)
            target = target == hi_live ? lo_live : hi_live;
        int grow = nlive < target;
        uint64_t k = rng_below(&rng, 100);
        if (nlive == 0 || (grow && k < 55) || (!grow && k < 20)) {
            /* allocate */
            if (nlive >= MAXLIVE)
                continue;
            size_t s = draw_size(mx);
            uint64_t how = rng_below(&rng, 20);
            if (how < 13) {
                adopt(malloc(s), s, 0, next_id++, "malloc");
            } else if (how < 16) {
                size_t n = 1 + rng_below(&rng, 8);
                size_t each = s / n;
                unsigned char *p = calloc(n, each);
                CHECK(p != NULL, "calloc(%zu, %zu) returned NULL", n, each);
                for (size_t b = 0; b < n * each; b++)
                    CHECK(p[b] == 0, "calloc(%zu, %zu): byte %zu is %#x", n, each, b, p[b]);
                adopt(p, n * each, 0, next_id++, "calloc");
            } else if (how < 17) {
                adopt(realloc(NULL, s), s, 0, next_id++, "realloc(NULL)");
            } else {
                size_t a = (size_t)16 << rng_below(&rng, rng_below(&rng, 50) ? 9 : 13);
                void *p = NULL;
                if (how == 17) {
                    p = memalign(a, s);
                } else if (how == 18) {
                    CHECK(posix_memalign(&p, a, s) == 0, "posix_memalign(%zu, %zu) failed", a, s);
                } else {
                    p = aligned_alloc(a, s);
                }
                adopt(p, s, a, next_id++, "aligned");
            }
        } else if (k < 75) {
            /* free */
            int i = (int)rng_below(&rng, (uint64_t)nlive);
            verify(&live[i], "before free");
            if (rng_below(&rng, 10) == 0)
                free_sized(live[i].p, live[i].size);
            else
                free(live[i].p);
            drop(i);
        } else {
            /* realloc */
            int i = (int)rng_below(&rng, (uint64_t)nlive);
            blk b = live[i];
            verify(&b, "before realloc");
            if (rng_below(&rng, 200) == 0) {
                CHECK(realloc(b.p, 0) == NULL, "realloc(p, 0) returned non-NULL");
                drop(i);
                continue;
            }
            size_t s;
            uint64_t how = rng_below(&rng, 4);
            if (how == 0)
                s = b.size + rng_below(&rng, 64);
            else if (how == 1)
                s = b.size - rng_below(&rng, b.size / 4 + 1);
            else
                s = draw_size(mx);
            if (s == 0)
                s = 1; /* realloc(p, 0) frees: covered above */
            unsigned char *q = realloc(b.p, s);
            CHECK(q != NULL, "realloc(%p, %zu) returned NULL", (void *)b.p, s);
            size_t keep = b.size < s ? b.size : s;
            size_t bad = pattern_check(q, keep, b.id);
            CHECK(bad == (size_t)-1, "realloc %zu -> %zu (id %llu) lost byte %zu", b.size, s,
                  (unsigned long long)b.id, bad);
            drop(i);
            adopt(q, s, 0, b.id, "realloc");
        }
        if (op % 20000 == 19999)
            checkpoint(op);
    }
    checkpoint(ops);
    while (nlive > 0) {
        verify(&live[nlive - 1], "final");
        free(live[nlive - 1].p);
        nlive--;
    }
}

static const size_mix mix_all = {8, 80, 1 << 20};
static const size_mix mix_small = {0, 30, 0};

/* run_tests.py --long multiplies the number of operations (FT_TEST_SCALE). */
TEST(seed1) { workload(1, 300000 * test_scale(), 1000, 5000, &mix_all); }
TEST(seed2) { workload(2, 300000 * test_scale(), 1000, 5000, &mix_all); }
TEST(seed3) { workload(3, 300000 * test_scale(), 500, 3000, &mix_all); }
TEST(small_only) { workload(4, 400000 * test_scale(), 2000, 6000, &mix_small); }

static const test_case cases[] = {
    CASE(seed1),
    CASE(seed2),
    CASE(seed3),
    CASE(small_only),
};

RUN_CASES(cases)
