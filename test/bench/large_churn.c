/* large_churn LIVE N: keeps LIVE large blocks alive (sizes log-uniform in 128 KiB..8 MiB); N
 * times frees a random one and allocates a new one in its place, writing the first byte of
 * every page of the new block, as a program that fills its buffers does. What it measures is
 * mostly what the allocator makes the kernel do: a fresh mapping per block costs an mmap, a
 * munmap and a page fault per page; memory kept and reused costs none of these. */
#include "bench_common.h"

static char *fresh(bench_rng *r, long i, size_t page)
{
    size_t sz = bench_logsize(r, 128 << 10, 8 << 20);
    char *p = malloc(sz);
    if (!p)
        exit(1);
    for (size_t off = 0; off < sz; off += page)
        p[off] = (char)i;
    BENCH_ESCAPE(p);
    return p;
}

int main(int argc, char **argv)
{
    long live = bench_arg(argc, argv, 1, 8), n = bench_arg(argc, argv, 2, 1000);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char **slot = calloc((size_t)live, sizeof *slot);
    bench_rng r = {13};
    if (!slot)
        return 1;
    for (long k = 0; k < live; k++)
        slot[k] = fresh(&r, k, page);
    for (long i = 0; i < n; i++) {
        size_t k = (size_t)(bench_next(&r) % (uint64_t)live);
        free(slot[k]);
        slot[k] = fresh(&r, i, page);
    }
    for (long k = 0; k < live; k++)
        free(slot[k]);
    free(slot);
    printf("ops=%ld\n", n);
    return 0;
}
