/* The remote-misuse program's actors (remote_misuse.h): threads that run one job at a time on
 * demand, so that every step of a case is ordered by a mutex and a condition variable. */
#include "remote_misuse.h"

static void *actor_main(void *x)
{
    actor *a = x;
    pthread_mutex_lock(&a->m);
    for (;;) {
        while (!a->job && !a->quit)
            pthread_cond_wait(&a->cv, &a->m);
        if (!a->job)
            break;
        job_fn fn = a->job;
        void *arg = a->arg;
        pthread_mutex_unlock(&a->m);
        fn(arg);
        pthread_mutex_lock(&a->m);
        a->job = NULL;
        pthread_cond_broadcast(&a->cv);
    }
    pthread_mutex_unlock(&a->m);
    return NULL;
}

static void warm_up(void *arg)
{
    (void)arg;
    void *q = malloc(8);
    CHECK(q != NULL, "malloc(8) failed");
    free(launder(q));
}

void actor_start(actor *a, int warm)
{
    memset(a, 0, sizeof *a);
    CHECK(pthread_mutex_init(&a->m, NULL) == 0, "pthread_mutex_init");
    CHECK(pthread_cond_init(&a->cv, NULL) == 0, "pthread_cond_init");
    CHECK(pthread_create(&a->t, NULL, actor_main, a) == 0, "pthread_create failed");
    a->running = 1;
    if (warm)
        actor_do(a, warm_up, NULL);
}

void actor_do(actor *a, job_fn fn, void *arg)
{
    CHECK(a->running, "job for an actor that is not running");
    pthread_mutex_lock(&a->m);
    a->job = fn;
    a->arg = arg;
    pthread_cond_broadcast(&a->cv);
    while (a->job)
        pthread_cond_wait(&a->cv, &a->m);
    pthread_mutex_unlock(&a->m);
}

void actor_stop(actor *a)
{
    if (!a->running)
        return;
    pthread_mutex_lock(&a->m);
    a->quit = 1;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->m);
    CHECK(pthread_join(a->t, NULL) == 0, "pthread_join failed");
    a->running = 0;
}

void say(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n > (int)sizeof buf - 2)
        n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    if (write(1, buf, (size_t)n) < 0) {
    }
}

