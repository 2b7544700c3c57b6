/* pairs SIZE N: N malloc/free pairs of SIZE bytes, first and last byte written.
 * SIZE "mixed": sizes cycle through a fixed pseudo-random table of 1..512 bytes. */
#include "bench_common.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s SIZE|mixed N\n", argv[0]);
        return 2;
    }
    long n = strtol(argv[2], NULL, 0);
    size_t sizes[256];
    int mixed = strcmp(argv[1], "mixed") == 0;
    bench_rng r = {42};
    for (int i = 0; i < 256; i++)
        sizes[i] = mixed ? bench_range(&r, 1, 512) : (size_t)strtoull(argv[1], NULL, 0);
    for (long i = 0; i < n; i++) {
        size_t sz = sizes[i & 255];
        char *p = malloc(sz);
        if (!p)
            return 1;
        p[0] = (char)i;
        p[sz - 1] = (char)i;
        BENCH_ESCAPE(p);
        free(p);
    }
    printf("ops=%ld\n", n);
    return 0;
}
