/* larson THREADS ROUNDS OPS SLOTS: a server-like loop after Larson & Krishnan.
 * THREADS slot sets of SLOTS blocks (8..512 B) are allocated by the main thread. Each round
 * starts THREADS fresh threads; thread i takes over set (i + round) % THREADS, so the blocks it
 * frees were allocated by another thread, and does OPS times: free a random slot, allocate a
 * new block in it. Threads exit at the end of each round, handing their blocks on. */
#include "bench_common.h"
#include <pthread.h>

typedef struct {
    char **slot;
    long nslots, ops;
    bench_rng r;
} set_t;

static void *worker(void *arg)
{
    set_t *s = arg;
    /* The random state lives on this thread's stack while it runs: the sets are neighbours in
     * one calloc'ed array, and writing s->r at every step made the threads share a cache line
     * whenever an allocator put two sets in one (ft_malloc's 64-byte chunks are 64-aligned),
     * which timed the benchmark's own false sharing (measured: 0.46 s instead of 0.07 s). */
    bench_rng r = s->r;
    for (long i = 0; i < s->ops; i++) {
        size_t k = (size_t)(bench_next(&r) % (uint64_t)s->nslots);
        free(s->slot[k]);
        size_t sz = bench_range(&r, 8, 512);
        char *p = malloc(sz);
        if (!p)
            abort();
        p[0] = (char)i;
        p[sz - 1] = (char)i;
        s->slot[k] = p;
    }
    s->r = r;
    return NULL;
}

int main(int argc, char **argv)
{
    long nt = bench_arg(argc, argv, 1, 2), rounds = bench_arg(argc, argv, 2, 10);
    long ops = bench_arg(argc, argv, 3, 100000), nslots = bench_arg(argc, argv, 4, 1000);
    set_t *sets = calloc((size_t)nt, sizeof *sets);
    pthread_t *th = calloc((size_t)nt, sizeof *th);
    for (long t = 0; t < nt; t++) {
        sets[t].slot = calloc((size_t)nslots, sizeof(char *));
        sets[t].nslots = nslots;
        sets[t].ops = ops;
        sets[t].r.s = (uint64_t)t * 1000003u + 1;
        for (long k = 0; k < nslots; k++) {
            sets[t].slot[k] = malloc(bench_range(&sets[t].r, 8, 512));
            sets[t].slot[k][0] = 1;
        }
    }
    for (long round = 0; round < rounds; round++) {
        for (long t = 0; t < nt; t++)
            if (pthread_create(&th[t], NULL, worker, &sets[(t + round) % nt]))
                return 1;
        for (long t = 0; t < nt; t++)
            pthread_join(th[t], NULL);
    }
    for (long t = 0; t < nt; t++) {
        for (long k = 0; k < nslots; k++)
            free(sets[t].slot[k]);
        free(sets[t].slot);
    }
    free(sets);
    free(th);
    printf("ops=%ld\n", nt * rounds * ops);
    return 0;
}
