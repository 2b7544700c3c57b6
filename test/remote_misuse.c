/*
 * Double frees across threads: a block freed by two threads (remote frees: a thread frees a block
 * whose zone another thread's cache owns, src/tcache/remote_free.h), by its owner and another
 * thread in either order, after its owner exited, and realloc/malloc_usable_size of a block freed
 * by another thread. The two frees are never simultaneous (every step is ordered by a mutex or a
 * join, see remote_misuse.h): the second must be reported every time.
 *
 * Each misuse case prints "PTR 0x<hex>" on stdout (the pointer it is about to pass), then makes
 * the bad call. ft_malloc must print one line "ft_malloc: free(): double free 0x<hex> ..." (or
 * realloc()/malloc_usable_size(): use after free) and abort (default), or print it and go on
 * (FT_MALLOC_ERRORS=warn), or go on silently (ignore). When the program goes on it checks that
 * the blocks it holds are intact, that no block is handed out twice, frees everything across
 * threads and prints "CONTINUED". test/runner/remote_misuse.py checks all of that.
 *
 * The correct programs (no report at all) are in test/remote_ok.c.
 */
#include "remote_misuse.h"

/* ---- the block freed twice, its neighbours, and the jobs on them ----------------------------- */

#define KEEP 16     /* live neighbours of the block, allocated around it by the same thread */
#define MANY 1000   /* pending_twice: the owner holds that many more blocks */
#define EXTRA 200   /* owner_remote_flushed: frees that push the block out of the owner's cache */
#define CACHED 4    /* blocks allocated and freed by the owner: they sit in its cache */
#define BATCH 200   /* go_on(): blocks each thread allocates after the bad call */
#define P_ID 999

static struct {
    size_t size;
    int nkeep;
    char *p;
    char *keep[KEEP];
    char *many[MANY];
    int nmany;
    char *extra[EXTRA];
    char *cached[CACHED];
    void *q;
} T;

static void target(size_t size, int nkeep)
{
    memset(&T, 0, sizeof T);
    T.size = size;
    T.nkeep = nkeep;
}

static char *alloc_filled(uint64_t id)
{
    char *b = malloc(T.size);
    CHECK(b != NULL, "malloc(%zu) failed", T.size);
    pattern_fill(b, T.size, id);
    return b;
}

static void check_filled(const char *b, uint64_t id, const char *what)
{
    size_t bad = pattern_check(b, T.size, id);
    CHECK(bad == (size_t)-1, "%s %p (%zu B) corrupted at byte %zu", what, (const void *)b, T.size, bad);
}

/* The block and its neighbours, half of them before it, half after: the same zone. */
static void job_alloc(void *arg)
{
    (void)arg;
    for (int k = 0; k < T.nkeep / 2; k++)
        T.keep[k] = alloc_filled((uint64_t)k);
    T.p = alloc_filled(P_ID);
    for (int k = T.nkeep / 2; k < T.nkeep; k++)
        T.keep[k] = alloc_filled((uint64_t)k);
}

static void job_alloc_many(void *arg)
{
    (void)arg;
    for (int k = 0; k < MANY; k++)
        T.many[k] = alloc_filled(10000 + (uint64_t)k);
    T.nmany = MANY;
}

/* Blocks allocated and freed by the owner after the block: they stay in its cache. */
static void job_cache_some(void *arg)
{
    (void)arg;
    for (int k = 0; k < CACHED; k++)
        T.cached[k] = alloc_filled(20000 + (uint64_t)k);
    for (int k = 0; k < CACHED; k++)
        free(T.cached[k]);
}

static void job_alloc_cached(void *arg)
{
    (void)arg;
    for (int k = 0; k < CACHED; k++)
        T.cached[k] = alloc_filled(20000 + (uint64_t)k);
}

static void job_free_p_then_cached(void *arg)
{
    (void)arg;
    free(T.p);
    for (int k = 0; k < CACHED; k++)
        free(T.cached[k]);
}

static void job_alloc_extra(void *arg)
{
    (void)arg;
    for (int k = 0; k < EXTRA; k++)
        T.extra[k] = alloc_filled(30000 + (uint64_t)k);
}

static void job_free_extra(void *arg)
{
    (void)arg;
    for (int k = 0; k < EXTRA; k++) {
        check_filled(T.extra[k], 30000 + (uint64_t)k, "extra block");
        free(T.extra[k]);
    }
}

/* The first free: a correct one. */
static void job_free_p(void *arg)
{
    (void)arg;
    check_filled(T.p, P_ID, "the block");
    free(T.p);
}

/* The owner takes in the remote frees of its zones: its first malloc of a class it never used
 * refills that class's stack, which takes them in first (tcache::refill). Not of the block's class:
 * the block is not handed out again. */
static void job_take_in(void *arg)
{
    (void)arg;
    void *b[8];
    for (int k = 0; k < 8; k++) {
        b[k] = malloc(7000);
        CHECK(b[k] != NULL, "malloc(7000) failed");
    }
    for (int k = 0; k < 8; k++)
        free(b[k]);
}

/* ---- the bad calls ---- */
static void job_bad_free(void *arg)
{
    (void)arg;
    say("PTR %p", (void *)T.p);
    free(launder(T.p));
}

static void job_bad_realloc(void *arg)
{
    (void)arg;
    say("PTR %p", (void *)T.p);
    T.q = realloc(launder(T.p), 100);
    CHECK(T.q == NULL, "realloc of a block freed by another thread returned %p", T.q);
}

static void job_bad_usable(void *arg)
{
    (void)arg;
    say("PTR %p", (void *)T.p);
    size_t u = malloc_usable_size(launder(T.p));
    CHECK(u == 0, "malloc_usable_size of a block freed by another thread: %zu", u);
}

/* ---- after a bad call that did not abort -------------------------------------------------------- */

typedef struct {
    char *b[BATCH];
    uint64_t base;
} batch_t;

/* Fewer of the LARGE blocks (each is a mapping). */
static int batch_len(void) { return T.size > FT_SMALL_MAX ? 20 : BATCH; }

static void job_batch_alloc(void *arg)
{
    batch_t *bt = arg;
    for (int k = 0; k < batch_len(); k++)
        bt->b[k] = alloc_filled(bt->base + (uint64_t)k);
}

static void job_batch_free(void *arg)
{
    batch_t *bt = arg;
    for (int k = 0; k < batch_len(); k++) {
        check_filled(bt->b[k], bt->base + (uint64_t)k, "block allocated after the bad call");
        free(bt->b[k]);
    }
}

/* As bad_input.c's after(): the heap still works, every category. */
static void job_churn(void *arg)
{
    (void)arg;
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
}

static void job_free_held(void *arg)
{
    (void)arg;
    for (int k = 0; k < T.nkeep; k++) {
        check_filled(T.keep[k], (uint64_t)k, "neighbour");
        free(T.keep[k]);
    }
    for (int k = 0; k < T.nmany; k++) {
        check_filled(T.many[k], 10000 + (uint64_t)k, "held block");
        free(T.many[k]);
    }
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

/* The program went on after the report: what it holds is intact, each of the threads still alive
 * (and a fresh one) allocates BATCH blocks of the size, none of them overlaps another live block
 * (a block freed twice and handed out twice would), they are freed by the next thread, the heap
 * still works, and everything is freed. */
static void go_on(actor **alive, int n)
{
    enum { MAXA = 4 };
    actor fresh;
    actor *as[MAXA];
    int na = 0;
    for (int i = 0; i < n && na < MAXA - 1; i++)
        as[na++] = alive[i];
    actor_start(&fresh, 1);
    as[na++] = &fresh;
    static batch_t bt[MAXA];
    for (int i = 0; i < na; i++) {
        bt[i].base = 100000 + (uint64_t)i * 1000;
        actor_do(as[i], job_batch_alloc, &bt[i]);
    }
    static uintptr_t all[KEEP + MANY + MAXA * BATCH];
    size_t m = 0;
    for (int k = 0; k < T.nkeep; k++) {
        check_filled(T.keep[k], (uint64_t)k, "neighbour");
        all[m++] = (uintptr_t)T.keep[k];
    }
    for (int k = 0; k < T.nmany; k++) {
        check_filled(T.many[k], 10000 + (uint64_t)k, "held block");
        all[m++] = (uintptr_t)T.many[k];
    }
    for (int i = 0; i < na; i++)
        for (int k = 0; k < batch_len(); k++) {
            check_filled(bt[i].b[k], bt[i].base + (uint64_t)k, "block allocated after the bad call");
            all[m++] = (uintptr_t)bt[i].b[k];
        }
    qsort(all, m, sizeof all[0], cmp_ptr);
    for (size_t k = 1; k < m; k++)
        CHECK(all[k] - all[k - 1] >= T.size, "live blocks %#lx and %#lx (%zu B) overlap%s",
              (unsigned long)all[k - 1], (unsigned long)all[k], T.size,
              all[k] == (uintptr_t)T.p || all[k - 1] == (uintptr_t)T.p ? ": the block freed twice was handed out twice"
                                                                        : "");
    for (int i = 0; i < na; i++)
        actor_do(as[i], job_batch_free, &bt[(i + 1) % na]);
    actor_do(as[0], job_churn, NULL);
    actor_do(&fresh, job_churn, NULL);
    actor_do(&fresh, job_free_held, NULL);
    actor_stop(&fresh);
    say("CONTINUED");
}

/* ---- the cases ---------------------------------------------------------------------------------- */

/* A allocates; B frees (a remote free), B is joined; C frees again. take_in: A takes in B's free
 * between the two. warm: B and C have thread caches. */
static void remote_remote(size_t size, int warm, int take_in)
{
    actor a, b, c;
    target(size, KEEP);
    actor_start(&a, 1);
    actor_do(&a, job_alloc, NULL);
    actor_start(&b, warm);
    actor_do(&b, job_free_p, NULL);
    actor_stop(&b);
    if (take_in)
        actor_do(&a, job_take_in, NULL);
    actor_start(&c, warm);
    actor_do(&c, job_bad_free, NULL);
    go_on((actor *[]){&a, &c}, 2);
    actor_stop(&a);
    actor_stop(&c);
}

TEST(remote_remote_tiny) { remote_remote(SZ_TINY, 1, 0); }
TEST(remote_remote_small) { remote_remote(SZ_SMALL, 1, 0); }
TEST(remote_remote_20k) { remote_remote(20 * 1024, 1, 0); }
TEST(remote_remote_large) { remote_remote(SZ_LARGE, 1, 0); }
TEST(remote_remote_cold) { remote_remote(SZ_TINY, 0, 0); }
TEST(remote_taken_in_remote) { remote_remote(SZ_TINY, 1, 1); }
TEST(remote_taken_in_remote_small) { remote_remote(SZ_SMALL, 1, 1); }

/* A allocates, frees a few blocks (they sit in its cache) and waits; B frees the block; A frees it
 * again. */
static void remote_owner(size_t size, int warm)
{
    actor a, b;
    target(size, KEEP);
    actor_start(&a, 1);
    actor_do(&a, job_alloc, NULL);
    actor_do(&a, job_cache_some, NULL);
    actor_start(&b, warm);
    actor_do(&b, job_free_p, NULL);
    actor_stop(&b);
    actor_do(&a, job_bad_free, NULL);
    go_on((actor *[]){&a}, 1);
    actor_stop(&a);
}

TEST(remote_owner_tiny) { remote_owner(SZ_TINY, 1); }
TEST(remote_owner_small) { remote_owner(SZ_SMALL, 1); }
TEST(remote_owner_20k) { remote_owner(20 * 1024, 1); }
TEST(remote_owner_cold) { remote_owner(SZ_TINY, 0); }

/* A frees its own block (into its cache; flushed: pushed out of the cache into its zone by EXTRA
 * frees after it); then B frees it. */
static void owner_remote(size_t size, int flushed)
{
    actor a, b;
    target(size, KEEP);
    actor_start(&a, 1);
    actor_do(&a, job_alloc, NULL);
    if (flushed)
        actor_do(&a, job_alloc_extra, NULL);
    actor_do(&a, job_free_p, NULL);
    if (flushed)
        actor_do(&a, job_free_extra, NULL);
    actor_start(&b, 1);
    actor_do(&b, job_bad_free, NULL);
    go_on((actor *[]){&a, &b}, 2);
    actor_stop(&a);
    actor_stop(&b);
}

TEST(owner_remote_tiny) { owner_remote(SZ_TINY, 0); }
TEST(owner_remote_small) { owner_remote(SZ_SMALL, 0); }
TEST(owner_remote_20k) { owner_remote(20 * 1024, 0); }
TEST(owner_remote_large) { owner_remote(SZ_LARGE, 0); }
TEST(owner_remote_flushed_tiny) { owner_remote(SZ_TINY, 1); }
TEST(owner_remote_flushed_small) { owner_remote(SZ_SMALL, 1); }

/* A allocates many blocks and stays idle (never allocates again: it never takes in the remote
 * frees); B frees one and stays; C frees the same one: the first free is still pending. */
static void pending_twice(size_t size, int warm)
{
    actor a, b, c;
    target(size, KEEP);
    actor_start(&a, 1);
    actor_do(&a, job_alloc, NULL);
    actor_do(&a, job_alloc_many, NULL);
    actor_start(&b, warm);
    actor_start(&c, warm);
    actor_do(&b, job_free_p, NULL);
    actor_do(&c, job_bad_free, NULL);
    go_on((actor *[]){&a, &b, &c}, 3);
    actor_stop(&a);
    actor_stop(&b);
    actor_stop(&c);
}

TEST(pending_twice_tiny) { pending_twice(SZ_TINY, 1); }
TEST(pending_twice_small) { pending_twice(SZ_SMALL, 1); }
TEST(pending_twice_20k) { pending_twice(20 * 1024, 1); }
TEST(pending_twice_cold) { pending_twice(SZ_TINY, 0); }

/* A allocates the block and its neighbours, frees the block and a few more (in its cache), exits;
 * B frees the block. B is started before A exits: nothing is allocated between A's exit and
 * B's free. nkeep 0: A's zone is left without a block (given back, or kept empty). */
static void cached_owner_exited(size_t size, int warm, int nkeep)
{
    actor a, b;
    target(size, nkeep);
    actor_start(&a, 1);
    actor_do(&a, job_alloc, NULL);
    actor_do(&a, job_alloc_cached, NULL);
    actor_do(&a, job_free_p_then_cached, NULL);
    actor_start(&b, warm);
    actor_stop(&a);
    actor_do(&b, job_bad_free, NULL);
    go_on((actor *[]){&b}, 1);
    actor_stop(&b);
}

TEST(cached_owner_exited_tiny) { cached_owner_exited(SZ_TINY, 1, KEEP); }
TEST(cached_owner_exited_small) { cached_owner_exited(SZ_SMALL, 1, KEEP); }
TEST(cached_owner_exited_cold) { cached_owner_exited(SZ_TINY, 0, KEEP); }
TEST(cached_all_freed_owner_exited) { cached_owner_exited(SZ_TINY, 1, 0); }

/* B frees the block (pending), then its owner A exits (its zones change hands with a free
 * pending), then C frees it. */
TEST(pending_owner_exited)
{
    actor a, b, c;
    target(SZ_TINY, KEEP);
    actor_start(&a, 1);
    actor_do(&a, job_alloc, NULL);
    actor_start(&b, 1);
    actor_start(&c, 1);
    actor_do(&b, job_free_p, NULL);
    actor_stop(&b);
    actor_stop(&a);
    actor_do(&c, job_bad_free, NULL);
    go_on((actor *[]){&c}, 1);
    actor_stop(&c);
}

/* A allocates and exits; B frees (adopting the zone when it has a cache); C frees again, with B
 * joined or still running. */
static void exited_owner(size_t size, int warm, int adopter_alive)
{
    actor a, b, c;
    target(size, KEEP);
    actor_start(&a, 1);
    actor_do(&a, job_alloc, NULL);
    actor_start(&b, warm);
    actor_start(&c, warm);
    actor_stop(&a);
    actor_do(&b, job_free_p, NULL);
    if (!adopter_alive)
        actor_stop(&b);
    actor_do(&c, job_bad_free, NULL);
    go_on((actor *[]){&c, &b}, adopter_alive ? 2 : 1);
    actor_stop(&b);
    actor_stop(&c);
}

TEST(exited_owner_two_frees) { exited_owner(SZ_TINY, 1, 0); }
TEST(exited_owner_two_frees_small) { exited_owner(SZ_SMALL, 1, 0); }
TEST(exited_owner_adopter_alive) { exited_owner(SZ_TINY, 1, 1); }
TEST(exited_owner_cold) { exited_owner(SZ_TINY, 0, 1); }

/* realloc and malloc_usable_size of a block freed by another thread (still pending), called by a
 * third thread or by the owner. */
static void misuse_after_remote_free(size_t size, int by_owner, job_fn bad)
{
    actor a, b, c;
    target(size, KEEP);
    actor_start(&a, 1);
    actor_do(&a, job_alloc, NULL);
    actor_start(&b, 1);
    actor_do(&b, job_free_p, NULL);
    actor_stop(&b);
    if (by_owner) {
        actor_do(&a, bad, NULL);
        go_on((actor *[]){&a}, 1);
    } else {
        actor_start(&c, 1);
        actor_do(&c, bad, NULL);
        go_on((actor *[]){&a, &c}, 2);
        actor_stop(&c);
    }
    actor_stop(&a);
}

TEST(realloc_remote_freed) { misuse_after_remote_free(SZ_TINY, 0, job_bad_realloc); }
TEST(realloc_remote_freed_small) { misuse_after_remote_free(SZ_SMALL, 0, job_bad_realloc); }
TEST(realloc_remote_freed_by_owner) { misuse_after_remote_free(SZ_TINY, 1, job_bad_realloc); }
TEST(usable_size_remote_freed) { misuse_after_remote_free(SZ_TINY, 0, job_bad_usable); }
TEST(usable_size_remote_freed_by_owner) { misuse_after_remote_free(SZ_SMALL, 1, job_bad_usable); }

static const test_case cases[] = {
    CASE(remote_remote_tiny),
    CASE(remote_remote_small),
    CASE(remote_remote_20k),
    CASE(remote_remote_large),
    CASE(remote_remote_cold),
    CASE(remote_taken_in_remote),
    CASE(remote_taken_in_remote_small),
    CASE(remote_owner_tiny),
    CASE(remote_owner_small),
    CASE(remote_owner_20k),
    CASE(remote_owner_cold),
    CASE(owner_remote_tiny),
    CASE(owner_remote_small),
    CASE(owner_remote_20k),
    CASE(owner_remote_large),
    CASE(owner_remote_flushed_tiny),
    CASE(owner_remote_flushed_small),
    CASE(pending_twice_tiny),
    CASE(pending_twice_small),
    CASE(pending_twice_20k),
    CASE(pending_twice_cold),
    CASE(cached_owner_exited_tiny),
    CASE(cached_owner_exited_small),
    CASE(cached_owner_exited_cold),
    CASE(cached_all_freed_owner_exited),
    CASE(pending_owner_exited),
    CASE(exited_owner_two_frees),
    CASE(exited_owner_two_frees_small),
    CASE(exited_owner_adopter_alive),
    CASE(exited_owner_cold),
    CASE(realloc_remote_freed),
    CASE(realloc_remote_freed_small),
    CASE(realloc_remote_freed_by_owner),
    CASE(usable_size_remote_freed),
    CASE(usable_size_remote_freed_by_owner),
    /* correct programs: test/remote_ok.c */
    CASE(producer_consumer),
    CASE(dump_after_remote_free),
    CASE(dump_after_remote_free_owner_exited),
    CASE(reuse_after_take_in),
};

int main(int argc, char **argv)
{
#ifdef FT_TEST_REMOTE_PRELOAD
    if (argc > 1 && strcmp(argv[1], "--list"))
        CHECK(show_alloc_mem != NULL, "show_alloc_mem not found: run with LD_PRELOAD of ft_malloc");
#endif
    return run_case(cases, sizeof cases / sizeof cases[0], argc, argv);
}
