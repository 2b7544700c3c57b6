/* Memory going back to the system: LARGE blocks are unmapped by free (at once under
 * FT_MALLOC_LARGE_CACHE=0, else by malloc_trim: the cache keeps freed mappings for reuse, see
 * test/large_cache.c), free zones are released. */
#include "common.h"

#include <malloc.h>

/* What the program does for freed LARGE mappings to be gone: nothing when the cache is off. */
static void give_back_cached(void)
{
    const char *v = getenv("FT_MALLOC_LARGE_CACHE");
    if (!v || strcmp(v, "0"))
        malloc_trim(0);
}

#include <errno.h>
#include <linux/perf_event.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

TEST(large_munmap)
{
    size_t sizes[] = {FT_SMALL_MAX + 1, SZ_LARGE, 200000, 1 << 20, 10 << 20, 64 << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char *p = malloc(sizes[i]);
        CHECK(p != NULL, "malloc(%zu) failed", sizes[i]);
        memset(p, 0x42, sizes[i]);
        CHECK(addr_mapped((uintptr_t)p), "LARGE block %p not in /proc/self/maps", (void *)p);
        free(p);
        give_back_cached();
        CHECK(!addr_mapped((uintptr_t)p), "LARGE block of %zu at %p still mapped after free", sizes[i], (void *)p);
        CHECK(!addr_mapped((uintptr_t)p + sizes[i] - 1), "end of a LARGE block of %zu still mapped after free",
              sizes[i]);
    }
}

TEST(large_munmap_many)
{
    enum { N = 200 };
    char *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = malloc(FT_SMALL_MAX + 1 + (size_t)i * 5000);
        CHECK(p[i] != NULL, "malloc failed");
        p[i][0] = 1;
    }
    for (int i = 0; i < N; i += 2)
        free(p[i]);
    give_back_cached();
    for (int i = 0; i < N; i += 2)
        CHECK(!addr_mapped((uintptr_t)p[i]), "LARGE block %d still mapped after free", i);
    for (int i = 1; i < N; i += 2) {
        CHECK(addr_mapped((uintptr_t)p[i]), "live LARGE block %d not mapped", i);
        CHECK(p[i][0] == 1, "live LARGE block %d lost its content", i);
        free(p[i]);
        give_back_cached();
        CHECK(!addr_mapped((uintptr_t)p[i]), "LARGE block %d still mapped after free", i);
    }
}

TEST(large_realloc_moves_unmap)
{
    char *p = malloc(SZ_LARGE);
    CHECK(p != NULL, "malloc failed");
    pattern_fill(p, SZ_LARGE, 1);
    char *blocker = NULL;
    char *q = p;
    /* Grow until the block moves (a mapping right after it may let it grow in place for a while). */
    size_t s = SZ_LARGE;
    for (int i = 0; i < 8 && q == p; i++) {
        blocker = malloc(FT_SMALL_MAX + 1);
        s *= 2;
        q = realloc(p, s);
        CHECK(q != NULL, "realloc failed");
        if (q == p)
            free(blocker);
    }
    if (q != p) {
        CHECK(!addr_mapped((uintptr_t)p), "old LARGE block still mapped after realloc moved it");
        free(blocker);
    }
    CHECK(pattern_check(q, SZ_LARGE, 1) == (size_t)-1, "realloc lost the contents");
    free(q);
}

TEST(large_shrink_releases_memory)
{
    /* realloc of a big LARGE block down to a few bytes must give the memory back (whether the
     * block moves or is trimmed in place). */
    size_t big = 32u << 20;
    char *p = malloc(big);
    CHECK(p != NULL, "malloc failed");
    memset(p, 0x3C, big);
    long before = vm_rss_kb();
    char *q = realloc(p, 50);
    CHECK(q != NULL, "realloc(p, 50) failed");
    for (int i = 0; i < 50; i++)
        CHECK(q[i] == 0x3C, "realloc lost byte %d", i);
    long after = vm_rss_kb();
    CHECK(before - after >= 30 * 1024, "RSS %ld kB before realloc(32 MB block, 50), %ld kB after", before, after);
    free(q);
}

TEST(many_large_live)
{
    /* Thousands of LARGE blocks alive at once, allocated and freed in random order. */
    enum { N = 6000 };
    static unsigned char *p[N];
    static size_t sz[N];
    rng_t r;
    rng_seed(&r, 99);
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < N; i++) {
            if (p[i])
                continue;
            sz[i] = FT_SMALL_MAX + 1 + rng_below(&r, 300000);
            p[i] = malloc(sz[i]);
            CHECK(p[i] != NULL, "malloc(%zu) failed with %d LARGE blocks", sz[i], i);
            CHECK(malloc_usable_size(p[i]) >= sz[i], "usable size too small");
            p[i][0] = (unsigned char)i;
            p[i][sz[i] - 1] = (unsigned char)(i >> 3);
        }
#if HAVE_FT
        dump_index(dump_plain());
        for (int i = 0; i < N; i++)
            CHECK(dump_index_has(p[i], sz[i]), "round %d: LARGE block %d (%zu bytes) not listed", round, i, sz[i]);
#endif
        for (int k = 0; k < N * 2 / 3; k++) {
            int i = (int)rng_below(&r, N);
            if (!p[i])
                continue;
            CHECK(p[i][0] == (unsigned char)i && p[i][sz[i] - 1] == (unsigned char)(i >> 3),
                  "LARGE block %d corrupted", i);
            CHECK(malloc_usable_size(p[i]) >= sz[i], "usable size of a live LARGE block too small");
            free(p[i]);
            p[i] = NULL;
        }
    }
    for (int i = 0; i < N; i++)
        free(p[i]);
}

static long vm_size_kb(void)
{
    read_file_raw("/proc/self/status");
    char *s = strstr(proc_buf, "VmSize:");
    CHECK(s != NULL, "no VmSize");
    return strtol(s + 7, NULL, 10);
}

TEST(out_of_memory)
{
    /* Under an address-space limit, allocations fail with ENOMEM and nothing breaks; once the
     * blocks are freed the same amount can be allocated again (nothing leaked). */
    size_t cap = 4u << 20;
    void **p = mmap(NULL, cap * sizeof(void *), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED, "mmap failed");
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_AS, &rl) == 0, "getrlimit");
    rl.rlim_cur = (rlim_t)(vm_size_kb() + 64 * 1024) * 1024;
    CHECK(setrlimit(RLIMIT_AS, &rl) == 0, "setrlimit: %s", strerror(errno));
    size_t sizes[] = {32, 5000, 100000, 200000, 3 << 20};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t s = sizes[k];
        size_t first = 0;
        for (int round = 0; round < 2; round++) {
            size_t n = 0;
            for (;;) {
                CHECK(n < cap, "no failure after %zu blocks of %zu", n, s);
                errno = 0;
                void *q = malloc(s);
                if (!q) {
                    CHECK(errno == ENOMEM, "malloc(%zu) failed with errno %d, not ENOMEM", s, errno);
                    break;
                }
                *(volatile char *)q = 1;
                p[n++] = q;
            }
            CHECK(n > 0, "no block of %zu could be allocated at all", s);
            /* The heap is full: the other calls fail cleanly too. */
            memset(p[0], 0x5A, s);
            errno = 0;
            void *q = realloc(p[0], 64u << 20);
            CHECK(q == NULL && errno == ENOMEM, "realloc(64 MB) under OOM: %p, errno %d", q, errno);
            CHECK(((unsigned char *)p[0])[s - 1] == 0x5A, "failed realloc damaged the block");
            q = (void *)0x1234;
            int r = posix_memalign(&q, 4096, 64u << 20);
            CHECK(r == ENOMEM, "posix_memalign(64 MB) under OOM returned %d", r);
            errno = 0;
            q = calloc(1024, 64u << 10);
            CHECK(q == NULL && errno == ENOMEM, "calloc(64 MB) under OOM: %p, errno %d", q, errno);
            for (size_t i = 0; i < n; i++)
                free(p[i]);
            if (round == 0)
                first = n;
            else
                CHECK(n * 10 >= first * 9, "after freeing everything only %zu blocks of %zu fit (%zu before)", n,
                      s, first);
        }
    }
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_AS, &rl);
    void *q = malloc(1 << 20);
    CHECK(q != NULL, "malloc fails after the limit is lifted");
    free(q);
}

static void rss_peak(uint64_t seed, size_t peak_bytes, long *start_kb, long *peak_kb, long *end_kb)
{
    static void *p[400000];
    rng_t r;
    rng_seed(&r, seed);
    *start_kb = vm_rss_kb();
    size_t total = 0;
    int n = 0;
    while (total < peak_bytes) {
        CHECK(n < 400000, "too many blocks");
        uint64_t k = rng_below(&r, 10);
        size_t s = k < 5 ? rng_below(&r, FT_TINY_MAX + 1)
                 : k < 8 ? FT_TINY_MAX + 1 + rng_below(&r, 4096)
                         : FT_TINY_MAX + 1 + rng_below(&r, FT_SMALL_MAX - FT_TINY_MAX);
        p[n] = malloc(s);
        CHECK(p[n] != NULL, "malloc(%zu) failed", s);
        memset(p[n], 0xCD, s);
        total += s;
        n++;
    }
    *peak_kb = vm_rss_kb();
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(&r, (uint64_t)i + 1);
        void *t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
    for (int i = 0; i < n; i++)
        free(p[i]);
    *end_kb = vm_rss_kb();
}

/* What stays resident once all is freed: the kept zones (2 MiB), the thread cache's stacks, the
 * metadata, and the current zones' written pages, which beyond 2 MiB stay within 4 times what
 * the program holds (tcache/own_zones.cpp unpurged_budget): 4.1-4.5 MiB, where up to 4 MiB kept
 * whatever the heap held left 7.5-8.2 MiB (README: at most 8 MiB). */
TEST(rss_returns_after_peak)
{
    long start, peak, end;
    rss_peak(1, 200u << 20, &start, &peak, &end);
    CHECK(peak - start > 150 * 1024, "RSS grew by only %ld kB for a 200 MB peak (test broken?)", peak - start);
    CHECK(end - start <= 6 * 1024, "RSS start %ld kB, peak %ld kB, after freeing all %ld kB (> start + 6 MiB)",
          start, peak, end);
}

TEST(rss_bounded_over_rounds)
{
    long start0 = vm_rss_kb();
    for (uint64_t round = 0; round < 4; round++) {
        long start, peak, end;
        rss_peak(10 + round, 100u << 20, &start, &peak, &end);
        CHECK(end - start0 <= 16 * 1024, "round %d: RSS %ld kB at start, %ld kB after freeing all", (int)round,
              start0, end);
    }
}

/* Peaks freed round after round: a heap that shrinks and grows again keeps more free zones
 * resident (up to 8 MiB), but one that shrinks by far more than that is a peak freed, and leaves
 * what a single freed peak leaves (13.7 MiB after the fourth round without that rule, 7.9 with). */
TEST(rss_after_repeated_peaks)
{
    long start0 = vm_rss_kb(), start, peak, end = 0;
    for (uint64_t round = 0; round < 4; round++)
        rss_peak(20 + round, 100u << 20, &start, &peak, &end);
    CHECK(end - start0 <= 10 * 1024, "RSS %ld kB at start, %ld kB after the fourth 100 MB peak was freed", start0,
          end);
}

TEST(tiny_only_peak)
{
    /* Only TINY blocks: 64 MB of 16..256 B blocks. */
    static void *p[600000];
    long start = vm_rss_kb();
    size_t total = 0;
    int n = 0;
    while (total < (64u << 20) && n < 600000) {
        size_t s = 16 + (size_t)(n % 15) * 16;
        p[n] = malloc(s);
        CHECK(p[n] != NULL, "malloc failed");
        memset(p[n], 1, s);
        total += s;
        n++;
    }
    for (int i = 0; i < n; i += 2)
        free(p[i]);
    for (int i = 1; i < n; i += 2)
        free(p[i]);
    long end = vm_rss_kb();
    CHECK(end - start <= 16 * 1024, "TINY: RSS %ld kB before, %ld kB after freeing 64 MB", start, end);
}

/* Zones of 768 B to 4 KiB (768 KiB to 1 MiB each) filled, written, then freed class by class
 * through free's inline path: the free that could empty the current zone goes the slow way
 * (tcache/own_zones.cpp fit_push_limit), which gives the zone's pages back beyond the thread's
 * budget (4 MiB at most): 3.8 MiB stayed resident; freed inline without that look, 6.5 MiB. */
TEST(big_class_zones_give_back_after_free)
{
    static const size_t sizes[] = {768, 896, 1024, 1280, 1536, 1792, 2048, 2560, 3072, 3584, 4096};
    enum { kClasses = sizeof sizes / sizeof sizes[0], kPerClass = 1020 };
    static void *p[kClasses][kPerClass];
    long start = vm_rss_kb();
    size_t total = 0;
    for (int c = 0; c < kClasses; c++)
        for (int i = 0; i < kPerClass && total + sizes[c] <= (1u << 20) * (size_t)(c + 1); i++) {
            p[c][i] = malloc(sizes[c]);
            CHECK(p[c][i] != NULL, "malloc(%zu) failed", sizes[c]);
            memset(p[c][i], 0x5A, sizes[c]);
            total += sizes[c];
        }
    long peak = vm_rss_kb();
    CHECK(peak - start > 9 * 1024, "RSS grew by only %ld kB for 11 MiB written (test broken?)", peak - start);
    for (int c = 0; c < kClasses; c++)
        for (int i = 0; i < kPerClass; i++)
            if (p[c][i]) free(p[c][i]);
    long end = vm_rss_kb();
    CHECK(end - start <= 5 * 1024, "RSS %ld kB before, %ld kB at the peak, %ld kB after freeing all", start, peak, end);
}

static int maps_lines(void)
{
    read_file_raw("/proc/self/maps");
    int n = 0;
    for (const char *c = proc_buf; *c; c++)
        n += *c == '\n';
    return n;
}

/* Zones mapped one after another lie end to end, so the kernel merges them into a few memory
 * areas (a fork copies each area; the kernel allows 65,530). 100,000 blocks of 16..2000 B take
 * some 250 zones: the areas grew by 242 when each zone left a hole above it (glibc: none). */
TEST(zones_share_memory_areas)
{
    enum { N = 100000 };
    static void *p[N];
    int before = maps_lines();
    for (int i = 0; i < N; i++) {
        p[i] = malloc(16 + (size_t)(i * 37) % 2000);
        CHECK(p[i] != NULL, "malloc failed");
        memset(p[i], 1, 16);
    }
    int after = maps_lines();
    CHECK(after - before <= 24, "%d memory areas before 100,000 blocks, %d after", before, after);
    for (int i = 0; i < N; i++)
        free(p[i]);
}

/* The page faults the calling thread takes in user mode (a page written in the page tables by
 * MADV_POPULATE_WRITE counts in getrusage's minor faults, but not here). */
static int open_fault_counter(void)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_SOFTWARE;
    a.config = PERF_COUNT_SW_PAGE_FAULTS;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    int fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
    CHECK(fd >= 0, "perf_event_open (software page faults): %s", strerror(errno));
    return fd;
}

static long read_counter(int fd)
{
    long long v = 0;
    CHECK(read(fd, &v, sizeof v) == (ssize_t)sizeof v, "reading the fault counter: %s", strerror(errno));
    return (long)v;
}

/* 16 MiB of 1000-byte blocks, each written whole: 4096 pages, each faulted in by the program's
 * first write (a trap that costs 10 us on a virtual machine) unless a refill that takes chunks
 * never written asks for their pages, and some ahead, in one system call (tcache/own_zones.cpp
 * prefault_taken, from the class's second zone on; the header and bitmaps at the zone's
 * mapping): 292 faults, 256 of them the first zone's (1 MiB); 4,143 without (FT_MALLOC_TCACHE=0,
 * which still allocates so). */
/* The page faults taken allocating n blocks of `size` bytes and writing each whole; then frees them. */
static long faults_writing_blocks(int n, size_t size)
{
    static char *p[1 << 14];
    CHECK(n <= (int)(sizeof p / sizeof p[0]), "too many blocks");
    int fd = open_fault_counter();
    long before = read_counter(fd);
    for (int i = 0; i < n; i++) {
        p[i] = malloc(size);
        CHECK(p[i] != NULL, "malloc(%zu) failed", size);
        memset(p[i], 1, size);
    }
    long faults = read_counter(fd) - before;
    close(fd);
    for (int i = 0; i < n; i++)
        free(p[i]);
    return faults;
}

TEST(fresh_chunks_prefaulted)
{
    long faults = faults_writing_blocks(16 << 10, 1000);
    CHECK(faults <= 256 + 4096 / 16, "%ld page faults writing 16 MiB of new 1000-byte blocks (4096 pages)", faults);
}

/* Chunks of a page or more are asked for only while the program writes its blocks whole: 32 MiB
 * of 8000-byte blocks written whole, 529 faults (tcache/own_zones.cpp prefault_big: a look at one
 * block, then 16 refills without), 8,239 without (FT_MALLOC_TCACHE=0). */
TEST(big_chunks_written_whole_prefaulted)
{
    long faults = faults_writing_blocks(4096, 8000);
    CHECK(faults <= 8192 / 4, "%ld page faults writing 32 MiB of new 8000-byte blocks (8192 pages)", faults);
}

/* ... and a program that writes a page of each (a buffer sized for the worst case) has no more
 * resident than it writes: 2000 blocks of 60 KiB, one byte each, 8,264 kB (8,204 without the
 * tcache; 117 MiB asked for). */
TEST(big_chunks_written_in_part_not_prefaulted)
{
    enum { N = 2000 };
    static char *p[N];
    long start = vm_rss_kb();
    for (int i = 0; i < N; i++) {
        p[i] = malloc(60 << 10);
        CHECK(p[i] != NULL, "malloc failed");
        p[i][0] = 1;
    }
    long grown = vm_rss_kb() - start;
    CHECK(grown <= 12 * 1024, "RSS grew by %ld kB for 2000 blocks of 60 KiB with one byte written each", grown);
    for (int i = 0; i < N; i++)
        free(p[i]);
}

static const test_case cases[] = {
    CASE(large_munmap),
    CASE(large_munmap_many),
    CASE(large_realloc_moves_unmap),
    CASE(large_shrink_releases_memory),
    CASE(many_large_live),
    CASE(out_of_memory),
    CASE(rss_returns_after_peak),
    CASE(rss_bounded_over_rounds),
    CASE(rss_after_repeated_peaks),
    CASE(big_class_zones_give_back_after_free),
    CASE(tiny_only_peak),
    CASE(zones_share_memory_areas),
    CASE(fresh_chunks_prefaulted),
    CASE(big_chunks_written_whole_prefaulted),
    CASE(big_chunks_written_in_part_not_prefaulted),
};

RUN_CASES(cases)
