/* larson_orig THREADS ROUNDS OPS SLOTS: larson.c as it was, with the classic Larson benchmark's
 * layout: each thread's random state lives in its set, one element of an array of sets that
 * the main thread calloc's (larson's own `new thread_data[num_threads]`), and is written at
 * every step. larson.c moved the state to the thread's stack, so that it times the allocator
 * only; this copy keeps the published benchmark's behaviour, where the figure also depends on
 * whether the allocator's placement of that small array puts two threads' states in one cache
 * line (ft_malloc's 64-byte chunks are 64-aligned, so 2 sets of 32 B share one).
 * The rest as in larson.c: THREADS slot sets of SLOTS blocks (8..512 B) are allocated by the
 * main thread. Each round starts THREADS fresh threads; thread i takes over set
 * (i + round) % THREADS, so the blocks it frees were allocated by another thread, and does OPS
 * times: free a random slot, allocate a new block in it. */
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
    for (long i = 0; i < s->ops; i++) {
        size_t k = (size_t)(bench_next(&s->r) % (uint64_t)s->nslots);
        free(s->slot[k]);
        size_t sz = bench_range(&s->r, 8, 512);
        char *p = malloc(sz);
        if (!p)
            abort();
        p[0] = (char)i;
        p[sz - 1] = (char)i;
        s->slot[k] = p;
    }
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
