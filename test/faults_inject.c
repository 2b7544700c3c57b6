/* The faults program's fault injection: with the build of `make inject`, ft_malloc_fail_maps(skip,
 * count) makes the next mappings fail, one by one. The case table is in test/faults.c. */
#include "faults.h"

/* Only in the fault-injection build: the next `skip` mappings succeed, then `count` fail. */
void ft_malloc_fail_maps(unsigned long skip, unsigned long count) __attribute__((weak));

/* ================================================================================================
 * Fault injection: ft_malloc_fail_maps(skip, count)
 * ================================================================================================ */

static void need_inject(void)
{
    CHECK(ft_malloc_fail_maps != NULL, "ft_malloc_fail_maps missing: not linked with the fault-injection build");
}

static void fail_next(unsigned long skip, unsigned long count)
{
    ft_malloc_fail_maps(skip, count);
}

/* A count for fail_next: every mapping fails until fail_next(0, 0). An allocation refused once
 * tries again after the heap gave back what it keeps for reuse (malloc_trim's work): a refusal
 * that lasts fails the call; one that does not, the retry (inject_refusal_then_retry). */
#define REFUSED 1000000ul

static void warm_up(void)
{
    /* This thread's cache and the first zones exist: the next mapping is the one a test aims at. */
    void *p = malloc(20);
    free(p);
}

#if HAVE_FT
static void no_zone_of_class(size_t size)
{
    size_t cls = expected_class(size);
    CHECK(count_class_zones(dump_ex(), cls) == 0, "setup: a zone of class %zu exists already", cls);
}
#else
static void no_zone_of_class(size_t size) { (void)size; }
#endif

/* The first mapping of a zone of a class fails: each entry point fails cleanly, then works. */
TEST_EXTERN(inject_new_zone)
{
    need_inject();
    warm_up();
    unsigned char *small = malloc(100);
    CHECK(small != NULL, "malloc failed");
    fill(small, 100, 7);
    /* Each call lands in a class that has no zone yet (checked first). */
    struct {
        const char *what;
        size_t cls_size;
    } steps[] = {{"malloc(2000)", 2000},         {"calloc(1, 2500)", 2500},     {"memalign(256, 3500)", 3500},
                 {"posix_memalign(64, 6000)", 6000}, {"aligned_alloc(1024, 7000)", 7000}, {"realloc(p, 9000)", 9000},
                 {"reallocarray(p, 3, 4000)", 12000}, {"realloc(NULL, 20000)", 20000}};
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        no_zone_of_class(steps[k].cls_size);
        for (int attempt = 0; attempt < 2; attempt++) {
            if (attempt == 0)
                fail_next(0, REFUSED);
            errno = 0;
            void *p = NULL;
            int r = 0;
            switch (k) {
            case 0: p = malloc(2000); break;
            case 1: p = calloc(1, 2500); break;
            case 2: p = memalign(256, 3500); break;
            case 3: r = posix_memalign(&p, 64, 6000); break;
            case 4: p = aligned_alloc(1024, 7000); break;
            case 5: p = realloc(small, 9000); break;
            case 6: p = reallocarray(small, 3, 4000); break;
            case 7: p = realloc(NULL, 20000); break;
            }
            fail_next(0, 0);
            if (attempt == 0) {
                if (k == 3)
                    CHECK(r == ENOMEM && p == NULL, "%s with its zone mapping failing: returned %d", steps[k].what, r);
                else {
                    CHECK(p == NULL, "%s succeeded though its zone could not be mapped", steps[k].what);
                    CHECK(errno == ENOMEM, "%s failed with errno %d, not ENOMEM", steps[k].what, errno);
                }
                expect_intact(small, 100, 7, steps[k].what);
                continue;
            }
            CHECK(p != NULL && r == 0, "%s fails after the mapping failure", steps[k].what);
            CHECK(malloc_usable_size(p) >= steps[k].cls_size - 16, "usable size too small");
            if (k == 5 || k == 6) {
                expect_intact(p, 100, 7, steps[k].what);
                small = malloc(100); /* realloc moved the block: a new one for the next step */
                CHECK(small != NULL, "malloc failed");
                fill(small, 100, 7);
            }
            memset(p, 0x11, steps[k].cls_size - 16);
            free(p);
        }
    }
    free(small);
#if HAVE_FT
    CHECK(ft_malloc_check() == 0, "ft_malloc_check() reports damage");
#endif
}

/* A LARGE mapping fails: every entry point fails cleanly, nothing is left mapped, then it works. */
TEST_EXTERN(inject_large_mapping)
{
    need_inject();
    warm_up();
    unsigned char *b = malloc(1000);
    CHECK(b != NULL, "malloc failed");
    fill(b, 1000, 3);
    unsigned char *big = malloc(MB);
    CHECK(big != NULL, "malloc failed");
    fill(big, MB, 4);
    long vm0 = vm_size_kb();
    for (int k = 0; k < 12; k++) {
        fail_next(0, REFUSED);
        errno = 0;
        void *p = NULL;
        int r = 0;
        const char *what = "?";
        switch (k) {
        case 0: what = "malloc(1 MB)"; p = malloc(MB); break;
        case 1: what = "calloc(1 MB, 1)"; p = calloc(MB, 1); break;
        case 2: what = "realloc(NULL, 1 MB)"; p = realloc(NULL, MB); break;
        case 3: what = "realloc(1000 B block, 1 MB)"; p = realloc(b, MB); break;
        case 4: what = "memalign(1 MB, 100)"; p = memalign(MB, 100); break;
        case 5: what = "memalign(64, 1 MB)"; p = memalign(64, MB); break;
        case 6: what = "posix_memalign(4096, 1 MB)"; r = posix_memalign(&p, 4096, MB); break;
        case 7: what = "aligned_alloc(65536, 1 MB)"; p = aligned_alloc(65536, MB); break;
        case 8: what = "valloc(1 MB)"; p = valloc(MB); break;
        case 9: what = "pvalloc(1 MB)"; p = pvalloc(MB); break;
        case 10: what = "reallocarray(NULL, 1024, 1024)"; p = reallocarray(NULL, 1024, 1024); break;
        case 11: what = "malloc(128 KiB + 1)"; p = malloc(FT_SMALL_MAX + 1); break;
        }
        fail_next(0, 0);
        if (k == 6)
            CHECK(r == ENOMEM && p == NULL, "%s with its mapping failing returned %d", what, r);
        else
            CHECK(p == NULL && errno == ENOMEM, "%s with its mapping failing: %p, errno %d", what, p, errno);
        expect_intact(b, 1000, 3, what);
        expect_intact(big, MB, 4, what);
        long vm = vm_size_kb();
        CHECK(vm <= vm0 + 64, "%s failed but VmSize grew from %ld to %ld kB", what, vm0, vm);
    }
    /* The blocks still work: realloc them for real, free them. */
    unsigned char *q = realloc(b, MB);
    CHECK(q != NULL, "realloc fails after the injected failures");
    expect_intact(q, 1000, 3, "realloc after failures");
    free(q);
    free(big);
    every_entry_point_works();
}

/* The LARGE table must grow (its own mapping) and cannot: the block is given back, NULL. */
TEST_EXTERN(inject_large_table_growth)
{
    need_inject();
    warm_up();
    enum { N = 600 };
    static unsigned char *p[N];
    int failures = 0;
    for (int i = 0; i < N; i++) {
        long vm0 = vm_size_kb();
        fail_next(1, REFUSED); /* the block's mapping succeeds; the next one (a table growth) fails */
        errno = 0;
        p[i] = malloc(FT_SMALL_MAX + 4096);
        fail_next(0, 0);
        if (!p[i]) {
            CHECK(errno == ENOMEM, "failed with errno %d", errno);
            long vm = vm_size_kb();
            CHECK(vm <= vm0 + 64, "LARGE block %d: failed, but VmSize grew from %ld to %ld kB (mapping leaked)", i,
                  vm0, vm);
            failures++;
            p[i] = malloc(FT_SMALL_MAX + 4096);
            CHECK(p[i] != NULL, "LARGE block %d: malloc fails after the table growth failed once", i);
        }
        fill(p[i], 64, (uint64_t)i);
    }
    CHECK(failures >= 1, "%d LARGE blocks live and no table growth failed: the table never grew?", N);
    for (int i = 0; i < N; i++) {
        expect_intact(p[i], 64, (uint64_t)i, "LARGE block");
        free(p[i]);
    }
#if HAVE_FT
    CHECK(ft_malloc_check() == 0, "ft_malloc_check() reports damage");
#endif
}

/* The registry leaf for a new 4 GiB range cannot be mapped: the zone mapped just before is
 * given back and malloc fails; then a zone there works. The test pushes the next mapping into a
 * 4 GiB range that holds no zone yet by reserving (PROT_NONE) what lies above it. */
#define GIB4(a) ((uintptr_t)(a) >> 32)

TEST_EXTERN(inject_registry_leaf)
{
    need_inject();
    warm_up();
#if HAVE_FT
    const size_t size = 40; /* class 48, TINY: 64 KiB zones */
    no_zone_of_class(size);
    /* The 4 GiB ranges that have a leaf: those of the zones mapped so far (none was unmapped). */
    const char *d = dump_ex();
    uintptr_t used[256];
    int nused = 0;
    for (const char *s = d; (s = strstr(s, " : 0x")) != NULL; s++) {
        uintptr_t a = strtoul(s + 5, NULL, 16);
        if (nused < 256)
            used[nused++] = GIB4(a);
    }
    long page = sysconf(_SC_PAGESIZE);
    size_t span = 2 * 65536 - (size_t)page; /* what a 64 KiB zone aligned on 64 KiB maps */
    uintptr_t target = 0;
    for (int attempt = 0; attempt < 2000 && !target; attempt++) {
        char *q = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        CHECK(q != MAP_FAILED, "mmap failed");
        uintptr_t z = ((uintptr_t)q + 65535) & ~(uintptr_t)65535;
        int fresh = GIB4(z) == GIB4(z + 65535);
        for (int i = 0; i < nused && fresh; i++)
            fresh = used[i] != GIB4(z);
        if (fresh) {
            munmap(q, span);
            target = z;
            break;
        }
        /* Keep q (a hole filled) and try to reserve everything from its range's start up to it. */
        uintptr_t lo = GIB4(q) << 32;
        if ((uintptr_t)q > lo) {
            void *f = mmap((void *)lo, (uintptr_t)q - lo, PROT_NONE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
            (void)f;
        }
    }
    CHECK(target != 0, "setup: could not find a 4 GiB range without zones");
    fail_next(1, REFUSED); /* the zone mapping succeeds, the leaf mapping fails */
    errno = 0;
    void *p = malloc(size);
    fail_next(0, 0);
    int e = errno;
    CHECK(p == NULL, "malloc(%zu) succeeded (%p) though the registry leaf for 0x%lx could not be mapped", size, p,
          (unsigned long)target);
    CHECK(e == ENOMEM, "failed with errno %d, not ENOMEM", e);
    CHECK(!addr_mapped(target), "the zone mapped at 0x%lx was not given back after the leaf failed",
          (unsigned long)target);
    p = malloc(size);
    CHECK(p != NULL, "malloc(%zu) fails after the injected failure", size);
    CHECK(GIB4(p) == GIB4(target), "setup: the zone went to %p, not to the fresh range of 0x%lx", p,
          (unsigned long)target);
    memset(p, 0x5A, size);
    const char *d2 = dump_plain();
    CHECK(dump_has_block(d2, p, size), "the block in the new range is not listed by show_alloc_mem");
    CHECK(ft_malloc_check() == 0, "ft_malloc_check() reports damage");
    free(p);
    void *again = malloc(size);
    CHECK(again == p, "the freed chunk %p is not reused (%p)", p, again);
    free(again);
#endif
}

/* realloc of a LARGE block cannot mremap: NULL, the old block intact with its content. */
TEST_EXTERN(inject_realloc_mremap)
{
    need_inject();
    warm_up();
    size_t sizes[] = {FT_SMALL_MAX + 1, 300000, 4 * MB};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        unsigned char *p = malloc(n);
        CHECK(p != NULL, "malloc(%zu) failed", n);
        fill(p, n, k + 10);
        size_t grow[] = {n + 1, n + 4096, 2 * n, 16 * MB};
        size_t cur = n; /* the block's size: a realloc within its pages changes it in place */
        for (size_t g = 0; g < sizeof grow / sizeof grow[0]; g++) {
            fail_next(0, REFUSED);
            errno = 0;
            void *q = realloc(p, grow[g]);
            fail_next(0, 0);
            if (q != NULL) {
                /* Grown in place within its pages: no system call, nothing to fail. */
                CHECK(q == p && grow[g] <= malloc_usable_size(p), "realloc(%zu -> %zu) succeeded through a failing "
                      "mapping and moved to %p", n, grow[g], q);
                cur = grow[g];
                continue;
            }
            CHECK(errno == ENOMEM, "failed realloc(%zu -> %zu): errno %d", cur, grow[g], errno);
            CHECK(malloc_usable_size(p) >= cur, "failed realloc: usable size now %zu", malloc_usable_size(p));
            expect_intact(p, n, k + 10, "failed realloc");
#if HAVE_FT
            CHECK(dump_has_block(dump_plain(), p, cur), "after a failed realloc the block %p (%zu B) is not listed",
                  (void *)p, cur);
#endif
        }
        unsigned char *q = realloc(p, 16 * MB);
        CHECK(q != NULL, "realloc to 16 MB fails after the injected failures");
        expect_intact(q, n, k + 10, "realloc");
        free(q);
    }
    /* A TINY block that cannot grow into a LARGE mapping (none cached to reuse either). */
    malloc_trim(0);
    unsigned char *t = malloc(50);
    fill(t, 50, 99);
    fail_next(0, REFUSED);
    EXPECT_ENOMEM(realloc(t, MB), "realloc(50 B block, 1 MB)");
    fail_next(0, 0);
    expect_intact(t, 50, 99, "failed realloc");
    free(t);
#if HAVE_FT
    CHECK(ft_malloc_check() == 0, "ft_malloc_check() reports damage");
#endif
}

/* A SMALL block grown into a LARGE one with no cached mapping moves its pages (mremap), then grows
 * them: the first refused, nothing moved; the second refused, the pages already moved go back
 * (by copy) before the block is copied as before. Every time the block arrives whole, and the
 * chunk it leaves serves again. */
TEST_EXTERN(inject_realloc_moving_pages)
{
    need_inject();
    warm_up();
    size_t n = 100000; /* a chunk of whole pages, from 32 KiB up */
    for (unsigned long skip = 0; skip < 4; skip++) {
        malloc_trim(0); /* no cached mapping to take */
        unsigned char *p = malloc(n);
        CHECK(p != NULL, "malloc(%zu) failed", n);
        fill(p, n, skip + 30);
        fail_next(skip, 1);
        errno = 0;
        unsigned char *q = realloc(p, 4 * MB);
        fail_next(0, 0);
        CHECK(q != NULL, "realloc(%zu -> 4 MiB) with mapping %lu refused failed (errno %d)", n, skip + 1, errno);
        expect_intact(q, n, skip + 30, "realloc with a refused mapping");
        memset(q + n, 7, 4 * MB - n);
        unsigned char *again = malloc(n);
        CHECK(again != NULL, "malloc(%zu) after the move failed", n);
        fill(again, n, skip + 40);
        expect_intact(again, n, skip + 40, "the chunk the block left");
        free(again);
        free(q);
#if HAVE_FT
        CHECK(ft_malloc_check() == 0, "ft_malloc_check() reports damage");
#endif
    }
}

/* realloc of a LARGE block whose mremap the kernel refuses twice (before and after the trim),
 * though memory is there: the block is copied, as glibc does, not the call failed. (A gathered
 * block spanning more kernel areas than counted met this: mremap cannot grow such a range.) */
TEST_EXTERN(inject_realloc_mremap_copies)
{
    need_inject();
    warm_up();
    size_t sizes[] = {300000, 4 * MB};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        unsigned char *p = malloc(n);
        CHECK(p != NULL, "malloc(%zu) failed", n);
        fill(p, n, k + 80);
        malloc_trim(0); /* no cached mapping: the copy maps a new one */
        fail_next(0, 2);
        errno = 0;
        unsigned char *q = realloc(p, 4 * n);
        fail_next(0, 0);
        CHECK(q != NULL, "realloc(%zu -> %zu) with mremap refused twice failed (errno %d)", n, 4 * n, errno);
        expect_intact(q, n, k + 80, "realloc by copy after mremap was refused");
        memset(q + n, 1, 3 * n);
        free(q);
#if HAVE_FT
        CHECK(ft_malloc_check() == 0, "ft_malloc_check() reports damage");
#endif
    }
}

/* A LARGE request that no cached mapping covers gathers the pages of three (large_cache.h
 * take_pieces): each of its system calls refused in turn (the first piece's mremap, the fresh
 * mapping then made instead, each piece's move), the block still comes, whole, its pieces moved
 * or given back, and the heap stays sound. */
TEST_EXTERN(inject_gathering_refused)
{
    need_inject();
    warm_up();
    for (unsigned long skip = 0; skip < 6; skip++) {
        malloc_trim(0);
        free_written_blocks((const size_t[]){4 * MB, 4 * MB, 2 * MB}, 3);
        fail_next(skip, 1);
        errno = 0;
        unsigned char *p = malloc(10 * MB);
        fail_next(0, 0);
        CHECK(p != NULL, "malloc(10 MiB) with system call %lu refused failed (errno %d)", skip + 1, errno);
        fill(p, 10 * MB, skip + 70);
        expect_intact(p, 10 * MB, skip + 70, "a block gathered with a refused call");
        unsigned char *z = calloc(1, 6 * MB); /* what the cache kept, or fresh: zero either way */
        CHECK(z != NULL, "calloc(6 MiB) failed");
        for (size_t i = 0; i < 6 * MB; i += 512)
            CHECK(z[i] == 0, "calloc(6 MiB) after the refusal: byte %zu is %d", i, z[i]);
        free(z);
        free(p);
#if HAVE_FT
        CHECK(ft_malloc_check() == 0, "ft_malloc_check() reports damage");
#endif
    }
}

/* One refusal, then memory again: the call succeeds all the same, the heap's second try after it
 * gave back what it keeps for reuse (here a class's emptied zone, its reserve). */
TEST_EXTERN(inject_refusal_then_retry)
{
    need_inject();
    warm_up();
    unsigned char *big = malloc(MB);
    CHECK(big != NULL, "malloc(1 MB) failed");
    fill(big, MB, 5);
    for (int k = 0; k < 4; k++) {
        void *kept = malloc(5000);
        CHECK(kept != NULL, "malloc(5000) failed");
        free(kept); /* its zone, now empty, stays mapped for the class's next block */
        const char *what = "?";
        void *p = NULL;
        fail_next(0, 1);
        errno = 0;
        switch (k) {
        case 0: what = "malloc(2000)"; p = malloc(2000); break;         /* a new zone */
        case 1: what = "calloc(1, 3 MB)"; p = calloc(1, 3 * MB); break; /* a new LARGE mapping */
        case 2: what = "realloc(1 MB block, 8 MB)"; p = realloc(big, 8 * MB); break; /* mremap */
        case 3: what = "realloc(100 B block, 30000)"; p = realloc(malloc(100), 30000); break;
        }
        fail_next(0, 0);
        CHECK(p != NULL, "%s failed (errno %d) after one refused mapping, with a reserve zone to give back", what,
              errno);
        if (k == 2) {
            big = p;
            expect_intact(big, MB, 5, what);
        } else
            free(p);
#if HAVE_FT
        CHECK(count_class_zones(dump_ex(), expected_class(5000)) == 0, "%s: the reserve zone of 5000 B blocks is "
              "still mapped after the retry", what);
        CHECK(ft_malloc_check() == 0, "ft_malloc_check() reports damage");
#endif
    }
    free(big);
}

/* A new thread's cache cannot be mapped: the thread allocates anyway (or gets ENOMEM). */
static void *cacheless(void *arg)
{
    (void)arg;
    void *p[500];
    for (int i = 0; i < 500; i++) {
        errno = 0;
        p[i] = malloc((size_t)(i % 50) * 20);
        CHECK(p[i] != NULL || errno == ENOMEM, "malloc failed with errno %d", errno);
        if (p[i])
            memset(p[i], i, (size_t)(i % 50) * 20);
    }
    for (int i = 0; i < 500; i++) {
        if (p[i] && i % 50)
            CHECK(((unsigned char *)p[i])[0] == (unsigned char)i, "block corrupted");
        free(p[i]);
    }
    return NULL;
}

TEST_EXTERN(inject_thread_cache_mapping)
{
    need_inject();
    warm_up();
    /* pthread_create allocates too (the new thread's TLS): it may be what fails, cleanly. */
    int ran = 0;
    for (unsigned long skip = 0; skip < 6; skip++) {
        fail_next(skip, 1);
        pthread_t t;
        int r = pthread_create(&t, NULL, cacheless, NULL);
        if (r == 0) {
            pthread_join(t, NULL);
            ran++;
        } else {
            CHECK(r == EAGAIN || r == ENOMEM, "pthread_create failed with %d", r);
        }
        fail_next(0, 0);
    }
    CHECK(ran > 0, "no thread could be started");
#if HAVE_FT
    CHECK(ft_malloc_check() == 0, "ft_malloc_check() reports damage");
#endif
}

/* The sweep: mapping number `skip` of a workload fails (then `count` more), for every skip up to
 * the workload's number of mappings. Every failure must be a clean NULL/ENOMEM, every block that
 * was handed out intact, and the heap sound and fully working afterwards. */
#define SW_N 1500
static unsigned char *sw_p[SW_N];
static size_t sw_n[SW_N];

static size_t sweep_size(rng_t *r, int i)
{
    if (i % 97 == 5)
        return FT_SMALL_MAX + 1 + rng_below(r, 3 * MB);
    if (i % 7 == 0)
        return FT_TINY_MAX + 1 + rng_below(r, 60000);
    return rng_below(r, 3000);
}

static void *sweep_thread(void *arg)
{
    (void)arg;
    void *p[64];
    for (int i = 0; i < 64; i++) {
        errno = 0;
        p[i] = malloc((size_t)i * 37);
        CHECK(p[i] != NULL || errno == ENOMEM, "malloc failed with errno %d", errno);
    }
    for (int i = 0; i < 64; i++)
        free(p[i]);
    return NULL;
}

static int sweep_round(uint64_t seed)
{
    rng_t r;
    rng_seed(&r, seed);
    int failures = 0;
    for (int i = 0; i < SW_N; i++) {
        size_t n = sweep_size(&r, i);
        errno = 0;
        unsigned char *p;
        int r2 = 0;
        switch (rng_below(&r, 6)) {
        case 0: p = calloc(1, n); break;
        case 1: p = memalign((size_t)64 << rng_below(&r, 12), n); break;
        case 2: r2 = posix_memalign((void **)&p, 4096, n); if (r2) p = NULL; break;
        default: p = malloc(n);
        }
        if (!p) {
            CHECK(r2 == ENOMEM || errno == ENOMEM, "allocation of %zu failed with errno %d / %d", n, errno, r2);
            failures++;
            sw_p[i] = NULL;
            continue;
        }
        sw_p[i] = p;
        sw_n[i] = n;
        fill(p, n < 256 ? n : 256, seed * 100000 + (uint64_t)i);
        if (i % 10 == 9) { /* grow an earlier block: its first bytes kept, or left as they were */
            int j = (int)rng_below(&r, (uint64_t)i);
            if (sw_p[j]) {
                size_t keep = sw_n[j] < 256 ? sw_n[j] : 256;
                size_t m = sw_n[j] * 3 + 100;
                errno = 0;
                unsigned char *q = realloc(sw_p[j], m);
                if (!q) {
                    CHECK(errno == ENOMEM, "realloc failed with errno %d", errno);
                    failures++;
                } else {
                    sw_p[j] = q;
                    sw_n[j] = m;
                }
                expect_intact(sw_p[j], keep, seed * 100000 + (uint64_t)j, q ? "realloc" : "failed realloc");
                fill(sw_p[j], sw_n[j] < 256 ? sw_n[j] : 256, seed * 100000 + (uint64_t)j);
            }
        }
        if (i % 500 == 250) {
            pthread_t t;
            CHECK(pthread_create(&t, NULL, sweep_thread, NULL) == 0, "pthread_create failed");
            pthread_join(t, NULL);
        }
    }
    for (int i = 0; i < SW_N; i++) {
        if (!sw_p[i])
            continue;
        expect_intact(sw_p[i], sw_n[i] < 256 ? sw_n[i] : 256, seed * 100000 + (uint64_t)i, "end of round");
        free(sw_p[i]);
        sw_p[i] = NULL;
    }
    return failures;
}

TEST_EXTERN(inject_sweep)
{
    need_inject();
    warm_up();
    long rounds = 60 * test_scale();
    int total = 0;
    for (long skip = 0; skip < rounds; skip++) {
        fail_next((unsigned long)skip, (unsigned long)(1 + skip % 3));
        total += sweep_round((uint64_t)skip + 1);
        fail_next(0, 0);
#if HAVE_FT
        CHECK(ft_malloc_check() == 0, "skip %ld: ft_malloc_check() reports damage", skip);
#endif
        every_entry_point_works();
    }
    CHECK(total > 0, "no allocation failed in the whole sweep: fault injection not working?");
}
