/*
 * A program with known leaks, for FT_MALLOC_LEAKS=1 (and valgrind, built against glibc):
 *   3 blocks of 4096 B from leak_three(), 1 of 500 B from leak_one(), 6 B from strdup("hello"):
 *   12,794 bytes in 5 blocks from 3 call sites.
 * Everything else it allocates is freed. No stdio: its buffer would be one more live block.
 * leak_three and leak_one are global so that, built with -rdynamic, dladdr() can name them.
 */
#include "common.h"

void leak_three(void);
void leak_one(void);

__attribute__((noinline)) void leak_three(void)
{
    for (int i = 0; i < 3; i++) {
        char *p = malloc(4096);
        if (!p)
            _exit(2);
        memset(p, i, 4096);
        launder(p);
    }
}

__attribute__((noinline)) void leak_one(void)
{
    char *p = malloc(500);
    if (!p)
        _exit(2);
    memset(p, 7, 500);
    launder(p);
}

__attribute__((noinline)) static void no_leak(void)
{
    void *keep[200];
    for (int i = 0; i < 200; i++) {
        keep[i] = malloc((size_t)i * 37 + (i % 50 == 0 ? 300000 : 0));
        if (!keep[i])
            _exit(2);
    }
    for (int i = 0; i < 200; i += 3) {
        keep[i] = realloc(keep[i], (size_t)i * 91 + 1);
        if (!keep[i])
            _exit(2);
    }
    for (int i = 0; i < 200; i++)
        free(keep[i]);
    void *a = calloc(10, 100), *b = memalign(256, 1000);
    free(a);
    free(b);
}

int main(void)
{
    no_leak();
    leak_three();
    no_leak();
    leak_one();
    char *s = strdup("hello");
    if (!s)
        return 2;
    launder(s);
    s = NULL;
    no_leak();
    return 0;
}
