/*
 * Out of memory: every entry point under an exhausted address space (RLIMIT_AS), and mappings made
 * to fail one by one with the fault-injection build (make inject: ft_malloc_fail_maps()), in
 * test/faults_inject.c, the same program; the case table is here.
 *
 * test/tests.mk builds the program twice: `faults` against libft_malloc.a (the rlimit_* cases) and
 * `faults_inject` against build/inject/libft_malloc.a (the inject_* cases).
 */
#include "faults.h"

#include <sys/resource.h>

long vm_size_kb(void)
{
    read_file_raw("/proc/self/status");
    char *s = strstr(proc_buf, "VmSize:");
    CHECK(s != NULL, "no VmSize");
    return strtol(s + 7, NULL, 10);
}

/* ---- a block with a known content ---- */
void fill(void *p, size_t n, uint64_t id)
{
    pattern_fill(p, n, id);
}
void expect_intact(const void *p, size_t n, uint64_t id, const char *what)
{
    size_t bad = pattern_check(p, n, id);
    CHECK(bad == (size_t)-1, "%s: the block %p of %zu B lost its content at byte %zu", what, p, n, bad);
}

/* ================================================================================================
 * RLIMIT_AS
 * ================================================================================================ */

#define CAP (4u << 20)
static void **held;
static size_t nheld;

typedef enum { A_MALLOC, A_VALLOC } alloc_how;

/* Allocates blocks of `size` until the allocator says ENOMEM; returns how many it got. */
static size_t exhaust(size_t size, alloc_how how)
{
    size_t got = 0;
    for (;;) {
        CHECK(nheld < CAP, "no failure after %zu blocks", nheld);
        errno = 0;
        void *p = how == A_VALLOC ? valloc(size) : malloc(size);
        if (!p) {
            CHECK(errno == ENOMEM, "%s(%zu) failed with errno %d, not ENOMEM", how == A_VALLOC ? "valloc" : "malloc",
                  size, errno);
            return got;
        }
        *(volatile char *)p = 1;
        held[nheld++] = p;
        got++;
    }
}

static void set_as_limit(rlim_t bytes)
{
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_AS, &rl) == 0, "getrlimit");
    rl.rlim_cur = bytes;
    CHECK(setrlimit(RLIMIT_AS, &rl) == 0, "setrlimit: %s", strerror(errno));
}

static void lift_as_limit(void)
{
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_AS, &rl) == 0, "getrlimit");
    rl.rlim_cur = rl.rlim_max;
    CHECK(setrlimit(RLIMIT_AS, &rl) == 0, "setrlimit: %s", strerror(errno));
}

/* Each entry point with a size whose class (or LARGE mapping) cannot be had. */
static void every_entry_point_fails(unsigned char *b100, unsigned char *b1000, unsigned char *blarge)
{
    void *q;
    EXPECT_ENOMEM(malloc(MB), "malloc(1 MB)");
    EXPECT_ENOMEM(malloc(100), "malloc(100)");
    EXPECT_ENOMEM(malloc(1000), "malloc(1000)");
    EXPECT_ENOMEM(malloc(100000), "malloc(100000)");
    EXPECT_ENOMEM(calloc(1, 100), "calloc(1, 100)");
    EXPECT_ENOMEM(calloc(10, 100), "calloc(10, 100)");
    EXPECT_ENOMEM(calloc(MB, 1), "calloc(1 MB, 1)");
    EXPECT_ENOMEM(realloc(NULL, 100), "realloc(NULL, 100)");
    EXPECT_ENOMEM(realloc(NULL, MB), "realloc(NULL, 1 MB)");
    EXPECT_ENOMEM(realloc(b100, 1000), "realloc(100 B block, 1000)");
    expect_intact(b100, 100, 100, "failed realloc");
    EXPECT_ENOMEM(realloc(b100, MB), "realloc(100 B block, 1 MB)");
    expect_intact(b100, 100, 100, "failed realloc");
    EXPECT_ENOMEM(realloc(b1000, 100000), "realloc(1000 B block, 100000)");
    expect_intact(b1000, 1000, 1000, "failed realloc");
    EXPECT_ENOMEM(realloc(blarge, 8 * MB), "realloc(1 MB block, 8 MB)");
    expect_intact(blarge, MB, 1, "failed realloc of a LARGE block");
    EXPECT_ENOMEM(reallocarray(b100, 10, 100), "reallocarray(100 B block, 10, 100)");
    expect_intact(b100, 100, 100, "failed reallocarray");
    EXPECT_ENOMEM(reallocarray(NULL, 1024, 1024), "reallocarray(NULL, 1024, 1024)");
    EXPECT_ENOMEM(memalign(16, 100), "memalign(16, 100)");
    EXPECT_ENOMEM(memalign(4096, MB), "memalign(4096, 1 MB)");
    EXPECT_ENOMEM(memalign(MB, 100), "memalign(1 MB, 100)");
    q = (void *)0x1234;
    int r = posix_memalign(&q, 16, 100);
    CHECK(r == ENOMEM, "posix_memalign(16, 100) returned %d, not ENOMEM", r);
    CHECK(q == (void *)0x1234, "a failed posix_memalign changed *memptr");
    r = posix_memalign(&q, 65536, MB);
    CHECK(r == ENOMEM, "posix_memalign(65536, 1 MB) returned %d, not ENOMEM", r);
    CHECK(q == (void *)0x1234, "a failed posix_memalign changed *memptr");
    EXPECT_ENOMEM(aligned_alloc(16, 1000), "aligned_alloc(16, 1000)");
    EXPECT_ENOMEM(aligned_alloc(65536, MB), "aligned_alloc(65536, 1 MB)");
    EXPECT_ENOMEM(valloc(100), "valloc(100)");
    EXPECT_ENOMEM(valloc(MB), "valloc(1 MB)");
    EXPECT_ENOMEM(pvalloc(100), "pvalloc(100)");
    EXPECT_ENOMEM(pvalloc(MB), "pvalloc(1 MB)");
}

/* ... and each works again once memory is back. */
void every_entry_point_works(void)
{
    void *p[24];
    int n = 0;
    p[n++] = malloc(MB);
    p[n++] = malloc(100);
    p[n++] = malloc(1000);
    p[n++] = malloc(100000);
    p[n++] = calloc(1, 100);
    p[n++] = calloc(MB, 1);
    p[n++] = realloc(NULL, 100);
    p[n++] = realloc(NULL, MB);
    p[n++] = reallocarray(NULL, 1024, 1024);
    p[n++] = memalign(16, 100);
    p[n++] = memalign(4096, MB);
    p[n++] = memalign(MB, 100);
    CHECK(posix_memalign(&p[n++], 16, 100) == 0, "posix_memalign(16, 100) fails after memory came back");
    CHECK(posix_memalign(&p[n++], 65536, MB) == 0, "posix_memalign(65536, 1 MB) fails after memory came back");
    p[n++] = aligned_alloc(16, 1000);
    p[n++] = aligned_alloc(65536, MB);
    p[n++] = valloc(100);
    p[n++] = valloc(MB);
    p[n++] = pvalloc(100);
    p[n++] = pvalloc(MB);
    for (int i = 0; i < n; i++) {
        CHECK(p[i] != NULL, "entry point %d fails after memory came back", i);
        memset(p[i], 0x42, 100);
    }
    for (int i = 0; i < n; i++)
        free(p[i]);
}

static void rlimit_exhaust(int rounds)
{
    held = mmap(NULL, CAP * sizeof(void *), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(held != MAP_FAILED, "mmap failed");
    long start_kb = vm_size_kb();
    set_as_limit((rlim_t)(start_kb + 256 * 1024) * 1024);
    size_t first_large = 0;
    for (int round = 0; round < rounds; round++) {
        nheld = 0;
        /* Blocks the failing calls will work on, made while there is room. */
        unsigned char *b100 = malloc(100), *b1000 = malloc(1000), *blarge = malloc(MB);
        CHECK(b100 && b1000 && blarge, "the first allocations failed");
        fill(b100, 100, 100);
        fill(b1000, 1000, 1000);
        fill(blarge, MB, 1);
        /* Exhaust the address space from the largest blocks down to the smallest, so that in
         * the end no mapping of any size can be made and the classes used are full. */
        size_t large = exhaust(MB, A_MALLOC);
        CHECK(large > 100, "only %zu blocks of 1 MB under a 256 MB margin", large);
        if (round == 0)
            first_large = large;
        else
            CHECK(large * 10 >= first_large * 9, "round %d: %zu blocks of 1 MB fit, %zu in the first round (leak?)",
                  round, large, first_large);
        exhaust(100000, A_MALLOC);
        exhaust(1, A_VALLOC);
        exhaust(1000, A_MALLOC);
        exhaust(100, A_MALLOC);
        exhaust(16, A_MALLOC);
        /* What the allocator's exhaustion leaves (less than a zone) taken page by page, so that
         * no mapping of any size can be made: else a call needing one page (memalign(1 MB, 100)
         * at a hint that happens to be aligned) rightly succeeds. */
        static void *pages[4096];
        size_t npages = 0;
        while (npages < sizeof pages / sizeof pages[0]) {
            void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (m == MAP_FAILED)
                break;
            pages[npages++] = m;
        }
        CHECK(npages < sizeof pages / sizeof pages[0], "%zu pages could still be mapped", npages);
        every_entry_point_fails(b100, b1000, blarge);
        for (size_t i = 0; i < npages; i++)
            munmap(pages[i], 4096);
#if HAVE_FT
        CHECK(ft_malloc_check() == 0, "ft_malloc_check() reports damage under OOM");
#endif
        for (size_t i = 0; i < nheld; i++)
            free(held[i]);
        expect_intact(b100, 100, 100, "after OOM");
        expect_intact(b1000, 1000, 1000, "after OOM");
        expect_intact(blarge, MB, 1, "after OOM");
        free(b100);
        free(b1000);
        free(blarge);
        every_entry_point_works();
    }
    lift_as_limit();
    every_entry_point_works();
}

TEST(rlimit_every_entry_point) { rlimit_exhaust(2); }

/* Threads hitting the limit together: failures are clean, nothing crashes. */
static void *oom_worker(void *arg)
{
    uint64_t id = (uint64_t)(uintptr_t)arg;
    rng_t r;
    rng_seed(&r, id);
    static __thread void *mine[20000];
    size_t n = 0, failed = 0;
    for (int op = 0; op < 40000; op++) {
        size_t s = rng_below(&r, 4) ? rng_below(&r, 3000) : rng_below(&r, 2 * MB);
        errno = 0;
        void *p = rng_below(&r, 3) ? malloc(s) : calloc(1, s);
        if (!p) {
            CHECK(errno == ENOMEM, "allocation of %zu failed with errno %d", s, errno);
            failed++;
            if (n)
                free(mine[--n]); /* make room and go on */
            continue;
        }
        memset(p, (int)id, s);
        if (n < 20000)
            mine[n++] = p;
        else
            free(p);
    }
    for (size_t i = 0; i < n; i++)
        free(mine[i]);
    return (void *)failed;
}

TEST(rlimit_threads)
{
    set_as_limit((rlim_t)(vm_size_kb() + 160 * 1024) * 1024);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, oom_worker, (void *)(uintptr_t)(i + 1)) == 0, "pthread_create failed");
    size_t failed = 0;
    for (int i = 0; i < 4; i++) {
        void *f;
        pthread_join(t[i], &f);
        failed += (size_t)f;
    }
    CHECK(failed > 0, "no allocation failed: the limit was not reached (test broken?)");
#if HAVE_FT
    CHECK(ft_malloc_check() == 0, "ft_malloc_check() reports damage");
#endif
    lift_as_limit();
    every_entry_point_works();
}

/* What the heap keeps for reuse gives way when the address space runs out: a realloc chain to
 * 64 MiB leaves about 22 MB of reserve zones (the 64 KiB and 128 KiB classes'); under a limit
 * 8 MiB above what is mapped then, 16 MiB of new 8000 B blocks fit only if they go back. */
TEST(rlimit_kept_memory_given_back)
{
    char *p = NULL;
    for (size_t s = 1; s < (64u << 20); s += s / 4 + 1) {
        p = realloc(p, s);
        CHECK(p != NULL, "realloc(%zu) failed before any limit", s);
        p[s - 1] = 1;
    }
    free(p);
    set_as_limit((rlim_t)(vm_size_kb() + 8 * 1024) * 1024);
    enum { N = (16 << 20) / 8000 };
    static void *b[N];
    for (int i = 0; i < N; i++) {
        b[i] = malloc(8000);
        CHECK(b[i] != NULL, "malloc(8000) number %d failed under a limit 8 MiB above the mapped memory: what the "
              "heap kept for reuse did not go back", i);
        memset(b[i], i, 8000);
    }
    lift_as_limit();
    for (int i = 0; i < N; i++)
        free(b[i]);
}

static const test_case cases[] = {
    CASE(rlimit_every_entry_point),
    CASE(rlimit_threads),
    CASE(rlimit_kept_memory_given_back),
    CASE(inject_new_zone),
    CASE(inject_large_mapping),
    CASE(inject_large_table_growth),
    CASE(inject_registry_leaf),
    CASE(inject_realloc_mremap),
    CASE(inject_realloc_moving_pages),
    CASE(inject_gathering_refused),
    CASE(inject_realloc_mremap_copies),
    CASE(inject_refusal_then_retry),
    CASE(inject_thread_cache_mapping),
    CASE(inject_sweep),
};

RUN_CASES(cases)
