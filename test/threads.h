/* The threads program: test/threads.c (the case table, hand-offs, many threads, dumps under load)
 * and test/threads_fork.c (fork while threads allocate). What the two files share. */
#ifndef FT_TEST_THREADS_H
#define FT_TEST_THREADS_H

#include "common.h"

#include <pthread.h>

/* A block starts with its id and size; the rest is the pattern of its id. */
typedef struct {
    uint64_t id;
    uint64_t size;
} hdr;

/* A block of `size` bytes (malloc, calloc or memalign, at random) with its header and pattern. */
void *make_block(rng_t *r, uint64_t id, size_t size);
/* Fails unless the block still holds its pattern. */
void check_block(const void *p, const char *when);
/* A random size, mostly TINY, some SMALL, a few LARGE. */
size_t thread_size(rng_t *r);

/* busy(seed): a thread that allocates, checks, reallocates and frees blocks until stop_flag is set. */
extern volatile int stop_flag;
void *busy(void *arg);

/* test/threads_fork.c */
TEST_EXTERN(fork_while_allocating);
TEST_EXTERN(fork_many_busy_threads);
TEST_EXTERN(fork_child_reuses_other_threads_zones);

#endif
