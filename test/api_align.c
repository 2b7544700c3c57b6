/* The api program's aligned allocations: posix_memalign, aligned_alloc, memalign, valloc, pvalloc,
 * and free_sized / free_aligned_sized. The case table is in test/api.c. */
#include "api.h"

TEST_EXTERN(posix_memalign_einval)
{
    size_t bad[] = {0, 1, 2, 3, 4, 5, 6, 7, 12, 24, 48, 96, 100, 4095, 4097, 3 << 12, SIZE_MAX, (size_t)1 << 63 | 8};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *p = (void *)0x1234;
        int r = posix_memalign(&p, launder_size(bad[i]), 64);
        CHECK(r == EINVAL, "posix_memalign(alignment %#zx) returned %d, not EINVAL", bad[i], r);
        CHECK(p == (void *)0x1234, "posix_memalign(alignment %#zx) failed but changed *memptr", bad[i]);
    }
    void *p = NULL;
    int r = posix_memalign(&p, sizeof(void *), 100);
    CHECK(r == 0 && p != NULL, "posix_memalign(sizeof(void*), 100) failed: %d", r);
    free(p);
}

/* Every power-of-two alignment up to 2^63 with a size that cannot be had: NULL (or ENOMEM from
 * posix_memalign) and errno ENOMEM, as glibc, whose own tests read errno after posix_memalign. */
TEST_EXTERN(posix_memalign_enomem)
{
    size_t huge[] = {SIZE_MAX, SIZE_MAX - 4096, (size_t)PTRDIFF_MAX + 1, (size_t)PTRDIFF_MAX, (size_t)1 << 62};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++)
        for (unsigned shift = 0; shift < 64; shift++) {
            size_t a = (size_t)1 << shift;
            if (a >= sizeof(void *)) {
                void *p = (void *)0x1234;
                errno = 0;
                int r = posix_memalign(&p, launder_size(a), launder_size(huge[i]));
                CHECK(r == ENOMEM, "posix_memalign(2^%u, %#zx) returned %d, not ENOMEM", shift, huge[i], r);
                CHECK(errno == ENOMEM, "posix_memalign(2^%u, %#zx) failed but errno is %d, not ENOMEM", shift,
                      huge[i], errno);
                CHECK(p == (void *)0x1234, "posix_memalign(2^%u, %#zx) failed but changed *memptr", shift, huge[i]);
            }
            errno = 0;
            void *q = aligned_alloc(launder_size(a), launder_size(huge[i]));
            CHECK(q == NULL && errno == ENOMEM, "aligned_alloc(2^%u, %#zx): %p, errno %d, not NULL and ENOMEM",
                  shift, huge[i], q, errno);
            errno = 0;
            q = memalign(launder_size(a), launder_size(huge[i]));
            CHECK(q == NULL && errno == ENOMEM, "memalign(2^%u, %#zx): %p, errno %d, not NULL and ENOMEM", shift,
                  huge[i], q, errno);
        }
}

/* posix_memalign that succeeds leaves errno alone. */
TEST_EXTERN(posix_memalign_keeps_errno)
{
    void *p = NULL;
    errno = 4321;
    CHECK(posix_memalign(&p, 64, 100) == 0 && p, "posix_memalign(64, 100) failed");
    CHECK(errno == 4321, "a successful posix_memalign changed errno to %d", errno);
    free(p);
}

static void check_aligned(void *p, size_t a, size_t s, const char *what)
{
    CHECK(p != NULL, "%s(%zu, %zu) returned NULL", what, a, s);
    CHECK((uintptr_t)p % a == 0, "%s(%zu, %zu) = %p is not aligned", what, a, s, p);
    CHECK((uintptr_t)p % FT_ALIGN == 0, "%s(%zu, %zu) = %p is not 16-aligned", what, a, s, p);
    size_t u = malloc_usable_size(p);
    CHECK(u >= s, "%s(%zu, %zu): usable %zu < size", what, a, s, u);
    memset(p, 0xA5, u);
}

TEST_EXTERN(aligned_all_alignments)
{
    for (size_t a = 1; a <= (2u << 20); a *= 2) {
        size_t sizes[] = {0, 1, 100, 256, 257, a, a + a / 2, 5000, 140000};
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            size_t s = sizes[k];
            void *held[3];
            if (a >= sizeof(void *)) {
                void *p = NULL;
                int r = posix_memalign(&p, a, s);
                CHECK(r == 0, "posix_memalign(%zu, %zu) returned %d", a, s, r);
                check_aligned(p, a, s, "posix_memalign");
                held[0] = p;
            } else {
                held[0] = NULL;
            }
            held[1] = aligned_alloc(a, s);
            check_aligned(held[1], a, s, "aligned_alloc");
            held[2] = memalign(a, s);
            check_aligned(held[2], a, s, "memalign");
            for (int h = 0; h < 3; h++)
                free(held[h]);
        }
    }
}

TEST_EXTERN(aligned_many_live)
{
    /* Many aligned blocks live at once: no overlap, every one aligned. */
    enum { N = 600 };
    static void *p[N];
    static size_t sz[N];
    rng_t r;
    rng_seed(&r, 5);
    for (int i = 0; i < N; i++) {
        size_t a = (size_t)16 << rng_below(&r, 10);
        sz[i] = rng_below(&r, 3) == 0 ? rng_below(&r, 300000) : rng_below(&r, 3000);
        p[i] = memalign(a, sz[i]);
        check_aligned(p[i], a, sz[i], "memalign");
        pattern_fill(p[i], sz[i], i);
    }
    for (int i = 0; i < N; i++)
        CHECK(pattern_check(p[i], sz[i], i) == (size_t)-1, "aligned block %d corrupted", i);
    for (int i = 0; i < N; i++)
        free(p[i]);
}

TEST_EXTERN(aligned_alloc_non_power_of_two)
{
#if HAVE_FT
    size_t bad[] = {0, 3, 24, 48, 100, 4097, 12288};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        void *p = aligned_alloc(launder_size(bad[i]), 64);
        CHECK(p == NULL, "aligned_alloc(%zu, 64) succeeded (glibc 2.38 fails with EINVAL)", bad[i]);
        CHECK(errno == EINVAL, "aligned_alloc(%zu, 64): errno %d, not EINVAL", bad[i], errno);
    }
#endif
}

TEST_EXTERN(memalign_non_power_of_two)
{
    struct { size_t asked, rounded; } c[] = {{3, 4}, {24, 32}, {48, 64}, {100, 128}, {1000, 1024}, {4097, 8192},
                                             {12288, 16384}, {65537, 131072}};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        void *p = memalign(launder_size(c[i].asked), 300);
        CHECK(p != NULL, "memalign(%zu, 300) returned NULL", c[i].asked);
        CHECK((uintptr_t)p % c[i].rounded == 0, "memalign(%zu, 300) = %p not aligned to %zu", c[i].asked, p,
              c[i].rounded);
        memset(p, 1, 300);
        free(p);
    }
}

TEST_EXTERN(memalign_small_alignments)
{
    /* memalign accepts alignments below 16 (and 0): the result is still 16-aligned. */
    size_t al[] = {0, 1, 2, 4, 8};
    for (size_t i = 0; i < sizeof al / sizeof al[0]; i++) {
        void *p = memalign(launder_size(al[i]), 100);
        check_aligned(p, al[i] ? al[i] : 1, 100, "memalign");
        free(p);
    }
}

TEST_EXTERN(aligned_huge_alignments)
{
    for (size_t a = 4u << 20; a <= (64u << 20); a *= 2) {
        size_t sizes[] = {1, 100, 5000, 300000, a + 1};
        for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
            void *p = memalign(a, sizes[k]);
            check_aligned(p, a, sizes[k], "memalign");
            free(p);
            p = NULL;
            CHECK(posix_memalign(&p, a, sizes[k]) == 0, "posix_memalign(%zu, %zu) failed", a, sizes[k]);
            check_aligned(p, a, sizes[k], "posix_memalign");
            free(p);
        }
    }
    /* An alignment so large that size + alignment cannot be mapped. */
    void *p = (void *)0x1234;
    int r = posix_memalign(&p, (size_t)1 << 62, 16);
    CHECK(r == ENOMEM, "posix_memalign(1 << 62, 16) returned %d, not ENOMEM", r);
    errno = 0;
    p = memalign(launder_size((size_t)1 << 62), 16);
    CHECK(p == NULL && errno == ENOMEM, "memalign(1 << 62, 16): %p, errno %d", p, errno);
    errno = 0;
    p = aligned_alloc(launder_size((size_t)1 << 63), 16);
    CHECK(p == NULL && errno == ENOMEM, "aligned_alloc(1 << 63, 16): %p, errno %d", p, errno);
    errno = 0;
    p = memalign(launder_size((size_t)1 << 63), 16);
    CHECK(p == NULL && errno == ENOMEM, "memalign(1 << 63, 16): %p, errno %d, not ENOMEM", p, errno);
}

TEST_EXTERN(realloc_aligned_blocks)
{
    /* Blocks from the aligned allocators can be reallocated and freed like any other. */
    size_t al[] = {16, 64, 256, 4096, 65536, 1u << 21};
    size_t sizes[] = {1, 100, 300, 5000, 140000, 1u << 20};
    size_t n = sizeof sizes / sizeof sizes[0];
    for (size_t i = 0; i < sizeof al / sizeof al[0]; i++)
        for (size_t a = 0; a < n; a++)
            for (size_t b = 0; b < n; b++) {
                void *p = memalign(al[i], sizes[a]);
                check_aligned(p, al[i], sizes[a], "memalign");
                pattern_fill(p, sizes[a], i * 100 + a * 10 + b);
                void *q = realloc(p, sizes[b]);
                check_block(q, sizes[b], "realloc");
                size_t keep = sizes[a] < sizes[b] ? sizes[a] : sizes[b];
                size_t bad = pattern_check(q, keep, i * 100 + a * 10 + b);
                CHECK(bad == (size_t)-1, "realloc of memalign(%zu, %zu) to %zu lost byte %zu", al[i], sizes[a],
                      sizes[b], bad);
                memset(q, 0, malloc_usable_size(q));
                free(q);
            }
}

TEST_EXTERN(valloc_pvalloc)
{
    size_t sizes[] = {0, 1, 100, 4095, 4096, 4097, 10000, 200000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t s = sizes[i];
        void *v = valloc(s);
        CHECK(v != NULL, "valloc(%zu) returned NULL", s);
        CHECK((uintptr_t)v % (uintptr_t)page == 0, "valloc(%zu) = %p not page aligned", s, v);
        CHECK(malloc_usable_size(v) >= s, "valloc(%zu): usable too small", s);
        memset(v, 3, malloc_usable_size(v));
        void *pv = pvalloc(s);
        CHECK(pv != NULL, "pvalloc(%zu) returned NULL", s);
        CHECK((uintptr_t)pv % (uintptr_t)page == 0, "pvalloc(%zu) = %p not page aligned", s, pv);
        size_t u = malloc_usable_size(pv);
        size_t want = s ? (s + (size_t)page - 1) / (size_t)page * (size_t)page : (size_t)page;
        CHECK(u >= want, "pvalloc(%zu): usable %zu < %zu", s, u, want);
        CHECK(u % (size_t)page == 0, "pvalloc(%zu): usable %zu not a multiple of the page size", s, u);
        memset(pv, 4, u);
        free(v);
        free(pv);
    }
    errno = 0;
    void *p = pvalloc(launder_size(SIZE_MAX - 10));
    CHECK(p == NULL && errno == ENOMEM, "pvalloc(SIZE_MAX - 10) did not fail with ENOMEM");
    errno = 0;
    p = valloc(launder_size(SIZE_MAX - 10));
    CHECK(p == NULL && errno == ENOMEM, "valloc(SIZE_MAX - 10) did not fail with ENOMEM");
}

TEST_EXTERN(free_sized)
{
    size_t sizes[] = {0, 1, SZ_TINY, 256, SZ_SMALL, FT_SMALL_MAX, SZ_LARGE, 3 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = malloc(sizes[i]);
        check_block(p, sizes[i], "malloc");
        errno = 55;
        free_sized(p, sizes[i]);
        CHECK(errno == 55, "free_sized changed errno");
#if HAVE_FT
        CHECK(!dump_has_start(dump_plain(), p), "free_sized(p, %zu) did not free p", sizes[i]);
#endif
        void *q = aligned_alloc(256, sizes[i]);
        check_aligned(q, 256, sizes[i], "aligned_alloc");
        free_aligned_sized(q, 256, sizes[i]);
#if HAVE_FT
        CHECK(!dump_has_start(dump_plain(), q), "free_aligned_sized(q, 256, %zu) did not free q", sizes[i]);
#endif
    }
}
