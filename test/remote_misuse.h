/* The remote-misuse program: test/remote_misuse.c (the case table, the misuse cases) and
 * test/remote_ok.c (correct programs: blocks handed between threads, dumps after remote frees).
 * test/remote_actors.c holds the actors. What the three files share.
 *
 * A remote free is a free of a block that another thread's cache owns (src/tcache/remote_free.h).
 * The cases order every step with a mutex and a condition variable (an "actor" runs one job at a
 * time in its own thread, and the main thread waits for each job to finish), never with a sleep:
 * no two frees of a block are ever simultaneous, so a second free must always be reported.
 */
#ifndef FT_TEST_REMOTE_MISUSE_H
#define FT_TEST_REMOTE_MISUSE_H

#include "common.h"

#include <pthread.h>

/* Built without ft_malloc to run under LD_PRELOAD (test/build/remote_misuse_plain): the dump calls
 * are found at run time in the preloaded library. */
#ifdef FT_TEST_REMOTE_PRELOAD
#pragma weak show_alloc_mem
#pragma weak show_alloc_mem_ex
#endif

/* A thread that runs jobs one at a time, on demand, and waits on a condition variable in between
 * (no allocation while it waits: it never takes in the remote frees of its zones meanwhile). */
typedef void (*job_fn)(void *);
typedef struct {
    pthread_t t;
    pthread_mutex_t m;
    pthread_cond_t cv;
    job_fn job;
    void *arg;
    int quit;
    int running;
} actor;

/* warm: the thread's first job allocates and frees a small block, so it has a thread cache (a
 * thread that never allocated has none, and frees through other paths). */
void actor_start(actor *a, int warm);
/* Runs fn(arg) in the actor's thread; returns when it has returned. */
void actor_do(actor *a, job_fn fn, void *arg);
/* Ends the actor's thread and joins it (its cache goes at its exit). */
void actor_stop(actor *a);

/* One line on stdout with write(2): no stdio buffer, nothing allocated, flushed before any abort. */
__attribute__((format(printf, 1, 2))) void say(const char *fmt, ...);

/* test/remote_ok.c */
TEST_EXTERN(producer_consumer);
TEST_EXTERN(dump_after_remote_free);
TEST_EXTERN(dump_after_remote_free_owner_exited);
TEST_EXTERN(reuse_after_take_in);

#endif
