/* rss_per_block SIZE N: allocates N blocks of SIZE bytes, writes each one whole, and reports the
 * growth of the resident set (VmRSS) divided by N: what a live block really costs, payload,
 * header, rounding and metadata included. The pointer array is mapped and touched beforehand. */
#include "bench_common.h"
#include <sys/mman.h>

int main(int argc, char **argv)
{
    long size = bench_arg(argc, argv, 1, 16), n = bench_arg(argc, argv, 2, 1000000);
    char **v = mmap(NULL, (size_t)n * sizeof *v, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (v == MAP_FAILED)
        return 1;
    /* one block first, so that the allocator's one-time setup is not counted per block */
    void *warm = malloc((size_t)size);
    memset(warm, 1, (size_t)size);
    long long before = bench_rss_bytes();
    for (long i = 0; i < n; i++) {
        v[i] = malloc((size_t)size);
        if (!v[i])
            return 1;
        memset(v[i], (int)i, (size_t)size);
    }
    long long after = bench_rss_bytes();
    printf("bytes_per_block=%.2f\n", (double)(after - before) / (double)n);
    printf("ops=%ld\n", n);
    for (long i = 0; i < n; i++)
        free(v[i]);
    free(warm);
    return 0;
}
