/* A known peak for --replay: the main thread allocates 50 MiB in blocks of 1 MiB, writes them,
 * then frees them all; a second thread makes 20 malloc(100)/free pairs. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "say.h"

#define BLOCKS 50
#define BLOCK (1 << 20)

static void *worker(void *arg)
{
    (void)arg;
    for (int j = 0; j < 20; j++) {
        void *p = malloc(100);
        if (!p)
            return (void *)1;
        free(p);
    }
    return NULL;
}

int main(void)
{
    static void *blocks[BLOCKS];
    for (int i = 0; i < BLOCKS; i++) {
        blocks[i] = malloc(BLOCK);
        if (!blocks[i])
            return 1;
        memset(blocks[i], i + 1, BLOCK);
    }
    for (int i = 0; i < BLOCKS; i++)
        free(blocks[i]);
    pthread_t t;
    void *r;
    if (pthread_create(&t, NULL, worker, NULL) != 0 || pthread_join(t, &r) != 0 || r)
        return 1;
    say(1, "DONE\n");
    return 0;
}
