/* The malloc API with glibc semantics: each case checks one function or one rule. */
#include "common.h"

#include <stdint.h>

extern void cfree(void *ptr);
extern void *__libc_malloc(size_t size);
extern void __libc_free(void *ptr);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

static long page;

/* Sizes spread over every category, including class edges. */
static const size_t some_sizes[] = {
    0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 100, 128, 200, 255, 256, 257, 300, 319, 320, 321,
    500, 512, 513, 1000, 1024, 1025, 2000, 4095, 4096, 4097, 10000, 16384, 50000, 65536,
    100000, 131071, 131072, 131073, 140000, 200000, 262144, 1000000, 3 << 20,
};
#define N_SIZES (sizeof some_sizes / sizeof some_sizes[0])

static void check_block(void *p, size_t size, const char *what)
{
    CHECK(p != NULL, "%s(%zu) returned NULL", what, size);
    CHECK((uintptr_t)p % FT_ALIGN == 0, "%s(%zu) = %p not aligned to %d", what, size, p, FT_ALIGN);
    size_t u = malloc_usable_size(p);
    CHECK(u >= size, "%s(%zu): malloc_usable_size = %zu < size", what, size, u);
}

TEST(malloc_zero)
{
    void *p = launder(malloc(0));
    void *q = launder(malloc(0));
    check_block(p, 0, "malloc");
    check_block(q, 0, "malloc");
    CHECK(p != q, "two malloc(0) returned the same pointer %p", p);
    void *r[64];
    for (int i = 0; i < 64; i++) {
        r[i] = launder(malloc(0));
        check_block(r[i], 0, "malloc");
        for (int j = 0; j < i; j++)
            CHECK(r[i] != r[j], "malloc(0) returned %p twice", r[i]);
        CHECK(r[i] != p && r[i] != q, "malloc(0) returned %p twice", r[i]);
    }
    for (int i = 0; i < 64; i++)
        free(r[i]);
    free(p);
    free(q);
}

TEST(free_null)
{
    errno = 4242;
    free(NULL);
    CHECK(errno == 4242, "free(NULL) changed errno to %d", errno);
    free_sized(NULL, 0);
    CHECK(errno == 4242, "free_sized(NULL) changed errno to %d", errno);
}

TEST(alignment_all_sizes)
{
    static void *ptrs[5000];
    for (size_t s = 0; s < 5000; s++) {
        ptrs[s] = malloc(s);
        check_block(ptrs[s], s, "malloc");
    }
    for (size_t s = 5000; s-- > 0;)
        free(ptrs[s]);
    for (size_t i = 0; i < N_SIZES; i++) {
        void *p = malloc(some_sizes[i]);
        check_block(p, some_sizes[i], "malloc");
        free(p);
    }
}

TEST(usable_size_writable)
{
    /* Fill the whole usable area of many neighbours: none may overlap another's. */
    enum { N = 3 };
    void *ptrs[N_SIZES][N];
    size_t us[N_SIZES][N];
    for (size_t i = 0; i < N_SIZES; i++)
        for (int k = 0; k < N; k++) {
            ptrs[i][k] = malloc(some_sizes[i]);
            check_block(ptrs[i][k], some_sizes[i], "malloc");
            us[i][k] = malloc_usable_size(ptrs[i][k]);
            pattern_fill(ptrs[i][k], us[i][k], i * N + k);
        }
    for (size_t i = 0; i < N_SIZES; i++)
        for (int k = 0; k < N; k++) {
            size_t bad = pattern_check(ptrs[i][k], us[i][k], i * N + k);
            CHECK(bad == (size_t)-1, "block of %zu (usable %zu) corrupted at offset %zu", some_sizes[i],
                  us[i][k], bad);
            CHECK(malloc_usable_size(ptrs[i][k]) == us[i][k], "usable size of a block changed");
        }
    for (size_t i = 0; i < N_SIZES; i++)
        for (int k = 0; k < N; k++)
            free(ptrs[i][k]);
    CHECK(malloc_usable_size(NULL) == 0, "malloc_usable_size(NULL) = %zu", malloc_usable_size(NULL));
}

TEST(malloc_huge_enomem)
{
    size_t huge[] = {SIZE_MAX, SIZE_MAX - 4096, SIZE_MAX - 15, (size_t)PTRDIFF_MAX + 1, (size_t)PTRDIFF_MAX,
                     (size_t)PTRDIFF_MAX - 4096, (size_t)1 << 62, (size_t)1 << 56};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        errno = 0;
        void *p = malloc(launder_size(huge[i]));
        CHECK(p == NULL, "malloc(%#zx) succeeded", huge[i]);
        CHECK(errno == ENOMEM, "malloc(%#zx): errno %d, not ENOMEM", huge[i], errno);
    }
    /* Still works afterwards. */
    void *p = malloc(100);
    check_block(p, 100, "malloc");
    free(p);
}

TEST(free_keeps_errno)
{
    for (size_t i = 0; i < N_SIZES; i++) {
        void *p = malloc(some_sizes[i]);
        check_block(p, some_sizes[i], "malloc");
        errno = 777;
        free(p);
        CHECK(errno == 777, "free of a %zu-byte block changed errno to %d", some_sizes[i], errno);
    }
    /* Freeing enough blocks to release whole zones must not touch errno either. */
    static void *many[20000];
    for (int i = 0; i < 20000; i++)
        many[i] = malloc(i % 2 ? 48 : 2000);
    errno = 778;
    for (int i = 0; i < 20000; i++)
        free(many[i]);
    CHECK(errno == 778, "freeing many blocks changed errno to %d", errno);
}

TEST(calloc_basic)
{
    for (size_t i = 0; i < N_SIZES; i++) {
        size_t s = some_sizes[i];
        unsigned char *p = calloc(1, s);
        check_block(p, s, "calloc");
        for (size_t k = 0; k < s; k++)
            CHECK(p[k] == 0, "calloc(1, %zu): byte %zu is %#x", s, k, p[k]);
        free(p);
        p = calloc(s, 3);
        check_block(p, s * 3, "calloc(n,3)");
        for (size_t k = 0; k < s * 3; k++)
            CHECK(p[k] == 0, "calloc(%zu, 3): byte %zu is %#x", s, k, p[k]);
        free(p);
    }
    void *z1 = calloc(0, 5), *z2 = calloc(5, 0), *z3 = calloc(0, 0);
    CHECK(z1 && z2 && z3, "calloc with a zero count or size returned NULL");
    free(z1);
    free(z2);
    free(z3);
}

TEST(calloc_overflow)
{
    struct { size_t n, s; } cases[] = {
        {SIZE_MAX / 2 + 1, 2}, {2, SIZE_MAX / 2 + 1}, {(size_t)1 << 32, (size_t)1 << 32},
        {SIZE_MAX, SIZE_MAX}, {SIZE_MAX, 1}, {1, SIZE_MAX}, {((size_t)1 << 62) + 1, 4},
        {(size_t)PTRDIFF_MAX / 2 + 1, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        errno = 0;
        void *p = calloc(launder_size(cases[i].n), launder_size(cases[i].s));
        CHECK(p == NULL, "calloc(%#zx, %#zx) succeeded", cases[i].n, cases[i].s);
        CHECK(errno == ENOMEM, "calloc(%#zx, %#zx): errno %d, not ENOMEM", cases[i].n, cases[i].s, errno);
    }
}

TEST(calloc_reused_zero)
{
    /* A chunk dirtied then freed must come back zeroed from calloc. */
    for (size_t i = 0; i < N_SIZES; i++) {
        size_t s = some_sizes[i];
        int rounds = s > 1000000 ? 5 : 50;
        for (int r = 0; r < rounds; r++) {
            unsigned char *d[4];
            for (int k = 0; k < 4; k++) {
                d[k] = malloc(s);
                check_block(d[k], s, "malloc");
                memset(d[k], 0xFF, malloc_usable_size(d[k]));
            }
            for (int k = 0; k < 4; k++)
                free(d[k]);
            for (int k = 0; k < 4; k++) {
                d[k] = calloc(1, s);
                check_block(d[k], s, "calloc");
                for (size_t b = 0; b < s; b++)
                    CHECK(d[k][b] == 0, "calloc(1, %zu) after reuse: byte %zu is %#x", s, b, d[k][b]);
                memset(d[k], 0xFF, s);
            }
            for (int k = 0; k < 4; k++)
                free(d[k]);
        }
    }
}

TEST(realloc_null_is_malloc)
{
    for (size_t i = 0; i < N_SIZES; i++) {
        void *p = realloc(NULL, some_sizes[i]);
        check_block(p, some_sizes[i], "realloc(NULL)");
        memset(p, 0x5A, some_sizes[i]);
        free(p);
    }
}

TEST(realloc_zero_frees)
{
    size_t sizes[] = {0, SZ_TINY, SZ_SMALL, SZ_LARGE};
    for (size_t i = 0; i < 4; i++) {
        void *p = malloc(sizes[i]);
        check_block(p, sizes[i], "malloc");
        errno = 0;
        void *q = realloc(p, 0);
        CHECK(q == NULL, "realloc(p of %zu, 0) returned %p, not NULL", sizes[i], q);
#if HAVE_FT
        CHECK(!dump_has_start(dump_plain(), p), "realloc(p, 0) did not free p (still in show_alloc_mem)");
#endif
    }
}

TEST(realloc_fail_keeps_block)
{
    size_t sizes[] = {1, SZ_TINY, SZ_SMALL, 100000, SZ_LARGE, 1 << 20};
    size_t huge[] = {SIZE_MAX, (size_t)PTRDIFF_MAX + 1, SIZE_MAX - 100, (size_t)1 << 60};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (size_t h = 0; h < sizeof huge / sizeof huge[0]; h++) {
            void *p = malloc(sizes[i]);
            check_block(p, sizes[i], "malloc");
            pattern_fill(p, sizes[i], i);
            errno = 0;
            void *q = realloc(p, launder_size(huge[h]));
            CHECK(q == NULL, "realloc(p, %#zx) succeeded", huge[h]);
            CHECK(errno == ENOMEM, "realloc(p, %#zx): errno %d, not ENOMEM", huge[h], errno);
            CHECK(pattern_check(p, sizes[i], i) == (size_t)-1, "failed realloc damaged the block of %zu",
                  sizes[i]);
            CHECK(malloc_usable_size(p) >= sizes[i], "failed realloc shrank the block");
            void *r = realloc(p, sizes[i] * 2 + 1);
            CHECK(r != NULL, "realloc after a failed realloc returned NULL");
            CHECK(pattern_check(r, sizes[i], i) == (size_t)-1, "contents lost");
            free(r);
        }
}

TEST(realloc_keeps_contents)
{
    /* Every pair of representative sizes, in both directions. */
    static const size_t rs[] = {0, 1, 16, 17, 100, 256, 257, 1000, 4096, 20000, 131072, 131073, 300000, 2 << 20};
    size_t n = sizeof rs / sizeof rs[0];
    for (size_t a = 0; a < n; a++)
        for (size_t b = 0; b < n; b++) {
            void *p = malloc(rs[a]);
            check_block(p, rs[a], "malloc");
            pattern_fill(p, rs[a], a * 100 + b);
            void *q = realloc(p, rs[b]);
            if (rs[b] == 0) {
                CHECK(q == NULL, "realloc(p, 0) returned non-NULL");
                continue;
            }
            check_block(q, rs[b], "realloc");
            size_t keep = rs[a] < rs[b] ? rs[a] : rs[b];
            size_t bad = pattern_check(q, keep, a * 100 + b);
            CHECK(bad == (size_t)-1, "realloc %zu -> %zu lost byte %zu", rs[a], rs[b], bad);
            memset(q, 0x77, malloc_usable_size(q));
            free(q);
        }
    /* A chain through every category and back, with neighbours around. */
    static const size_t chain[] = {1, 16, 100, 256, 257, 1000, 131072, 131073, 1 << 20, 3 << 20, 200000,
                                   5000, 300, 20, 1, 500000, 8, 0};
    void *p = NULL;
    size_t prev = 0;
    for (size_t i = 0; i < sizeof chain / sizeof chain[0]; i++) {
        void *neighbour = malloc(chain[i]);
        void *q = realloc(p, chain[i]);
        if (chain[i] == 0) {
            CHECK(q == NULL, "realloc(p, 0) returned non-NULL");
            free(neighbour);
            break;
        }
        check_block(q, chain[i], "realloc");
        size_t keep = prev < chain[i] ? prev : chain[i];
        size_t bad = pattern_check(q, keep, 9999);
        CHECK(bad == (size_t)-1, "chain realloc %zu -> %zu lost byte %zu", prev, chain[i], bad);
        pattern_fill(q, chain[i], 9999);
        free(neighbour);
        p = q;
        prev = chain[i];
    }
}

TEST(realloc_in_place)
{
    static const size_t rs[] = {24, 100, 200, 1000, 5000, 100000, 200000, 1 << 20, 5 << 20};
    for (size_t i = 0; i < sizeof rs / sizeof rs[0]; i++) {
        size_t s = rs[i];
        void *p = launder(malloc(s));
        check_block(p, s, "malloc");
        pattern_fill(p, s, i);
        size_t u = malloc_usable_size(p);
        void *q = launder(realloc(p, u));
        CHECK(q == p, "realloc(p of %zu, usable %zu) moved the block", s, u);
        q = launder(realloc(p, s));
        CHECK(q == p, "realloc back to %zu moved the block", s);
        q = launder(realloc(p, s - 1));
        CHECK(q == p, "realloc(p of %zu, %zu) (shrinking a little) moved the block", s, s - 1);
        if (s > FT_SMALL_MAX) {
            q = launder(realloc(p, s - 100));
            CHECK(q == p, "realloc(p of %zu, %zu) (shrinking a LARGE block a little) moved it", s, s - 100);
        }
        CHECK(pattern_check(q, s - (s > FT_SMALL_MAX ? 100 : 1), i) == (size_t)-1, "contents lost");
        free(q);
    }
}

TEST(realloc_small_steps_move_rarely)
{
    /* A buffer grown a byte at a time (a string appended to): a block that has to move gets room
     * to grow, so it moves a logarithmic number of times, not at each of the ~50 size classes
     * between 1 B and 64 KiB (measured: 47 moves without the room, 18 with it, glibc 0). */
    unsigned char *p = launder(malloc(1));
    CHECK(p != NULL, "malloc(1) failed");
    p[0] = 0;
    int moves = 0;
    for (size_t n = 2; n <= 65536; n++) {
        unsigned char *q = launder(realloc(p, n));
        CHECK(q != NULL, "realloc to %zu failed", n);
        CHECK(q[(n - 1) / 2] == (unsigned char)((n - 1) / 2) && q[n - 2] == (unsigned char)(n - 2),
              "realloc to %zu lost the contents", n);
        if (q != p)
            moves++;
        p = q;
        p[n - 1] = (unsigned char)(n - 1);
        CHECK(malloc_usable_size(p) >= n, "usable size %zu < %zu", malloc_usable_size(p), n);
    }
    CHECK(moves <= 24, "growing a block from 1 B to 64 KiB a byte at a time moved it %d times", moves);
    free(p);
}

TEST(reallocarray)
{
    int *a = reallocarray(NULL, 10, sizeof(int));
    check_block(a, 10 * sizeof(int), "reallocarray");
    for (int i = 0; i < 10; i++)
        a[i] = i * 7;
    int *b = reallocarray(a, 100000, sizeof(int));
    check_block(b, 100000 * sizeof(int), "reallocarray");
    for (int i = 0; i < 10; i++)
        CHECK(b[i] == i * 7, "reallocarray lost element %d", i);
    errno = 0;
    int *c = reallocarray(b, launder_size(SIZE_MAX / 2 + 1), 2);
    CHECK(c == NULL, "reallocarray overflow succeeded");
    CHECK(errno == ENOMEM, "reallocarray overflow: errno %d, not ENOMEM", errno);
    errno = 0;
    c = reallocarray(b, launder_size((size_t)1 << 33), (size_t)1 << 33);
    CHECK(c == NULL && errno == ENOMEM, "reallocarray(2^33, 2^33) did not fail with ENOMEM");
    for (int i = 0; i < 10; i++)
        CHECK(b[i] == i * 7, "failed reallocarray damaged element %d", i);
    free(b);
}

TEST(posix_memalign_einval)
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
TEST(posix_memalign_enomem)
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
TEST(posix_memalign_keeps_errno)
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

TEST(aligned_all_alignments)
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

TEST(aligned_many_live)
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

TEST(aligned_alloc_non_power_of_two)
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

TEST(memalign_non_power_of_two)
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

TEST(memalign_small_alignments)
{
    /* memalign accepts alignments below 16 (and 0): the result is still 16-aligned. */
    size_t al[] = {0, 1, 2, 4, 8};
    for (size_t i = 0; i < sizeof al / sizeof al[0]; i++) {
        void *p = memalign(launder_size(al[i]), 100);
        check_aligned(p, al[i] ? al[i] : 1, 100, "memalign");
        free(p);
    }
}

TEST(aligned_huge_alignments)
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

TEST(realloc_aligned_blocks)
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

TEST(valloc_pvalloc)
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

TEST(free_sized)
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

TEST(cfree_and_libc_aliases)
{
#if HAVE_FT
    void *p = malloc(40);
    CHECK(p != NULL, "malloc failed");
    cfree(p);
    CHECK(!dump_has_start(dump_plain(), p), "cfree did not free the block");
#endif
    void *a = __libc_malloc(77);
    check_block(a, 77, "__libc_malloc");
#if HAVE_FT
    CHECK(dump_has_block(dump_plain(), a, 77), "__libc_malloc block %p not in show_alloc_mem", a);
#endif
    memset(a, 0xEE, 77);
    unsigned char *b = __libc_realloc(a, 5000);
    check_block(b, 5000, "__libc_realloc");
    for (int i = 0; i < 77; i++)
        CHECK(b[i] == 0xEE, "__libc_realloc lost byte %d", i);
    unsigned char *c = __libc_calloc(100, 3);
    check_block(c, 300, "__libc_calloc");
    for (int i = 0; i < 300; i++)
        CHECK(c[i] == 0, "__libc_calloc byte %d not zero", i);
    void *d = __libc_memalign(4096, 100);
    CHECK(d && (uintptr_t)d % 4096 == 0, "__libc_memalign(4096) = %p", d);
#if HAVE_FT
    const char *dump = dump_plain();
    CHECK(dump_has_block(dump, b, 5000), "__libc_realloc block not in show_alloc_mem");
    CHECK(dump_has_block(dump, c, 300), "__libc_calloc block not in show_alloc_mem");
    CHECK(dump_has_block(dump, d, 100), "__libc_memalign block not in show_alloc_mem");
#endif
    __libc_free(b);
    free(c);
    __libc_free(d);
    __libc_free(NULL);
#if HAVE_FT
    dump = dump_plain();
    CHECK(!dump_has_start(dump, b) && !dump_has_start(dump, d), "__libc_free did not free");
#endif
}

TEST(many_sizes_random_order)
{
    enum { N = 20000 };
    static void *p[N];
    static size_t sz[N];
    static int order[N];
    rng_t r;
    rng_seed(&r, 77);
    for (int i = 0; i < N; i++) {
        sz[i] = (size_t)i % 3000 + (i % 97 == 0 ? 200000 : 0);
        p[i] = malloc(sz[i]);
        check_block(p[i], sz[i], "malloc");
        pattern_fill(p[i], sz[i], i);
        order[i] = i;
    }
    for (int i = N - 1; i > 0; i--) {
        int j = (int)rng_below(&r, (uint64_t)i + 1);
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int k = 0; k < N; k++) {
        int i = order[k];
        CHECK(pattern_check(p[i], sz[i], i) == (size_t)-1, "block %d of %zu corrupted", i, sz[i]);
        free(p[i]);
    }
}

TEST(show_alloc_mem_no_malloc)
{
    /* show_alloc_mem and show_alloc_mem_ex must work with many blocks and leave the heap as it was. */
#if HAVE_FT
    void *p[300];
    for (int i = 0; i < 300; i++)
        p[i] = malloc((size_t)(i * 37) % 5000);
    const char *d = dump_plain();
    size_t len1 = strlen(d);
    CHECK(len1 > 0, "show_alloc_mem printed nothing");
    for (int i = 0; i < 300; i++)
        CHECK(dump_has_block(d, p[i], (size_t)(i * 37) % 5000), "block %d missing from the dump", i);
    const char *e = dump_ex();
    CHECK(strlen(e) > len1, "show_alloc_mem_ex printed less than show_alloc_mem");
    d = dump_plain();
    CHECK(strlen(d) == len1, "the dump changed after calling show_alloc_mem/show_alloc_mem_ex");
    for (int i = 0; i < 300; i++)
        free(p[i]);
#endif
}

static const test_case cases[] = {
    CASE(malloc_zero),
    CASE(free_null),
    CASE(alignment_all_sizes),
    CASE(usable_size_writable),
    CASE(malloc_huge_enomem),
    CASE(free_keeps_errno),
    CASE(posix_memalign_keeps_errno),
    CASE(calloc_basic),
    CASE(calloc_overflow),
    CASE(calloc_reused_zero),
    CASE(realloc_null_is_malloc),
    CASE(realloc_zero_frees),
    CASE(realloc_fail_keeps_block),
    CASE(realloc_small_steps_move_rarely),
    CASE(realloc_keeps_contents),
    CASE(realloc_in_place),
    CASE(reallocarray),
    CASE(posix_memalign_einval),
    CASE(posix_memalign_enomem),
    CASE(aligned_all_alignments),
    CASE(aligned_many_live),
    CASE(aligned_alloc_non_power_of_two),
    CASE(memalign_non_power_of_two),
    CASE(memalign_small_alignments),
    CASE(aligned_huge_alignments),
    CASE(realloc_aligned_blocks),
    CASE(valloc_pvalloc),
    CASE(free_sized),
    CASE(cfree_and_libc_aliases),
    CASE(many_sizes_random_order),
    CASE(show_alloc_mem_no_malloc),
};

int main(int argc, char **argv)
{
    page = sysconf(_SC_PAGESIZE);
    return run_case(cases, sizeof cases / sizeof cases[0], argc, argv);
}
