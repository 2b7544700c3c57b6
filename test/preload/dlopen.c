/* dlopen.c SO: a program on glibc's malloc loads ft_malloc's shared object with dlopen and calls
 * its entry points through dlsym, from 4 threads. The thread cache's TLS is initial-exec: this
 * checks that the object still loads after start-up (glibc's surplus static TLS) and that the
 * cache works in every thread, each block's content kept and its usable size honest. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef void *(*malloc_fn)(size_t);
typedef void (*free_fn)(void *);
typedef size_t (*usable_fn)(void *);

static malloc_fn ft_malloc_;
static free_fn ft_free_;
static usable_fn ft_usable_;

#define THREADS 4
#define LIVE 256
#define ROUNDS 100000

static void *worker(void *arg)
{
    uint64_t r = (uintptr_t)arg * 0x9E3779B97F4A7C15u + 1;
    unsigned char *p[LIVE] = {0};
    size_t n[LIVE] = {0};
    for (int k = 0; k < ROUNDS; k++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        unsigned s = (unsigned)(r % LIVE);
        if (p[s]) {
            for (size_t j = 0; j < n[s]; j++)
                if (p[s][j] != (unsigned char)(s + n[s]))
                    return (void *)"content changed";
            ft_free_(p[s]);
        }
        n[s] = 1 + (size_t)(r >> 32) % 2048;
        p[s] = ft_malloc_(n[s]);
        if (!p[s] || ((uintptr_t)p[s] & 15) || ft_usable_(p[s]) < n[s])
            return (void *)"bad block";
        memset(p[s], (int)(s + n[s]), n[s]);
    }
    for (int s = 0; s < LIVE; s++)
        ft_free_(p[s]);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    ft_malloc_ = (malloc_fn)dlsym(h, "malloc");
    ft_free_ = (free_fn)dlsym(h, "free");
    ft_usable_ = (usable_fn)dlsym(h, "malloc_usable_size");
    if (!ft_malloc_ || !ft_free_ || !ft_usable_ || !dlsym(h, "show_alloc_mem")) {
        fprintf(stderr, "dlsym: %s\n", dlerror());
        return 1;
    }
    if ((void *)ft_malloc_ == dlsym(RTLD_DEFAULT, "malloc")) {
        fprintf(stderr, "the program's malloc is the loaded object's: not a dlopen test\n");
        return 1;
    }
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)i))
            return 1;
    const char *err = NULL;
    for (int i = 0; i < THREADS; i++) {
        void *res;
        pthread_join(t[i], &res);
        if (res)
            err = res;
    }
    if (err) {
        fprintf(stderr, "dlopen: %s\n", err);
        return 1;
    }
    worker((void *)99); /* and the main thread */
    printf("OK\n");
    return 0;
}
