/* The malloc API with glibc semantics: each case checks one function or one rule. The aligned
 * allocations (posix_memalign, aligned_alloc, memalign, valloc, pvalloc) and free_sized are in
 * test/api_align.c, the same program; the case table is here. */
#include "api.h"

#include <linux/perf_event.h>
#include <sys/syscall.h>

extern void cfree(void *ptr);
extern void *__libc_malloc(size_t size);
extern void __libc_free(void *ptr);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

long page;

/* Sizes spread over every category, including class edges. */
static const size_t some_sizes[] = {
    0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 100, 128, 200, 255, 256, 257, 300, 319, 320, 321,
    500, 512, 513, 1000, 1024, 1025, 2000, 4095, 4096, 4097, 10000, 16384, 50000, 65536,
    100000, 131071, 131072, 131073, 140000, 200000, 262144, 1000000, 3 << 20,
};
#define N_SIZES (sizeof some_sizes / sizeof some_sizes[0])

void check_block(void *p, size_t size, const char *what)
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

/* A counter of the page faults this thread takes itself: the kernel's software event, which leaves
 * out the pages it faults in for a system call (getrusage's minor faults count both). -1 where
 * perf events are not allowed. */
static int open_fault_counter(void)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.type = PERF_TYPE_SOFTWARE;
    a.size = sizeof a;
    a.config = PERF_COUNT_SW_PAGE_FAULTS;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
}

static long long faults_so_far(int fd)
{
    long long n = 0;
    if (read(fd, &n, sizeof n) != (ssize_t)sizeof n)
        return -1;
    return n;
}

/* A block that moves to pages never written is copied into pages asked for in one system call
 * (MADV_POPULATE_WRITE), not faulted in one at a time by the copy (10 and 25 faults). */
TEST(realloc_move_prefaults)
{
    char *probe = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int populates = madvise(probe, page, 23 /* MADV_POPULATE_WRITE, Linux 5.14 */) == 0;
    munmap(probe, page);
    int counter = open_fault_counter();
    /* 40000 B (a 40 KiB chunk) to 100000 B: a chunk of the 128 KiB class, never used; 100000 B to
     * 1 MiB: a new LARGE mapping (the moves' blocks stay live, so none waits in the cache). The
     * fewest faults of three moves count: the kernel may fault a page in again now and then
     * (compaction on a busy machine: one move in thirty took a third fault). */
    static const size_t from[] = {40000, 100000}, to[] = {100000, 1 << 20};
    enum { MOVES = 4 };
    for (int k = 0; k < 2; k++) {
        char *q[MOVES];
        long long fewest = -1;
        for (int i = 0; i < MOVES; i++) {
            char *p = malloc(from[k]);
            CHECK(p != NULL, "malloc(%zu) returned NULL", from[k]);
            pattern_fill(p, from[k], 77 + i);
            long long before = counter >= 0 ? faults_so_far(counter) : 0;
            q[i] = realloc(p, to[k]);
            long long faults = counter >= 0 ? faults_so_far(counter) - before : 0;
            if (i > 0 && (fewest < 0 || faults < fewest))
                fewest = faults; /* the first move maps the zone or the mapping and runs the code */
            CHECK(q[i] != NULL && q[i] != p, "realloc(%zu -> %zu) did not move", from[k], to[k]);
            size_t bad = pattern_check(q[i], from[k], 77 + i);
            CHECK(bad == (size_t)-1, "realloc %zu -> %zu lost byte %zu", from[k], to[k], bad);
        }
        long copied_pages = (long)(from[k] / page);
        if (populates && counter >= 0)
            CHECK(fewest <= 2, "realloc %zu -> %zu: %lld page faults, the copy's %ld pages one by one",
                  from[k], to[k], fewest, copied_pages);
        else
            printf("no MADV_POPULATE_WRITE or no fault counter here: contents checked only\n");
        for (int i = 0; i < MOVES; i++)
            free(q[i]);
    }
    if (counter >= 0)
        close(counter);
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
     * between 1 B and 64 KiB (measured: 47 moves without the room, 18 with room for half as
     * much again, 12 with twice the chunk, 10 with four times from 4 KiB on; glibc 0). */
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
    CHECK(moves <= 11, "growing a block from 1 B to 64 KiB a byte at a time moved it %d times", moves);
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
    CASE(realloc_move_prefaults),
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
