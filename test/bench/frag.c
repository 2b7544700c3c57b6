/* frag TOTAL_MB FREE_PCT: allocates TOTAL_MB MiB of blocks of mixed sizes (log-uniform over
 * 16 B..64 KiB), writes every page of them, frees a random FREE_PCT % of them (an exact share,
 * chosen by a shuffle), and reports the resident set left (rss_after_free_kib) beside the bytes
 * still live: what fragmentation keeps resident that a compacting heap would give back. */
#include "bench_common.h"
#include <sys/mman.h>

int main(int argc, char **argv)
{
    long total_mb = bench_arg(argc, argv, 1, 500), free_pct = bench_arg(argc, argv, 2, 90);
    size_t total = (size_t)total_mb << 20, cap = total / 16 + 1, n = 0, sum = 0;
    char **v = mmap(NULL, cap * sizeof *v, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                    -1, 0);
    size_t *sz = mmap(NULL, cap * sizeof *sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
    if (v == MAP_FAILED || sz == MAP_FAILED)
        return 1;
    bench_rng r = {11};
    long long base = bench_rss_bytes();
    while (sum < total && n < cap) {
        size_t s = bench_logsize(&r, 16, 65536);
        v[n] = malloc(s);
        if (!v[n])
            return 1;
        for (size_t k = 0; k < s; k += 4096) /* one write per page makes it all resident */
            v[n][k] = (char)n;
        v[n][s - 1] = (char)n;
        sz[n++] = s;
        sum += s;
    }
    long long full = bench_rss_bytes();
    /* shuffle indices (in place over a mapped array) and free the first FREE_PCT % */
    size_t *idx = mmap(NULL, n * sizeof *idx, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = (size_t)(bench_next(&r) % (i + 1)), t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
    size_t nfree = n * (size_t)free_pct / 100, live = sum;
    for (size_t i = 0; i < nfree; i++) {
        free(v[idx[i]]);
        live -= sz[idx[i]];
        v[idx[i]] = NULL;
    }
    long long after = bench_rss_bytes();
    printf("blocks=%zu\nlive_kib=%zu\nrss_full_kib=%lld\nrss_after_free_kib=%lld\n", n, live >> 10,
           (full - base) >> 10, (after - base) >> 10);
    printf("ops=%zu\n", n);
    return 0;
}
