/*
 * Invalid pointers handed to free/realloc/malloc_usable_size.
 *
 * Each case prints "PTR 0x<hex>" on stdout (the exact pointer it is about to pass, flushed), then
 * makes the bad call. ft_malloc must print one line "ft_malloc: <call>(): ... 0x<hex> ..." on stderr
 * and abort (default), or print it and go on (FT_MALLOC_ERRORS=warn), or go on silently
 * (FT_MALLOC_ERRORS=ignore). When the program goes on it checks that the heap still works and
 * prints "CONTINUED". run_tests.py checks all of that.
 */
#include "common.h"

#include <pthread.h>

static long page;
static int global_var[64];

static void announce(const void *p)
{
    printf("PTR %p\n", p);
    fflush(stdout);
}

/* After a bad call that did not abort: the heap must still work. */
static void after(void)
{
    void *keep[300];
    for (int i = 0; i < 300; i++) {
        size_t s = (size_t)(i * 53) % 3000 + (i % 50 == 0 ? 200000 : 0);
        keep[i] = malloc(s);
        CHECK(keep[i] != NULL, "malloc(%zu) failed after the bad call", s);
        pattern_fill(keep[i], s, (uint64_t)i);
    }
    for (int i = 0; i < 300; i++) {
        size_t s = (size_t)(i * 53) % 3000 + (i % 50 == 0 ? 200000 : 0);
        CHECK(pattern_check(keep[i], s, (uint64_t)i) == (size_t)-1, "block corrupted after the bad call");
        free(keep[i]);
    }
    printf("CONTINUED\n");
    fflush(stdout);
}

static void bad_free(void *p)
{
    announce(p);
    free(p);
}

TEST(free_stack)
{
    char buf[64];
    bad_free(launder(buf + 16));
    after();
}

TEST(free_global)
{
    bad_free(launder(&global_var[4]));
    after();
}

TEST(free_0x10)
{
    bad_free(launder((void *)0x10));
    after();
}

TEST(free_unmapped)
{
    void *p = (void *)0x100000000000;
    CHECK(!addr_mapped((uintptr_t)p), "0x100000000000 happens to be mapped");
    bad_free(launder(p));
    after();
}

TEST(free_program_mmap)
{
    void *m = mmap(NULL, (size_t)page * 4, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(m != MAP_FAILED, "mmap failed");
    memset(m, 0, (size_t)page * 4);
    bad_free(launder((char *)m + page));
    after();
}

static void interior(size_t size, size_t off)
{
    char *p = malloc(size);
    CHECK(p != NULL, "malloc(%zu) failed", size);
    memset(p, 1, size);
    bad_free(launder(p + off));
    after();
    free(p);
}

TEST(free_tiny_plus1) { interior(SZ_TINY, 1); }
TEST(free_tiny_plus16) { interior(64, 16); }
TEST(free_small_plus1) { interior(SZ_SMALL, 1); }
TEST(free_small_plus16) { interior(SZ_SMALL, 16); }
TEST(free_large_plus16) { interior(SZ_LARGE, 16); }
TEST(free_large_plus4096) { interior(SZ_LARGE, 4096); }

static void double_free(size_t size, int others)
{
    void *o[8];
    for (int i = 0; i < others; i++)
        o[i] = malloc(size);
    void *p = malloc(size);
    CHECK(p != NULL, "malloc(%zu) failed", size);
    memset(p, 2, size);
    free(p);
    for (int i = 0; i < others; i++)
        free(o[i]);
    bad_free(launder(p));
    after();
}

TEST(double_free_tiny) { double_free(SZ_TINY, 0); }
TEST(double_free_small) { double_free(SZ_SMALL, 0); }
TEST(double_free_large) { double_free(SZ_LARGE, 0); }
TEST(double_free_tiny_frees_between) { double_free(SZ_TINY, 8); }
TEST(double_free_small_frees_between) { double_free(SZ_SMALL, 8); }
TEST(double_free_large_frees_between) { double_free(SZ_LARGE, 8); }

/* A thread with a cancellation request pending makes the second free. The report is written
 * with write(2), a cancellation point: written so, the thread went away inside free(), the
 * report unwritten, the abort never made (glibc's malloc is no cancellation point either, BZ
 * #22830). The report must be written and the mode obeyed; the thread acts on its cancellation
 * at its next cancellation point. */
static pthread_barrier_t cancel_gate;

static void *free_with_cancel_pending(void *p)
{
    pthread_barrier_wait(&cancel_gate); /* not a cancellation point: the request waits */
    free(p);
    pthread_testcancel();
    return NULL;
}

TEST(double_free_cancel_pending)
{
    void *p = malloc(SZ_TINY);
    CHECK(p != NULL, "malloc failed");
    free(p);
    announce(p); /* here: stdio is a cancellation point */
    pthread_t t;
    void *rv = NULL;
    CHECK(pthread_barrier_init(&cancel_gate, NULL, 2) == 0, "pthread_barrier_init");
    CHECK(pthread_create(&t, NULL, free_with_cancel_pending, launder(p)) == 0, "pthread_create");
    CHECK(pthread_cancel(t) == 0, "pthread_cancel");
    pthread_barrier_wait(&cancel_gate);
    CHECK(pthread_join(t, &rv) == 0, "pthread_join");
    CHECK(rv == PTHREAD_CANCELED, "the thread was not cancelled");
    after();
}

/* Both frees of a block of the current zone of its class while the thread last allocated from
 * another class: the route that frees through the cache's copy of the zone's layout found from
 * the registry entry's class (tcache/own_zones.cpp free_unlocked), not the inline fast path. */
TEST(double_free_tiny_other_class_last)
{
    char *p = malloc(SZ_TINY);
    CHECK(p != NULL, "malloc(%d) failed", SZ_TINY);
    void *q = malloc(SZ_SMALL);
    free(p);
    void *r = malloc(SZ_SMALL);
    bad_free(launder(p));
    free(q);
    free(r);
    after();
}

/* The second free of a block that its class's stack still names just above the count: free's
 * first test (tcache/cache_fast_path.h last_popped) takes the block for the one the last malloc
 * handed out, and its live bit must still say it was freed. x is handed out, freed, handed out
 * again from the same entry; z from the entry below; x freed (pushed where z's entry was, the
 * old entry of x now just above the count) and freed again. */
TEST(double_free_named_by_stale_stack_entry)
{
    char *x = malloc(SZ_TINY);
    CHECK(x != NULL, "malloc(%d) failed", SZ_TINY);
    free(x);
    char *again = malloc(SZ_TINY);
    CHECK(again == x, "the block freed last (%p) was not the next handed out (%p)", (void *)x, (void *)again);
    char *z = malloc(SZ_TINY);
    free(x);
    bad_free(launder(x));
    free(z);
    after();
}

/* The second free comes when the block's mapping waits in the LARGE cache, long after the
 * allocator's short memory of recent frees moved on (70 frees of another block in between). */
TEST(double_free_large_cached_long_after)
{
    char *p = malloc(1 << 20);
    char *other = malloc(2 << 20);
    CHECK(p && other, "malloc failed");
    memset(p, 2, 1 << 20);
    free(p);
    free(other);
    for (int i = 0; i < 70; i++) {
        char *q = malloc(2 << 20);
        CHECK(q != NULL, "malloc failed");
        q[0] = 1;
        free(q);
    }
    bad_free(launder(p));
    after();
}

/* The second free comes after the block's mapping, cached, gave its pages to a longer block
 * (gathered: large_cache.h take_pieces). The mapping of 2 MiB is the last of three pieces of a
 * 10 MiB block, its range unmapped: the report still says double free. */
TEST(double_free_large_gathered)
{
    char *a = malloc(4 << 20), *b = malloc(4 << 20), *p = malloc(2 << 20);
    CHECK(a && b && p, "malloc failed");
    memset(p, 2, 2 << 20);
    free(a);
    free(b);
    free(p);
    char *big = malloc(10 << 20);
    CHECK(big != NULL, "malloc(10 MiB) failed");
    CHECK(p < big || p >= big + (10 << 20), "the block of 10 MiB starts at the freed one: the case tests nothing");
    bad_free(launder(p));
    free(big);
    after();
}

/* A pointer into a freed LARGE block whose mapping the cache keeps: not ours any more. */
TEST(free_inside_cached_large)
{
    char *p = malloc(1 << 20);
    CHECK(p != NULL, "malloc failed");
    memset(p, 2, 1 << 20);
    free(p);
    bad_free(launder(p + 8192));
    after();
}

TEST(double_free_zero_size)
{
    double_free(0, 3);
}

TEST(realloc_freed)
{
    void *p = malloc(SZ_TINY);
    CHECK(p != NULL, "malloc failed");
    void *keep = malloc(SZ_TINY); /* keeps the zone alive */
    free(p);
    announce(p);
    void *q = realloc(launder(p), 100);
    (void)q;
    after();
    free(keep);
}

TEST(realloc_freed_small)
{
    void *p = malloc(SZ_SMALL);
    void *keep = malloc(SZ_SMALL);
    free(p);
    announce(p);
    void *q = realloc(launder(p), 10);
    (void)q;
    after();
    free(keep);
}

TEST(realloc_stack)
{
    char buf[64];
    announce(buf);
    void *q = realloc(launder(buf), 100);
    (void)q;
    after();
}

TEST(realloc_interior)
{
    char *p = malloc(SZ_SMALL);
    CHECK(p != NULL, "malloc failed");
    announce(p + 16);
    void *q = realloc(launder(p + 16), 2000);
    (void)q;
    after();
    free(p);
}

TEST(realloc_large_interior)
{
    char *p = malloc(SZ_LARGE);
    CHECK(p != NULL, "malloc failed");
    announce(p + 4096);
    void *q = realloc(launder(p + 4096), 10);
    (void)q;
    after();
    free(p);
}

TEST(usable_size_stack)
{
    char buf[64];
    announce(buf);
    size_t u = malloc_usable_size(launder(buf));
    (void)u;
    after();
}

TEST(usable_size_freed)
{
    void *p = malloc(SZ_SMALL);
    void *keep = malloc(SZ_SMALL);
    free(p);
    announce(p);
    size_t u = malloc_usable_size(launder(p));
    (void)u;
    after();
    free(keep);
}

TEST(stale_zone_pointer)
{
    /* Fill many zones of one class, free everything: all zones but one reserve and those kept
     * within the pool's budget (2 MiB: 32 zones of 32 B chunks) go back to the system. Then free
     * a pointer that lay in a zone that is no longer mapped. */
    enum { N = 160000 };
    static void *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = malloc(SZ_TINY);
        CHECK(p[i] != NULL, "malloc failed");
    }
    for (int i = 0; i < N; i++)
        free(p[i]);
    void *stale = NULL;
    for (int i = 0; i < N && !stale; i++)
        if (!addr_mapped((uintptr_t)p[i]))
            stale = p[i];
    CHECK(stale != NULL, "no zone went back to the system after freeing %d blocks of %d B", N, SZ_TINY);
    bad_free(launder(stale));
    after();
}

static const test_case cases[] = {
    CASE(free_stack),
    CASE(free_global),
    CASE(free_0x10),
    CASE(free_unmapped),
    CASE(free_program_mmap),
    CASE(free_tiny_plus1),
    CASE(free_tiny_plus16),
    CASE(free_small_plus1),
    CASE(free_small_plus16),
    CASE(free_large_plus16),
    CASE(free_large_plus4096),
    CASE(double_free_tiny),
    CASE(double_free_small),
    CASE(double_free_large),
    CASE(double_free_tiny_frees_between),
    CASE(double_free_small_frees_between),
    CASE(double_free_large_frees_between),
    CASE(double_free_cancel_pending),
    CASE(double_free_large_cached_long_after),
    CASE(double_free_tiny_other_class_last),
    CASE(double_free_named_by_stale_stack_entry),
    CASE(double_free_large_gathered),
    CASE(free_inside_cached_large),
    CASE(double_free_zero_size),
    CASE(realloc_freed),
    CASE(realloc_freed_small),
    CASE(realloc_stack),
    CASE(realloc_interior),
    CASE(realloc_large_interior),
    CASE(usable_size_stack),
    CASE(usable_size_freed),
    CASE(stale_zone_pointer),
};

int main(int argc, char **argv)
{
    page = sysconf(_SC_PAGESIZE);
    /* Give stdout its buffer now, so no allocation happens between computing a bad pointer and
     * passing it (a new zone could otherwise be mapped where a stale pointer points). */
    if (argc > 1 && strcmp(argv[1], "--list")) {
        printf("START %s\n", argv[1]);
        fflush(stdout);
    }
    return run_case(cases, sizeof cases / sizeof cases[0], argc, argv);
}
