/* churn LIVE N: keeps LIVE blocks alive; N times frees a random one and allocates a new block
 * of a random mixed size in its place (80 % 8..256 B, 18 % 257 B..8 KiB, 2 % 8..128 KiB). */
#include "bench_common.h"

static size_t pick(bench_rng *r)
{
    unsigned k = (unsigned)(bench_next(r) % 100);
    if (k < 80)
        return bench_range(r, 8, 256);
    if (k < 98)
        return bench_range(r, 257, 8192);
    return bench_range(r, 8193, 131072);
}

int main(int argc, char **argv)
{
    long live = bench_arg(argc, argv, 1, 1000), n = bench_arg(argc, argv, 2, 1000000);
    char **slot = calloc((size_t)live, sizeof *slot);
    bench_rng r = {7};
    for (long i = 0; i < live; i++) {
        size_t sz = pick(&r);
        slot[i] = malloc(sz);
        slot[i][0] = 1;
    }
    for (long i = 0; i < n; i++) {
        size_t k = (size_t)(bench_next(&r) % (uint64_t)live);
        free(slot[k]);
        size_t sz = pick(&r);
        char *p = malloc(sz);
        if (!p)
            return 1;
        p[0] = (char)i;
        p[sz - 1] = (char)i;
        slot[k] = p;
    }
    for (long i = 0; i < live; i++)
        free(slot[i]);
    free(slot);
    printf("ops=%ld\n", n);
    return 0;
}
