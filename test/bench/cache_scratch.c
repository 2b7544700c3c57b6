/* cache_scratch THREADS ITER INNER SIZE: after Hoard's cache-scratch. The main thread allocates
 * THREADS neighbouring SIZE-byte blocks and gives one to each thread; each thread frees it, then
 * ITER times allocates a SIZE-byte block, writes every byte of it INNER times and frees it. An
 * allocator that gives the freed neighbours back to different threads makes them share cache
 * lines (false sharing), and the writes slow down. */
#include "bench_common.h"
#include <pthread.h>

typedef struct {
    char *first;
    long iter, inner;
    size_t size;
} arg_t;

static void *worker(void *a_)
{
    arg_t *a = a_;
    free(a->first);
    for (long i = 0; i < a->iter; i++) {
        volatile char *p = malloc(a->size);
        if (!p)
            abort();
        for (long j = 0; j < a->inner; j++)
            for (size_t k = 0; k < a->size; k++)
                p[k] = (char)(p[k] + 1);
        free((void *)p);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    long nt = bench_arg(argc, argv, 1, 2), iter = bench_arg(argc, argv, 2, 1000);
    long inner = bench_arg(argc, argv, 3, 1000), size = bench_arg(argc, argv, 4, 8);
    arg_t *args = calloc((size_t)nt, sizeof *args);
    pthread_t *th = calloc((size_t)nt, sizeof *th);
    for (long t = 0; t < nt; t++) {
        args[t].first = malloc((size_t)size);
        args[t].iter = iter;
        args[t].inner = inner;
        args[t].size = (size_t)size;
    }
    for (long t = 0; t < nt; t++)
        if (pthread_create(&th[t], NULL, worker, &args[t]))
            return 1;
    for (long t = 0; t < nt; t++)
        pthread_join(th[t], NULL);
    printf("ops=%ld\n", nt * iter);
    free(args);
    free(th);
    return 0;
}
