// Running counters for the statistics: bumped by the layers that do the work (mappings, zones,
// LARGE blocks, the caches' mallocs), read by introspect/statistics.h. A leaf: it knows only the
// size classes.
//
// Counting costs the fast paths one increment per malloc and nothing per free: a thread counts
// its cached mallocs in its own cache and folds them in here when it refills or flushes a class.
// Frees are allocations minus live blocks; live blocks and bytes come from walking the bitmaps at
// snapshot time. Peaks are kept where chunks leave and re-enter their zones (under the heap lock),
// so they include the few chunks thread caches hold.
#pragma once
#include <bit>
#include <cstddef>
#include <cstdint>

#include "base/size_class.h"

namespace ft::counters {

inline constexpr unsigned kLargeSlot = kClassCount;  // the counters' slot for LARGE blocks
inline constexpr unsigned kSlots = kClassCount + 1;
// Sizes in powers of two (the --stats histogram): bucket b holds (2^(b-1), 2^b], bucket 4 also 0..16.
inline constexpr unsigned kSizeBuckets = 64;
// Branch-free: (n - 1) | 15 is below 16 exactly when n <= 16 (n = 0 taken as 1).
constexpr unsigned size_bucket(uint64_t n) { return static_cast<unsigned>(std::bit_width((n - (n != 0)) | 15)); }
static_assert(size_bucket(0) == 4 && size_bucket(16) == 4 && size_bucket(17) == 5 && size_bucket(32) == 5 &&
              size_bucket(33) == 6 && size_bucket(uint64_t{1} << 20) == 20 && size_bucket((uint64_t{1} << 20) + 1) == 21);

// Updated with relaxed atomics where several threads may bump them without the lock, with plain
// arithmetic where the comment says "under the heap lock".
struct Counters {
  // First what a program's first malloc writes (a zone mapped): in the first page of the small
  // globals, which start-up writes anyway (the 42 page-reclaim scale counts every page a malloc
  // touches: after the per-class arrays, these cost a page of their own).
  uint64_t maps, unmaps;              // mmap and munmap calls
  uint64_t mapped_bytes, peak_mapped_bytes;  // zones and LARGE mappings
  uint64_t large_mapped_bytes;        // LARGE mappings alone (also the freed ones kept for reuse)
  int64_t live_bytes;                 // chunk bytes out of zones (without the lock)
  int64_t large_live_bytes;           // the live LARGE blocks' mapping bytes (under the heap lock)
  uint64_t peak_live_bytes;           // the two together
  uint64_t remote_frees;              // frees of a chunk another thread's cache owns (folded in)
  uint64_t zones_mapped[kClassCount];
  uint64_t zones_returned[kClassCount];
  uint64_t allocs[kSlots];            // TINY and SMALL (LARGE: the sum of large_allocs)
  uint64_t out_chunks[kClassCount];   // chunks out of their zones: live or in a thread cache
  uint64_t peak_out_chunks[kClassCount];
  uint64_t large_allocs[kSizeBuckets];  // LARGE allocations by size (zones count theirs by class)
};
extern Counters g_counters;

// The remote frees of threads without a cache (threads that only free), in kRemoteShards
// counters a cache line apart, a thread's chosen by where its thread-local storage lies (threads
// have their own stacks, hence TLS blocks, pages apart). In one shared counter, the freeing
// threads' cores passed its line back and forth: mimalloc-bench's xmalloc-test (2 threads
// allocate, 2 free) spent a third of its time on that locked add.
inline constexpr unsigned kRemoteShards = 16;
struct alignas(64) RemoteShard {
  uint64_t frees;
};
extern RemoteShard g_uncached_remote_frees[kRemoteShards];
// thread_key: the address of a thread-local variable of the freeing thread.
inline void note_uncached_remote_free(uintptr_t thread_key) {
  uint64_t shard = (thread_key >> 12) * 0x9E3779B97F4A7C15ull >> 60;  // Fibonacci hashing: 16 shards
  __atomic_fetch_add(&g_uncached_remote_frees[shard].frees, 1, __ATOMIC_RELAXED);
}
static_assert(kRemoteShards == 16, "note_uncached_remote_free keeps the hash's top 4 bits");
uint64_t uncached_remote_frees();

inline void bump(uint64_t &c, uint64_t v = 1) { __atomic_fetch_add(&c, v, __ATOMIC_RELAXED); }
// A counter that only the holder of the heap lock writes: no locked instruction (a LARGE
// malloc/free pair made four, next to the mutex's: 65 -> 41 ns a pair in a process of two
// threads, glibc 32), a store that readers without the lock see whole.
template <typename T>
inline void add_locked(T &c, T v) { __atomic_store_n(&c, __atomic_load_n(&c, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED); }
inline void note_allocs(unsigned slot, uint64_t n = 1) { bump(g_counters.allocs[slot], n); }
// A LARGE block of n bytes was allocated; under the heap lock. (Their count is the sum of the
// sizes' counts: allocs[kLargeSlot] stays 0.)
inline void note_large_alloc(size_t n) { add_locked(g_counters.large_allocs[size_bucket(n)], uint64_t{1}); }
// n chunks of class c left their zones (n < 0: came back): the thread caches fold theirs in
// without the lock, a batch at a time.
void note_chunks_out(unsigned c, int64_t n);
// Raises a peak counter to v if it is lower (without the lock).
void raise_to(uint64_t &peak, uint64_t v);
// The live bytes, chunks and LARGE mappings.
inline int64_t live_bytes() {
  return __atomic_load_n(&g_counters.live_bytes, __ATOMIC_RELAXED) + __atomic_load_n(&g_counters.large_live_bytes, __ATOMIC_RELAXED);
}
// The live bytes are now `now`: the peak is read, and raised (a compare-and-swap) only when they
// pass it.
inline void note_live(int64_t now) {
  if (now > 0 && static_cast<uint64_t>(now) > __atomic_load_n(&g_counters.peak_live_bytes, __ATOMIC_RELAXED))
    raise_to(g_counters.peak_live_bytes, static_cast<uint64_t>(now));
}
// LARGE blocks' mappings of `bytes` became live, or were freed; under the heap lock. The peak
// is tested only when the live bytes grow (a malloc/free pair makes no branch on a sign).
inline void note_large_in(uint64_t bytes) {
  add_locked(g_counters.large_live_bytes, static_cast<int64_t>(bytes));
  note_live(live_bytes());
}
inline void note_large_out(uint64_t bytes) { add_locked(g_counters.large_live_bytes, -static_cast<int64_t>(bytes)); }
// Either, by sign (bytes < 0: freed).
inline void note_large(int64_t bytes) {
  if (bytes > 0) note_large_in(static_cast<uint64_t>(bytes));
  else note_large_out(static_cast<uint64_t>(-bytes));
}
// A zone or a LARGE mapping of `bytes` was mapped (bytes < 0: unmapped); under the heap lock.
inline void note_mapped(int64_t bytes, bool large) {
  g_counters.mapped_bytes += static_cast<uint64_t>(bytes);
  if (large) g_counters.large_mapped_bytes += static_cast<uint64_t>(bytes);
  if (g_counters.mapped_bytes > g_counters.peak_mapped_bytes) g_counters.peak_mapped_bytes = g_counters.mapped_bytes;
}

}  // namespace ft::counters
