/*
 * Run under valgrind, linked with a `make VALGRIND=1` build of libft_malloc.a (test/tests.mk makes
 * one in a copy of the repository, test/build/valgrind_repo): memcheck must see ft_malloc's blocks
 * as it sees glibc's: a leak is "definitely lost", a read of a freed block an "Invalid read", a
 * write past a block an "Invalid write", and a clean program clean.
 */
#include "common.h"

TEST(leak)
{
    char *p = malloc(100);
    char *q = malloc(5000);
    CHECK(p && q, "malloc failed");
    memset(p, 1, 100);
    memset(q, 2, 5000);
    /* Shows that the blocks are ft_malloc's (valgrind may put its own malloc in their place). */
    printf("PTR %p\n", (void *)p);
    fflush(stdout);
    show_alloc_mem();
    launder(p);
    launder(q);
    p = q = NULL;
}

TEST(use_after_free)
{
    char *p = malloc(32);
    char *keep = malloc(32);
    CHECK(p && keep, "malloc failed");
    memset(p, 1, 32);
    free(p);
    volatile char c = ((volatile char *)launder(p))[5];
    (void)c;
    free(keep);
}

/* A LARGE block whose mapping the cache keeps: memcheck still sees the read as use after free,
 * and the block that reuses the mapping is clean. */
TEST(use_after_free_large)
{
    char *p = malloc(1 << 20);
    CHECK(p != NULL, "malloc failed");
    memset(p, 1, 1 << 20);
    free(p);
    volatile char c = ((volatile char *)launder(p))[5000];
    (void)c;
    char *q = calloc(1, 1 << 20);
    CHECK(q != NULL, "calloc failed");
    CHECK(q[5000] == 0, "calloc gave a dirty byte");
    free(q);
}

TEST(overflow)
{
    char *p = malloc(30);
    CHECK(p != NULL, "malloc failed");
    memset(p, 1, 30);
    ((volatile char *)launder(p))[launder_size(30)] = 'x';
    free(p);
}

/* A few blocks of each kind, all freed (no zone written past what a reserve zone keeps). */
TEST(clean_basic)
{
    void *p[60];
    for (int i = 0; i < 60; i++) {
        size_t n = (size_t)i * 17 + (i % 20 == 0 ? 200000 : 0);
        p[i] = i % 3 == 0 ? calloc(1, n) : i % 3 == 1 ? memalign(64, n) : malloc(n);
        CHECK(p[i] != NULL, "allocation failed");
        memset(p[i], i, n);
    }
    for (int i = 0; i < 60; i++)
        free(p[i]);
    char *s = strdup("no leak here");
    free(s);
}

/* Every entry point, every kind of block, all freed: memcheck must report nothing. */
TEST(clean)
{
    enum { N = 500 };
    static char *p[N];
    rng_t r;
    rng_seed(&r, 3);
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < N; i++) {
            size_t n = rng_below(&r, 20) ? rng_below(&r, 3000) : 140000 + rng_below(&r, 100000);
            switch (i % 6) {
            case 0: p[i] = malloc(n); break;
            case 1: p[i] = calloc(1, n); break;
            case 2: p[i] = memalign(64, n); break;
            case 3: p[i] = aligned_alloc(4096, n); break;
            case 4: CHECK(posix_memalign((void **)&p[i], 256, n) == 0, "posix_memalign failed"); break;
            default: p[i] = realloc(NULL, n);
            }
            CHECK(p[i] != NULL, "allocation failed");
            memset(p[i], i, n);
        }
        for (int i = 0; i < N; i++)
            free(p[i]);
    }
    char *s = strdup("no leak here");
    free(s);
}

/* realloc of TINY and SMALL blocks to other classes (the content is copied): nothing to report. */
TEST(clean_realloc)
{
    for (size_t n = 1; n < 5000; n = n * 3 + 1) {
        char *p = malloc(n);
        CHECK(p != NULL, "malloc failed");
        memset(p, 1, n);
        char *q = realloc(p, n * 2 + 100);
        CHECK(q != NULL, "realloc failed");
        memset(q, 2, n * 2 + 100);
        q = realloc(q, n / 8 + 1);
        CHECK(q != NULL, "realloc failed");
        free(q);
    }
}

/* realloc of LARGE blocks: one shrunk in place (its tail pages unmapped: zones get mapped there),
 * one grown with mremap, then zones in use around them. Nothing to report. The zone blocks stay
 * allocated but reachable (only a few are freed), so that no zone empties: this case is about
 * LARGE blocks only. */
TEST(clean_realloc_large)
{
    char *p = malloc(400000);
    CHECK(p != NULL, "malloc failed");
    memset(p, 1, 400000);
    p = realloc(p, 150000);
    CHECK(p != NULL, "realloc failed");
    memset(p, 5, 150000);
    static void *z[2000];
    for (int i = 0; i < 2000; i++) {
        z[i] = malloc(3000);
        CHECK(z[i] != NULL, "malloc failed");
        memset(z[i], 2, 3000);
    }
    free(p);
    char *g = malloc(200000);
    CHECK(g != NULL, "malloc failed");
    memset(g, 3, 200000);
    g = realloc(g, 3000000);
    CHECK(g != NULL, "realloc failed");
    memset(g, 4, 3000000);
    for (int i = 0; i < 2000; i++) {
        z[2000 - 1 - i] = realloc(z[2000 - 1 - i], 3000); /* the allocator reads each zone's header */
        CHECK(z[2000 - 1 - i] != NULL, "realloc failed");
    }
    free(g);
    for (int i = 0; i < 2000; i += 100)
        free(z[i]);
}

static const test_case cases[] = {
    CASE(leak),
    CASE(use_after_free),
    CASE(use_after_free_large),
    CASE(overflow),
    CASE(clean_basic),
    CASE(clean),
    CASE(clean_realloc),
    CASE(clean_realloc_large),
};

RUN_CASES(cases)
