/* server THREADS OPS SLOTS: THREADS threads share ONE array of SLOTS blocks, as the workers of a
 * server share a cache or a connection table. OPS steps in all, shared out among the threads;
 * per step a thread picks a random slot, allocates a block (7 in 8 of 16..512 B, 1 in 8 of
 * 513 B..4 KiB), writes its first byte, swaps it into the slot with an atomic exchange and frees
 * the block that was there: a block allocated by another thread (THREADS-1 times in THREADS), so
 * most frees are remote frees, in no pattern a per-thread cache can predict. */
#include "bench_common.h"
#include <pthread.h>

typedef struct {
    char **slot;
    long nslots, ops;
    uint64_t seed;
} arg_t;

static void *worker(void *a_)
{
    arg_t *a = a_;
    /* The random state lives on the stack: only the slots are shared (see larson.c). */
    bench_rng r = {a->seed};
    for (long i = 0; i < a->ops; i++) {
        size_t k = (size_t)(bench_next(&r) % (uint64_t)a->nslots);
        size_t sz = (bench_next(&r) & 7) ? bench_range(&r, 16, 512) : bench_range(&r, 513, 4096);
        char *p = malloc(sz);
        if (!p)
            abort();
        p[0] = (char)i;
        /* acquire: the old block's writes by its thread are seen before it is freed here;
         * release: this block's write is seen by whichever thread frees it */
        char *old = __atomic_exchange_n(&a->slot[k], p, __ATOMIC_ACQ_REL);
        free(old);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long nt = bench_arg(argc, argv, 1, 2), ops = bench_arg(argc, argv, 2, 1000000);
    long nslots = bench_arg(argc, argv, 3, 10000);
    if (nt < 1)
        nt = 1;
    char **slot = calloc((size_t)nslots, sizeof *slot);
    arg_t *args = calloc((size_t)nt, sizeof *args);
    pthread_t *th = calloc((size_t)nt, sizeof *th);
    if (!slot || !args || !th)
        return 1;
    for (long t = 0; t < nt; t++) {
        args[t].slot = slot;
        args[t].nslots = nslots;
        /* the total is fixed: the first threads take the remainder */
        args[t].ops = ops / nt + (t < ops % nt);
        args[t].seed = (uint64_t)t * 1000003u + 11;
    }
    for (long t = 0; t < nt; t++)
        if (pthread_create(&th[t], NULL, worker, &args[t]))
            return 1;
    for (long t = 0; t < nt; t++)
        pthread_join(th[t], NULL);
    for (long k = 0; k < nslots; k++)
        free(slot[k]);
    free(slot);
    free(args);
    free(th);
    printf("ops=%ld\n", ops);
    return 0;
}
