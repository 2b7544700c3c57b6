/*
 * A shared library preloaded after ft_malloc's (LD_PRELOAD="libft_malloc_*.so libpreload_ctor.so"):
 * it allocates in its constructor, before the program runs, and again in its destructor.
 * Built without ft_malloc; its malloc resolves to the preloaded ft_malloc.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *kept;

static void say(const char *m)
{
    if (write(2, m, strlen(m)) < 0)
        _exit(9);
}

__attribute__((constructor)) static void preload_ctor(void)
{
    kept = malloc(5000);
    char *tiny = malloc(10);
    void *big = calloc(1, 1 << 20);
    if (!kept || !tiny || !big) {
        say("preload_ctor: allocation failed\n");
        _exit(9);
    }
    memset(kept, 'k', 5000);
    free(tiny);
    free(big);
    say("preload_ctor: constructor ok\n");
}

__attribute__((destructor)) static void preload_dtor(void)
{
    for (int i = 0; i < 5000; i++)
        if (kept[i] != 'k') {
            say("preload_ctor: block from the constructor corrupted\n");
            _exit(9);
        }
    kept = realloc(kept, 100000);
    free(kept);
    say("preload_ctor: destructor ok\n");
}
