/*
 * Two threads free the same block at the same instant (a data race in the program), round after
 * round. Run with FT_MALLOC_CHECK=1 (or FT_MALLOC_TCACHE=0) and FT_MALLOC_ERRORS=warn: every free
 * then meets the other at the heap lock, so exactly one of each pair succeeds and the other is
 * reported: test/runner/remote_misuse.py counts one "double free" line per round. The program
 * then checks that the heap is whole (ft_malloc_check) and that no block is handed out twice.
 * README: "Two frees of one pointer at the same instant".
 */
#include "common.h"

#include <pthread.h>

#define ROUNDS 600

static pthread_barrier_t g_start, g_done;
static void *volatile g_block;

static const size_t g_sizes[] = {SZ_TINY, SZ_SMALL, SZ_LARGE};

/* Thread 0 allocates the round's block (its cache owns the zone), then both free it at once:
 * the owner's free and another thread's, the race the README describes. */
static void *freer(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int r = 0; r < ROUNDS; r++) {
        if (id == 0) {
            g_block = malloc(g_sizes[r % 3]);
            CHECK(g_block != NULL, "malloc");
            memset(g_block, r, g_sizes[r % 3]);
        }
        pthread_barrier_wait(&g_start);
        free(g_block);
        pthread_barrier_wait(&g_done);
    }
    return NULL;
}

TEST(simultaneous_frees)
{
    const size_t *sizes = g_sizes;
    pthread_t t[2];
    CHECK(pthread_barrier_init(&g_start, NULL, 2) == 0 && pthread_barrier_init(&g_done, NULL, 2) == 0, "barriers");
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&t[i], NULL, freer, (void *)(intptr_t)i) == 0, "pthread_create");
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    CHECK(ft_malloc_check() == 0, "the heap is damaged after the racing frees");
    /* Every block handed out now is distinct: none of the freed blocks came back twice. */
    enum { N = 3000 };
    static char *held[N];
    for (int i = 0; i < N; i++) {
        held[i] = malloc(sizes[i % 3]);
        CHECK(held[i] != NULL, "malloc");
        memset(held[i], 0, sizeof(int));
        memcpy(held[i], &i, sizeof i);
    }
    for (int i = 0; i < N; i++) {
        int v;
        memcpy(&v, held[i], sizeof v);
        CHECK(v == i, "block %d handed out twice (it holds %d)", i, v);
        free(held[i]);
    }
    printf("ROUNDS %d\n", ROUNDS);
}

static const test_case cases[] = {
    CASE(simultaneous_frees),
};

int main(int argc, char **argv) { return run_case(cases, sizeof cases / sizeof cases[0], argc, argv); }
