/* realloc_grow MAX REPS: REPS times grows one buffer from 1 byte to MAX bytes with realloc,
 * writing the new last byte after each step, then frees it. Steps are +1..+16 bytes while the
 * buffer is under 4 KiB (a string being appended to), then +1/4 of the size (a growing
 * vector). Prints ops = the number of realloc calls. */
#include "bench_common.h"

int main(int argc, char **argv)
{
    long max = bench_arg(argc, argv, 1, 64L << 20), reps = bench_arg(argc, argv, 2, 10);
    long ops = 0;
    bench_rng r = {3};
    for (long rep = 0; rep < reps; rep++) {
        char *p = NULL;
        size_t size = 1;
        for (;;) {
            char *q = realloc(p, size);
            if (!q)
                return 1;
            p = q;
            p[size - 1] = (char)size;
            ops++;
            if (size >= (size_t)max)
                break;
            size_t step = size < 4096 ? bench_range(&r, 1, 16) : size / 4;
            size = size + step > (size_t)max ? (size_t)max : size + step;
        }
        BENCH_ESCAPE(p);
        free(p);
    }
    printf("ops=%ld\n", ops);
    return 0;
}
