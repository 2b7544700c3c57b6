/* The remote-misuse program's correct cases (the case table is in test/remote_misuse.c): blocks
 * handed between threads and freed by the other one, threads exiting midway, and the dumps and
 * statistics right after a remote free, before its owner has taken it in. ft_malloc must report
 * nothing; a freed block must never appear live. */
#include "remote_misuse.h"

/* ---- producer/consumer ------------------------------------------------------------------------ */
/* NW workers in a ring: worker i allocates blocks and pushes them to queue i+1 (to the next one
 * when that is full, ..., or frees them itself when all are), pops blocks from queue i, checks and
 * frees them: every popped block was made by another thread. Their quotas differ, so workers exit
 * while the others go on, and the blocks they made are freed after their exit (zones adopted).
 * ROUNDS rounds of workers share the queues; the main thread drains them at the end. Halfway
 * through each round the workers wait at a barrier while the main thread checks the dump: every
 * queued block is listed, no freed one is (their owners are alive and have not taken the frees
 * in), and mallinfo2 counts the queued blocks' chunks. */
#define NW 6
#define ROUNDS 3
#define QCAP 2048
#define RECS (1 << 20)

typedef struct {
    uint64_t id;
    uint32_t size;
    int32_t maker;
} blk;

typedef struct {
    pthread_mutex_t m;
    blk *slot[QCAP];
    unsigned head, count;
} queue;

typedef struct {
    int idx, round;
    long quota, mid;
    long made, remote, own, reallocs;
} worker;

static queue qs[NW];
static pthread_barrier_t mid_barrier;
static struct {
    uintptr_t p;
    size_t size;
} recs[RECS];
static unsigned long nrecs;

static int q_push(queue *q, blk *b)
{
    pthread_mutex_lock(&q->m);
    int ok = q->count < QCAP;
    if (ok) {
        q->slot[(q->head + q->count) % QCAP] = b;
        q->count++;
    }
    pthread_mutex_unlock(&q->m);
    return ok;
}

static blk *q_pop(queue *q)
{
    pthread_mutex_lock(&q->m);
    blk *b = NULL;
    if (q->count) {
        b = q->slot[q->head];
        q->head = (q->head + 1) % QCAP;
        q->count--;
    }
    pthread_mutex_unlock(&q->m);
    return b;
}

/* Odd sizes: nothing else in the process (the C library's own blocks) has them. */
static size_t pc_size(rng_t *r)
{
    uint64_t k = rng_below(r, 1000);
    size_t s;
    if (k < 2)
        s = FT_SMALL_MAX + 1 + rng_below(r, 100000);
    else if (k < 50)
        s = 1025 + rng_below(r, 30000);
    else if (k < 350)
        s = FT_TINY_MAX + 1 + rng_below(r, 768);
    else
        s = sizeof(blk) + rng_below(r, FT_TINY_MAX - sizeof(blk));
    return s | 1;
}

static void blk_fill(blk *b, uint64_t id, size_t size, int maker)
{
    b->id = id;
    b->size = (uint32_t)size;
    b->maker = maker;
    pattern_fill(b + 1, size - sizeof *b, id);
}

static void blk_check(const blk *b, size_t n, const char *when)
{
    size_t bad = pattern_check(b + 1, n - sizeof *b, b->id);
    CHECK(bad == (size_t)-1, "%s: block %p id %#llx (%u B, made by worker %d) corrupted at byte %zu", when,
          (const void *)b, (unsigned long long)b->id, b->size, b->maker, bad + sizeof *b);
}

/* To the next worker's queue, or the one after when it is full, ...: to another thread. */
static int q_push_other(int idx, blk *b)
{
    for (int k = 1; k < NW; k++)
        if (q_push(&qs[(idx + k) % NW], b))
            return 1;
    return 0;
}

static void release(blk *b, worker *w, int self)
{
    blk_check(b, b->size, "before its free");
    unsigned long k = __atomic_fetch_add(&nrecs, 1, __ATOMIC_RELAXED);
    if (k < RECS) {
        recs[k].p = (uintptr_t)b;
        recs[k].size = b->size;
    }
    if (w) {
        if (b->maker == self)
            w->own++;
        else
            w->remote++;
    }
    free(b);
}

static void *pc_worker(void *arg)
{
    worker *w = arg;
    rng_t r;
    rng_seed(&r, (uint64_t)(w->round * NW + w->idx) + 77);
    int self = w->round * NW + w->idx;
    for (long i = 0; i < w->quota; i++) {
        if (i == w->mid) {
            pthread_barrier_wait(&mid_barrier);  /* the main thread checks the dump */
            pthread_barrier_wait(&mid_barrier);
        }
        size_t size = pc_size(&r);
        blk *b = rng_below(&r, 8) ? malloc(size) : calloc(1, size);
        CHECK(b != NULL, "allocation of %zu B failed", size);
        blk_fill(b, ((uint64_t)self << 40) | (uint64_t)i, size, self);
        w->made++;
        if (!q_push_other(w->idx, b))
            release(b, w, self);
        int takes = 1 + (rng_below(&r, 4) == 0);
        for (int t = 0; t < takes; t++) {
            blk *x = q_pop(&qs[w->idx]);
            if (!x)
                break;
            if (rng_below(&r, 16) == 0) {
                /* realloc of another thread's block, checked, and sent on */
                size_t old = x->size, ns;
                do  /* of the same category: the counts below tell zones from LARGE blocks by size */
                    ns = pc_size(&r);
                while ((ns > FT_SMALL_MAX) != (old > FT_SMALL_MAX));
                blk *y = realloc(x, ns);
                CHECK(y != NULL, "realloc(%zu) failed", ns);
                blk_check(y, old < ns ? old : ns, "after realloc");
                blk_fill(y, y->id, ns, self);
                w->reallocs++;
                if (!q_push_other(w->idx, y))
                    release(y, w, self);
                continue;
            }
            release(x, w, self);
        }
    }
    return NULL;
}

static int cmp_uptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

/* The dump while every worker waits: each queued block listed with its size, no freed one. */
static void check_dump_live(struct mallinfo2 base)
{
    static uintptr_t live[NW * QCAP];
    size_t n = 0;
    size_t zone_bytes = 0, large_bytes = 0;
    for (int q = 0; q < NW; q++)
        for (unsigned k = 0; k < qs[q].count; k++) {
            blk *b = qs[q].slot[(qs[q].head + k) % QCAP];
            live[n++] = (uintptr_t)b;
            if (b->size > FT_SMALL_MAX)
                large_bytes += b->size;
            else  /* its chunk: a block shrunk in place by realloc keeps its bigger one */
                zone_bytes += (malloc_usable_size(b) + FT_TINY_STEP - 1) / FT_TINY_STEP * FT_TINY_STEP;
        }
    struct mallinfo2 m = mallinfo2();
    dump_index(dump_plain());
    for (size_t k = 0; k < n; k++) {
        const blk *b = (const blk *)live[k];
        CHECK(dump_index_has(b, b->size), "the queued block %p of %u B is not in show_alloc_mem's output", (void *)b,
              b->size);
    }
    qsort(live, n, sizeof live[0], cmp_uptr);
    unsigned long nr = nrecs < RECS ? nrecs : RECS;
    for (unsigned long k = 0; k < nr; k++) {
        uintptr_t key = recs[k].p;
        if (bsearch(&key, live, n, sizeof live[0], cmp_uptr))
            continue;  /* freed, and allocated again since */
        CHECK(!dump_index_has((void *)recs[k].p, recs[k].size),
              "show_alloc_mem lists the freed block %#lx (%zu B) as live", (unsigned long)recs[k].p, recs[k].size);
    }
    /* mallinfo2 counts the same: the queued blocks' chunks, and the C library's few blocks. */
    CHECK(m.uordblks >= base.uordblks + zone_bytes && m.uordblks <= base.uordblks + zone_bytes + 16384,
          "mallinfo2: %zu B in use in zones, %zu before the run and %zu B of queued blocks", m.uordblks,
          base.uordblks, zone_bytes);
    CHECK(m.hblkhd >= base.hblkhd + large_bytes, "mallinfo2: %zu B of LARGE mappings, %zu B of queued LARGE blocks",
          m.hblkhd, large_bytes);
}

TEST_EXTERN(producer_consumer)
{
    long base = 8000 * test_scale();
    for (int q = 0; q < NW; q++)
        CHECK(pthread_mutex_init(&qs[q].m, NULL) == 0, "pthread_mutex_init");
    struct mallinfo2 before = mallinfo2();
    long made = 0, remote = 0, own = 0, reallocs = 0;
    for (int round = 0; round < ROUNDS; round++) {
        CHECK(pthread_barrier_init(&mid_barrier, NULL, NW + 1) == 0, "pthread_barrier_init");
        pthread_t t[NW];
        static worker w[NW];
        for (int i = 0; i < NW; i++) {
            memset(&w[i], 0, sizeof w[i]);
            w[i].idx = i;
            w[i].round = round;
            w[i].quota = base * (2 + (i + round) % NW) / 2;
            w[i].mid = base / 2;
            CHECK(pthread_create(&t[i], NULL, pc_worker, &w[i]) == 0, "pthread_create failed");
        }
        pthread_barrier_wait(&mid_barrier);
        check_dump_live(before);
        pthread_barrier_wait(&mid_barrier);
        for (int i = 0; i < NW; i++) {
            CHECK(pthread_join(t[i], NULL) == 0, "pthread_join failed");
            made += w[i].made, remote += w[i].remote, own += w[i].own, reallocs += w[i].reallocs;
        }
        pthread_barrier_destroy(&mid_barrier);
    }
    long drained = 0;
    for (int q = 0; q < NW; q++)
        for (blk *b; (b = q_pop(&qs[q])) != NULL; drained++)
            release(b, NULL, -1);
    say("STATS made %ld, freed by another thread %ld, by their maker %ld, drained %ld, reallocs %ld", made, remote,
        own, drained, reallocs);
    CHECK(remote > made / 4, "only %ld of %ld blocks freed by another thread", remote, made);
    CHECK(remote + own + drained == made, "%ld blocks made, %ld freed", made, remote + own + drained);

    /* Everything is freed: show_alloc_mem lists none of the blocks, mallinfo2 is back where it was. */
    struct mallinfo2 after = mallinfo2();
    dump_index(dump_plain());
    unsigned long nr = nrecs < RECS ? nrecs : RECS;
    for (unsigned long k = 0; k < nr; k++)
        CHECK(!dump_index_has((void *)recs[k].p, recs[k].size),
              "show_alloc_mem lists the freed block %#lx (%zu B) after the run", (unsigned long)recs[k].p,
              recs[k].size);
    CHECK(after.uordblks <= before.uordblks + 65536, "mallinfo2: %zu B in use in zones after the run, %zu before",
          after.uordblks, before.uordblks);
    CHECK(after.hblkhd <= before.hblkhd, "mallinfo2: %zu B of LARGE mappings after the run, %zu before", after.hblkhd,
          before.hblkhd);
}

/* ---- dumps right after a remote free ----------------------------------------------------------- */

#define NB 9
static struct {
    size_t size;
    char *b[NB];  /* b[NB / 2] is freed by another thread */
} D;

static void job_alloc_d(void *arg)
{
    (void)arg;
    for (int k = 0; k < NB; k++) {
        D.b[k] = malloc(D.size);
        CHECK(D.b[k] != NULL, "malloc(%zu) failed", D.size);
        pattern_fill(D.b[k], D.size, (uint64_t)k);
    }
}

static void job_free_mid(void *arg)
{
    (void)arg;
    free(D.b[NB / 2]);
}

static void job_free_rest(void *arg)
{
    (void)arg;
    for (int k = 0; k < NB; k++)
        if (k != NB / 2) {
            CHECK(pattern_check(D.b[k], D.size, (uint64_t)k) == (size_t)-1, "block %d corrupted", k);
            free(D.b[k]);
        }
}

/* The freed block is not listed, the others are, each with its size. */
static void check_dump_d(const char *when)
{
    const char *d = dump_plain();
    CHECK(!dump_has_start(d, D.b[NB / 2]), "%s: show_alloc_mem lists the freed block %p (%zu B)", when,
          (void *)D.b[NB / 2], D.size);
    for (int k = 0; k < NB; k++)
        if (k != NB / 2)
            CHECK(dump_has_block(d, D.b[k], D.size), "%s: show_alloc_mem does not list the live block %p (%zu B)",
                  when, (void *)D.b[k], D.size);
}

/* A allocates and waits (it takes nothing in); B frees one block. The dump and mallinfo2 right
 * after B's free (ordered by the actor's mutex), and after B is joined. */
TEST_EXTERN(dump_after_remote_free)
{
    static const size_t sizes[] = {41, 1001, 20 * 1024 + 1};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        actor a, b;
        memset(&D, 0, sizeof D);
        D.size = sizes[s];
        actor_start(&a, 1);
        actor_do(&a, job_alloc_d, NULL);
        actor_start(&b, 1);
        struct mallinfo2 m1 = mallinfo2();
        CHECK(dump_has_block(dump_plain(), D.b[NB / 2], D.size), "the block %p (%zu B) is not listed before its free",
              (void *)D.b[NB / 2], D.size);
        actor_do(&b, job_free_mid, NULL);
        struct mallinfo2 m2 = mallinfo2();
        CHECK(m1.uordblks - m2.uordblks == expected_class(D.size),
              "mallinfo2: uordblks %zu before the remote free of a %zu-byte block, %zu after", m1.uordblks, D.size,
              m2.uordblks);
        check_dump_d("right after the remote free");
        actor_stop(&b);
        check_dump_d("after the freeing thread was joined");
        actor_do(&a, job_free_rest, NULL);
        actor_stop(&a);
    }
}

static void job_free_idx(void *arg)
{
    int k = (int)(intptr_t)arg;
    CHECK(pattern_check(D.b[k], D.size, (uint64_t)k) == (size_t)-1, "block %d corrupted", k);
    free(D.b[k]);
    D.b[k] = NULL;
}

/* The blocks of D still held are listed with their sizes; freed[] are not. */
static void check_dump_held(const char *when, char *const *freed, int nfreed)
{
    const char *d = dump_plain();
    for (int k = 0; k < nfreed; k++)
        CHECK(!dump_has_start(d, freed[k]), "%s: show_alloc_mem lists the freed block %p (%zu B)", when,
              (void *)freed[k], D.size);
    for (int k = 0; k < NB; k++)
        if (D.b[k])
            CHECK(dump_has_block(d, D.b[k], D.size), "%s: show_alloc_mem does not list the live block %p (%zu B)",
                  when, (void *)D.b[k], D.size);
}

/* The same after the owner exited: B frees one block of A's zone (adopting it), C (without a
 * thread cache) another; the dump lists neither, and lists the rest. */
TEST_EXTERN(dump_after_remote_free_owner_exited)
{
    actor a, b, c;
    memset(&D, 0, sizeof D);
    D.size = 41;
    actor_start(&a, 1);
    actor_do(&a, job_alloc_d, NULL);
    actor_start(&b, 1);
    actor_start(&c, 0);
    actor_stop(&a);
    char *freed[2] = {D.b[NB / 2], D.b[0]};
    check_dump_held("after the owner exited", freed, 0);
    actor_do(&b, job_free_idx, (void *)(intptr_t)(NB / 2));
    check_dump_held("after the free by a thread with a cache", freed, 1);
    actor_do(&c, job_free_idx, (void *)(intptr_t)0);
    check_dump_held("after the free by a thread without one", freed, 2);
    actor_stop(&c);
    actor_stop(&b);
    check_dump_held("after both were joined", freed, 2);
    for (int k = 1; k < NB; k++)
        if (D.b[k])
            job_free_idx((void *)(intptr_t)k);
}

/* A's block freed by B, taken in by A, handed out by A again, and freed by B again: a correct
 * program, no report. */
#define HUNT 4000
static char *hunt[HUNT];
static int nhunt, found;

static void job_take_in_and_hunt(void *arg)
{
    (void)arg;
    void *t[8];
    for (int k = 0; k < 8; k++) {  /* a class A never used: a refill, which takes the frees in */
        t[k] = malloc(7000);
        CHECK(t[k] != NULL, "malloc(7000) failed");
    }
    for (int k = 0; k < 8; k++)
        free(t[k]);
    found = -1;
    for (nhunt = 0; nhunt < HUNT && found < 0; nhunt++) {
        hunt[nhunt] = malloc(D.size);
        CHECK(hunt[nhunt] != NULL, "malloc(%zu) failed", D.size);
        pattern_fill(hunt[nhunt], D.size, 500 + (uint64_t)nhunt);
        if (hunt[nhunt] == D.b[NB / 2])
            found = nhunt;
    }
}

static void job_free_found(void *arg)
{
    (void)arg;
    CHECK(pattern_check(hunt[found], D.size, 500 + (uint64_t)found) == (size_t)-1,
          "the block handed out again is corrupted");
    free(hunt[found]);
}

static void job_free_hunt(void *arg)
{
    (void)arg;
    for (int k = 0; k < nhunt; k++)
        if (k != found) {
            CHECK(pattern_check(hunt[k], D.size, 500 + (uint64_t)k) == (size_t)-1, "block %d corrupted", k);
            free(hunt[k]);
        }
    job_free_rest(NULL);
}

TEST_EXTERN(reuse_after_take_in)
{
    static const size_t sizes[] = {41, 1001};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        actor a, b;
        memset(&D, 0, sizeof D);
        D.size = sizes[s];
        actor_start(&a, 1);
        actor_do(&a, job_alloc_d, NULL);
        actor_start(&b, 1);
        actor_do(&b, job_free_mid, NULL);
        actor_stop(&b);
        actor_do(&a, job_take_in_and_hunt, NULL);
        say("REUSED %zu %s after %d mallocs", D.size, found >= 0 ? "yes" : "no", nhunt);
        if (found >= 0) {
            actor_start(&b, 0);
            actor_do(&b, job_free_found, NULL);
            actor_stop(&b);
            CHECK(!dump_has_start(dump_plain(), D.b[NB / 2]), "the block freed again by another thread is listed");
        }
        actor_do(&a, job_free_hunt, NULL);
        actor_stop(&a);
    }
}
