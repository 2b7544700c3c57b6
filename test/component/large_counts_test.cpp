/*
 * Component test of the counts kept over LARGE malloc/free pairs (src/large/): the table counts
 * its blocks and their bytes, the cache of freed mappings its own, and the running counters
 * (base/counters.h) count the mapped bytes only where a mapping is made or unmapped, not when it
 * moves between the table and the cache. Whatever the path, the counters' LARGE mapped bytes must
 * equal the table's plus the cache's, and the live bytes come back after every pair. Counts are
 * checked as deltas: the program's own start-up may hold blocks too.
 */
#include <malloc.h>

#include "common.h"

#include "base/counters.h"
#include "base/settings.h"
#include "large/large_cache.h"
#include "large/large_table.h"

namespace large = ft::large;

namespace {

constexpr size_t kMiB = size_t{1} << 20;

// Atomic loads: the compiler takes free() for a call that writes no global, and would reuse a
// count read before it.
uint64_t counted_large() { return __atomic_load_n(&ft::counters::g_counters.large_mapped_bytes, __ATOMIC_RELAXED); }
int64_t live_bytes() { return ft::counters::live_bytes(); }  // chunks' and LARGE blocks' (relaxed loads)
// The invariant: every LARGE mapping is a live block's (the table) or a freed one's (the cache).
bool consistent() { return counted_large() == large::mapped_bytes() + large::cache::stats().bytes; }

// The block escapes through a volatile: the compiler may not drop a malloc/free pair it sees.
void *volatile g_sink;

void *big(size_t n) {
    void *p = malloc(n);
    CHECK(p, "malloc(%zu) failed", n);
    g_sink = p;
    return p;
}

}  // namespace

/* A loop of malloc(1 MiB) + free: every pair is served from the cache and leaves every count as
 * it found it; while the block is live, it is the table's and no longer the cache's. */
TEST(pairs_leave_counts_as_they_were)
{
    free(big(kMiB));  // the first pair maps; the rest reuse its mapping
    size_t count0 = large::count(), mapped0 = large::mapped_bytes();
    large::cache::Stats s0 = large::cache::stats();
    uint64_t counted0 = counted_large();
    int64_t live0 = live_bytes();
    CHECK(s0.mappings >= 1 && consistent(), "after one pair: %llu cached, counted %llu",
          (unsigned long long)s0.mappings, (unsigned long long)counted_large());
    enum { kPairs = 1000 };
    for (unsigned k = 0; k < kPairs; k++) {
        void *p = big(kMiB);
        CHECK(large::count() == count0 + 1 && large::cache::stats().mappings == s0.mappings - 1,
              "pair %u: the block is not the table's alone", k);
        CHECK(consistent(), "pair %u: counted %llu, table %zu + cache %llu", k, (unsigned long long)counted_large(),
              large::mapped_bytes(), (unsigned long long)large::cache::stats().bytes);
        CHECK(live_bytes() > live0, "pair %u: the live block is not counted live", k);
        free(p);
    }
    large::cache::Stats s = large::cache::stats();
    CHECK(large::count() == count0 && large::mapped_bytes() == mapped0, "the table's counts moved");
    CHECK(s.mappings == s0.mappings && s.bytes == s0.bytes, "the cache's counts moved");
    CHECK(s.hits == s0.hits + kPairs && s.misses == s0.misses && s.resized == s0.resized,
          "%llu hits for %u pairs", (unsigned long long)(s.hits - s0.hits), (unsigned)kPairs);
    CHECK(counted_large() == counted0 && live_bytes() == live0 && consistent(), "the running counters moved");
}

/* Sizes that do not fit each other's mappings: some pairs map, resize or push mappings out; the
 * counters still equal the table's and the cache's bytes after each step. */
TEST(mixed_sizes_stay_consistent)
{
    static const size_t sizes[] = {kMiB, 4 * kMiB, kMiB + 12345, 300 * 1024, 9 * kMiB, 2 * kMiB};
    void *held[3] = {nullptr, nullptr, nullptr};
    for (unsigned k = 0; k < 600; k++) {
        unsigned h = k % 3;
        free(held[h]);
        CHECK(consistent(), "step %u after free: counted %llu, table %zu + cache %llu", k,
              (unsigned long long)counted_large(), large::mapped_bytes(), (unsigned long long)large::cache::stats().bytes);
        held[h] = big(sizes[(k * 7) % 6]);
        CHECK(consistent(), "step %u after malloc", k);
    }
    for (void *p : held) free(p);
    CHECK(consistent(), "at the end");
}

/* A freed block whose mapping waits in the cache: no longer in the table, and known to the cache
 * as its last block (what makes a second free a "double free"). */
TEST(cached_block_is_remembered_freed)
{
    uintptr_t p = reinterpret_cast<uintptr_t>(big(kMiB));
    free(reinterpret_cast<void *>(p));
    size_t size = 0;
    CHECK(!large::find(p), "a freed block is still in the table");
    CHECK(large::cache::holds_freed(p, &size) && size == kMiB,
          "the cache does not remember the freed block (size %zu)", size);
}

/* malloc_trim empties the cache, and the counters let its bytes go. */
TEST(trim_counts_the_cache_out)
{
    free(big(kMiB));
    free(big(3 * kMiB));
    CHECK(large::cache::stats().mappings >= 1, "nothing cached");
    malloc_trim(0);
    CHECK(large::cache::stats().mappings == 0 && large::cache::stats().bytes == 0, "trim left mappings cached");
    CHECK(consistent() && counted_large() == large::mapped_bytes(), "counted %llu after trim, table %zu",
          (unsigned long long)counted_large(), large::mapped_bytes());
}

/* With the cache off (FT_MALLOC_LARGE_CACHE=0), every free unmaps and counts its bytes out. */
TEST(cache_off_counts_every_unmap)
{
    free(big(kMiB));  // start-up done before the setting changes
    malloc_trim(0);
    ft::g_config.large_cache = false;
    uint64_t counted0 = counted_large();
    large::cache::Stats s0 = large::cache::stats();
    for (unsigned k = 0; k < 50; k++) {
        void *p = big(kMiB + k * 4096);
        CHECK(counted_large() == counted0 + kMiB + k * 4096, "a live block not counted mapped");
        free(p);
        CHECK(counted_large() == counted0 && consistent(), "free %u: counted %llu, was %llu", k,
              (unsigned long long)counted_large(), (unsigned long long)counted0);
    }
    CHECK(large::cache::stats().hits == s0.hits && large::cache::stats().mappings == 0, "the cache served");
}

static const test_case cases[] = {
    CASE(pairs_leave_counts_as_they_were),
    CASE(mixed_sizes_stay_consistent),
    CASE(cached_block_is_remembered_freed),
    CASE(trim_counts_the_cache_out),
    CASE(cache_off_counts_every_unmap),
};

RUN_CASES(cases)
