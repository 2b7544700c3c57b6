/* The cache of freed LARGE mappings (src/large/large_cache.h): a freed LARGE block's mapping is
 * reused by a later request it fits, within a byte bound and a time bound; malloc_trim(0) and
 * FT_MALLOC_LARGE_CACHE=0 empty it; calloc of a reused mapping is zero; a freed block is never
 * listed. The runner (test/runner/large_cache.py) runs some cases with settings, under strace, or
 * expecting a signal. */
#include "common.h"

#include <errno.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/resource.h>

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

/* The minor faults of the process so far: getrusage counts the pages the kernel faults in for a
 * system call (MADV_POPULATE_WRITE) too, so a copy into fresh pages counts however it is made. */
static long minor_faults(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return r.ru_minflt;
}

/* Whether mremap can move pages and leave their range mapped (MREMAP_DONTUNMAP, Linux 5.7). */
static int kernel_moves_pages(void)
{
    char *a = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void *b = mremap(a, 4096, 4096, MREMAP_MAYMOVE | 4 /* MREMAP_DONTUNMAP */, (void *)0);
    munmap(a, 4096);
    if (b == MAP_FAILED)
        return 0;
    munmap(b, 4096);
    return 1;
}

/* A SMALL block that realloc grows past the classes, with no cached mapping to take, becomes a
 * LARGE block by moving its pages, not by copying them into fresh ones (25 pages of 100000 B:
 * 28-35 faults when copied, 0-4 moved). The chunk it leaves reads as zero and serves again. */
TEST(grown_block_moves_pages)
{
    long fewest = -1;
    for (int i = 0; i < 4; i++) {
        malloc_trim(0); /* no cached mapping */
        size_t n = 100000;
        unsigned char *p = malloc(n);
        CHECK(p != NULL, "malloc(%zu) failed", n);
        pattern_fill(p, n, 40 + i);
        long before = minor_faults();
        unsigned char *q = realloc(p, MB);
        long faults = minor_faults() - before;
        CHECK(q != NULL && q != p, "realloc(%zu B -> 1 MiB) did not move the block", n);
        size_t bad = pattern_check(q, n, 40 + i);
        CHECK(bad == (size_t)-1, "realloc(%zu B -> 1 MiB) lost byte %zu", n, bad);
        touch((char *)q, MB, i);
        if (i > 0 && (fewest < 0 || faults < fewest))
            fewest = faults; /* the first one maps the LARGE table and runs the code */
        unsigned char *z = calloc(1, n);
        CHECK(z != NULL, "calloc(1, %zu) failed", n);
        for (size_t k = 0; k < n; k++)
            CHECK(z[k] == 0, "calloc(1, %zu) after the move: byte %zu is %d", n, k, z[k]);
        pattern_fill(z, n, 50 + i);
        CHECK(pattern_check(z, n, 50 + i) == (size_t)-1, "the chunk the block left does not hold its bytes");
        free(z);
        free(q);
    }
    if (kernel_moves_pages())
        CHECK(fewest <= 4, "realloc(100000 B -> 1 MiB): %ld page faults, its 25 pages copied, not moved", fewest);
    else
        printf("no MREMAP_DONTUNMAP here: contents checked only\n");
}

/* Whether the memory area holding p is locked (VmFlags "lo" in /proc/self/smaps); -1 when unknown. */
static int area_locked(const void *p)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return -1;
    char line[512];
    int in = 0, locked = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long a, e;
        char dash;
        if (sscanf(line, "%lx%c%lx", &a, &dash, &e) == 3 && dash == '-') {
            in = (uintptr_t)p >= a && (uintptr_t)p < e;
        } else if (in && !strncmp(line, "VmFlags:", 8)) {
            locked = strstr(line, " lo") != NULL;
            break;
        }
    }
    fclose(f);
    return locked;
}

/* Under mlockall, a SMALL block grown into a LARGE one keeps the heap locked: moving its pages
 * out (MREMAP_DONTUNMAP) would have the kernel unlock the whole area they leave, every zone it
 * spans (12 MiB of a 100,000 B class's zone, unlocked, before the probe in os::move_pages). */
TEST(grown_block_keeps_memory_locked)
{
    if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
        printf("mlockall refused here (%s): nothing to check\n", strerror(errno));
        return;
    }
    size_t n = 100000;
    char *a = malloc(n), *b = malloc(n), *c = malloc(n);
    CHECK(a && b && c, "malloc(%zu) failed", n);
    memset(a, 1, n);
    memset(b, 2, n);
    memset(c, 3, n);
    int before = area_locked(a);
    char *grown = realloc(b, MB);
    CHECK(grown != NULL, "realloc(%zu B -> 1 MiB) failed", n);
    for (size_t k = 0; k < n; k += 997)
        CHECK(grown[k] == 2, "realloc lost byte %zu", k);
    int after = area_locked(a), block = area_locked(grown);
    munlockall();
    CHECK(before == 1, "the zone was not locked under mlockall (VmFlags read %d): the check reads nothing", before);
    CHECK(after == 1, "the zone lost its lock when a block of it grew into a LARGE one");
    CHECK(block == 1, "the grown block is not locked under mlockall");
    free(a);
    free(c);
    free(grown);
}

/* A buffer grown from 1 byte to 1 MiB by realloc, freed, and grown again: each round after the
 * first takes the mapping the last one freed whole, with all of it as room, and grows in place
 * (before: the mapping cut to the first LARGE size, the block moved by mremap four to seven times
 * a round into fresh pages, about 40 page faults a round; glibc grows at its heap's top, none).
 * The second round still faults in the chunk the first one's block moved its pages out of. */
TEST(grown_block_reuses_room)
{
    long faults_later = 0;
    for (int round = 0; round < 10; round++) {
        long before = minor_faults();
        char *p = NULL;
        int moves_in_large = 0;
        for (size_t size = 1;;) {
            char *q = realloc(p, size);
            CHECK(q != NULL, "realloc(%zu) failed", size);
            if (p && q != p && size > 256 * 1024)
                moves_in_large++;
            p = q;
            p[size - 1] = (char)size;
            if (size == MB)
                break;
            size += size < 4096 ? 16 : size / 4;
            if (size > MB)
                size = MB;
        }
        free(p);
        if (round > 0)
            CHECK(moves_in_large == 0, "round %d: the LARGE block moved %d times growing to 1 MiB", round + 1,
                  moves_in_large);
        if (round > 1)
            faults_later += minor_faults() - before;
    }
    CHECK(faults_later <= 8, "rounds 3 to 10 took %ld page faults (the pages of the round before are resident)",
          faults_later);
}

/* Buffers grown by realloc to sizes from 200 KB to 3.2 MB, one after another: each takes the
 * mapping the one before freed whole as its room (up to 8 times what it needs, or 4 MiB more),
 * instead of cutting it to its first LARGE size, whose cut-off tail then stood in the way of
 * mremap, which moved the block to fresh pages at every growth (257 page faults a round, 364
 * before the pages of a SMALL block moved; now 1, glibc 17). */
TEST(grown_blocks_of_many_sizes_reuse_room)
{
    unsigned seed = 7;
    long faults = 0;
    enum { ROUNDS = 100 };
    for (int round = 0; round < ROUNDS; round++) {
        seed = seed * 1103515245u + 12345u;
        size_t max = 200000 + (seed >> 8) % (3000000);
        long before = minor_faults();
        unsigned char *p = NULL;
        size_t prev = 0;
        for (size_t size = 1;;) {
            unsigned char *q = realloc(p, size);
            CHECK(q != NULL, "realloc(%zu) failed", size);
            for (size_t i = 0; i < prev; i += 4093)
                CHECK(q[i] == (unsigned char)(i + round), "round %d: realloc to %zu lost byte %zu", round, size, i);
            for (size_t i = prev; i < size; i++)
                q[i] = (unsigned char)(i + round);
            p = q;
            prev = size;
            if (size == max)
                break;
            size += size < 4096 ? 64 : size / 3;
            if (size > max)
                size = max;
        }
        free(p);
        if (round >= 2)
            faults += minor_faults() - before;
    }
    CHECK(faults <= 40 * (ROUNDS - 2), "%ld page faults in %d rounds (%ld a round)", faults, ROUNDS - 2,
          faults / (ROUNDS - 2));
}

/* Three freed blocks of 2-4 MiB, cached, and a request of 10 MiB that none of them covers: their
 * pages are moved into its mapping (gathered, large_cache.h take_pieces), not faulted in afresh
 * (2,560 faults for 10 MiB), and hold the new block's bytes; calloc reads zero in all of it. The
 * block, of three kernel areas, grows by copy (mremap cannot grow it) and keeps its bytes. */
static void gathered_block(int zero)
{
    for (int round = 0; round < 3; round++) {
        free_written_blocks((const size_t[]){4 * MB, 4 * MB, 2 * MB}, 3);
        long before = minor_faults();
        unsigned char *p = zero ? calloc(1, 10 * MB) : malloc(10 * MB);
        CHECK(p != NULL, "%s(10 MiB) failed", zero ? "calloc" : "malloc");
        if (zero)
            for (size_t i = 0; i < 10 * MB; i++)
                CHECK(p[i] == 0, "calloc(1, 10 MiB) of gathered pages: byte %zu is %d", i, p[i]);
        pattern_fill(p, 10 * MB, 60 + round);
        long faults = minor_faults() - before;
        CHECK(pattern_check(p, 10 * MB, 60 + round) == (size_t)-1, "the gathered block does not hold its bytes");
        if (cache_on() && round > 0) /* the first round maps the LARGE table and runs the code */
            CHECK(faults <= 64, "round %d: %ld page faults writing 10 MiB over 10 MiB of freed blocks", round + 1,
                  faults);
        unsigned char *q = realloc(p, 14 * MB);
        CHECK(q != NULL, "realloc(10 MiB -> 14 MiB) failed");
        CHECK(pattern_check(q, 10 * MB, 60 + round) == (size_t)-1, "realloc of the gathered block lost bytes");
        free(q);
        malloc_trim(0);
    }
}

TEST(gathered_block_reuses_pages) { gathered_block(0); }
TEST(gathered_calloc_zero) { gathered_block(1); }

/* mimalloc-bench's malloc-large, shortened: 20 live blocks of 5-25 MiB, each step a new one
 * replacing a random one, every page written. Blocks longer than any cached mapping took the
 * longest and grew it with fresh pages: 590 page faults a step over these 260 steps (glibc 413,
 * tcmalloc 191); gathered, 274. */
TEST(large_blocks_of_random_sizes_reuse_pages)
{
    enum { LIVE = 20, STEPS = 300 };
    char *slot[LIVE] = {0};
    unsigned seed = 42;
    long before = 0;
    for (int i = 0; i < STEPS; i++) {
        if (i == LIVE * 2)
            before = minor_faults();
        seed = seed * 1103515245u + 12345u;
        int k = (int)((seed >> 8) % LIVE);
        seed = seed * 1103515245u + 12345u;
        size_t n = 5 * MB + (seed >> 4) % (20 * MB);
        char *p = malloc(n);
        CHECK(p != NULL, "malloc(%zu) failed", n);
        touch(p, n, i);
        free(slot[k]);
        slot[k] = p;
    }
    long faults = (minor_faults() - before) / (STEPS - LIVE * 2);
    for (int k = 0; k < LIVE; k++)
        free(slot[k]);
    CHECK(faults <= 350, "%ld page faults a step (each writes 15 MiB on average)", faults);
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
    CASE(grown_block_moves_pages),
    CASE(grown_block_keeps_memory_locked),
    CASE(grown_block_reuses_room),
    CASE(grown_blocks_of_many_sizes_reuse_room),
    CASE(gathered_block_reuses_pages),
    CASE(gathered_calloc_zero),
    CASE(large_blocks_of_random_sizes_reuse_pages),
};

RUN_CASES(cases)
