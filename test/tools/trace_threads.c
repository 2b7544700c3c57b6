/* Calls from several threads: thread k (1..4) makes malloc(1000 + 10 * k + j), j = 0..9, each
 * freed at once; the main thread makes malloc(999). stdout: "THREAD <k> <ptr> <size>" per block. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "say.h"

#define THREADS 4

static pthread_barrier_t barrier;

static void *worker(void *arg)
{
    int k = (int)(intptr_t)arg;
    pthread_barrier_wait(&barrier);
    for (int j = 0; j < 10; j++) {
        size_t n = 1000 + 10 * (size_t)k + (size_t)j;
        void *p = malloc(n);
        if (!p)
            return (void *)1;
        say(1, "THREAD %d %p %zu\n", k, p, n);
        free(p);
    }
    return NULL;
}

int main(void)
{
    pthread_t t[THREADS];
    void *p = malloc(999);
    if (!p)
        return 1;
    say(1, "THREAD 0 %p 999\n", p);
    pthread_barrier_init(&barrier, NULL, THREADS);
    for (int k = 0; k < THREADS; k++)
        if (pthread_create(&t[k], NULL, worker, (void *)(intptr_t)(k + 1)) != 0)
            return 1;
    int bad = 0;
    for (int k = 0; k < THREADS; k++) {
        void *r;
        pthread_join(t[k], &r);
        bad |= r != NULL;
    }
    free(p);
    return bad;
}
