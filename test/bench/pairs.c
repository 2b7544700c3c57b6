/* pairs SIZE N [calloc]: N malloc/free pairs of SIZE bytes, first and last byte written.
 * SIZE "mixed": sizes cycle through a fixed pseudo-random table of 1..512 bytes.
 * "calloc": calloc(1, SIZE) instead of malloc(SIZE). */
#include "bench_common.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s SIZE|mixed N [calloc]\n", argv[0]);
        return 2;
    }
    long n = strtol(argv[2], NULL, 0);
    size_t sizes[256];
    int mixed = strcmp(argv[1], "mixed") == 0;
    int zeroed = argc > 3 && strcmp(argv[3], "calloc") == 0;
    bench_rng r = {42};
    for (int i = 0; i < 256; i++)
        sizes[i] = mixed ? bench_range(&r, 1, 512) : (size_t)strtoull(argv[1], NULL, 0);
    /* The choice made once, outside the loop: a test in it would add to every pair's count. */
#define PAIRS_LOOP(ALLOC)                  \
    for (long i = 0; i < n; i++) {         \
        size_t sz = sizes[i & 255];        \
        char *p = ALLOC;                   \
        if (!p)                            \
            return 1;                      \
        p[0] = (char)i;                    \
        p[sz - 1] = (char)i;               \
        BENCH_ESCAPE(p);                   \
        free(p);                           \
    }
    if (zeroed)
        PAIRS_LOOP(calloc(1, sz))
    else
        PAIRS_LOOP(malloc(sz))
    printf("ops=%ld\n", n);
    return 0;
}
