// Statistics: what malloc_stats(), mallinfo2(), FT_MALLOC_STATS and the JSON snapshot report.
//
// Counting costs the fast paths one increment per malloc and nothing per free: a thread counts
// its cached mallocs in its ThreadCache and folds them in here when it refills or flushes a class;
// a snapshot adds every cache's pending count. Frees are allocations minus live blocks, and live
// blocks, bytes, waste and free space come from walking the bitmaps at snapshot time. Peaks are
// kept where chunks leave and re-enter their zones (under the lock), so they include the few
// chunks thread caches hold.
#pragma once
#include <cstddef>
#include <cstdint>

#include "size_class.h"

namespace ft {

struct ThreadCache;
class LineWriter;

namespace stats {

inline constexpr unsigned kLargeSlot = kClassCount;  // the counters' slot for LARGE blocks
inline constexpr unsigned kSlots = kClassCount + 1;

// Running counters; updated with relaxed atomics.
struct Counters {
  uint64_t allocs[kSlots];
  uint64_t out_chunks[kClassCount];   // chunks out of their zones: live or in a thread cache
  uint64_t peak_out_chunks[kClassCount];
  uint64_t zones_mapped[kClassCount];
  uint64_t zones_returned[kClassCount];
  uint64_t maps, unmaps;              // mmap and munmap calls
  uint64_t contended;                 // heap lock acquisitions that had to wait
  uint64_t peak_live_bytes;           // chunk bytes out of zones plus LARGE mapping bytes
  int64_t live_bytes;
  uint64_t mapped_bytes, peak_mapped_bytes;  // zones and LARGE mappings
};
extern Counters g_counters;

inline void bump(uint64_t &c, uint64_t v = 1) { __atomic_fetch_add(&c, v, __ATOMIC_RELAXED); }
inline void note_allocs(unsigned slot, uint64_t n = 1) { bump(g_counters.allocs[slot], n); }
// n chunks of class c left their zones (n < 0: came back); under the heap lock.
void note_chunks_out(unsigned c, int64_t n);
// A LARGE mapping of `bytes` was made (bytes < 0: unmapped); under the heap lock.
void note_large(int64_t bytes);
// A zone or a LARGE mapping of `bytes` was mapped (bytes < 0: unmapped); under the heap lock.
inline void note_mapped(int64_t bytes) {
  g_counters.mapped_bytes += static_cast<uint64_t>(bytes);
  if (g_counters.mapped_bytes > g_counters.peak_mapped_bytes) g_counters.peak_mapped_bytes = g_counters.mapped_bytes;
}
// Folds a thread's pending count of class c in.
void fold(ThreadCache *tc, unsigned c);

// A consistent picture of the heap, taken under the heap lock.
struct ClassSnapshot {
  uint64_t allocs, frees;
  uint64_t live_blocks, live_bytes;   // bytes the program asked for
  uint64_t peak_live_bytes;           // chunk bytes out of zones (live or cached)
  uint64_t zones, zones_mapped, zones_returned, bytes_mapped;
  uint64_t waste;                     // chunk bytes beyond what was asked (rounding)
  uint64_t free_bytes;                // free chunks in zones (also those held by thread caches)
  uint64_t cached_chunks;             // chunks held by thread caches
};
struct Snapshot {
  ClassSnapshot cls[kSlots];
  ClassSnapshot total;
  uint64_t maps, unmaps, contended, lock_acquisitions;
  uint64_t peak_live_bytes;
  uint64_t peak_mapped_bytes;         // the most bytes ever mapped at once (zones and LARGE)
  uint64_t reserve_bytes;             // wholly free zones kept: what malloc_trim() would return
  uint64_t free_chunks;               // free chunks in zones
};
void take_snapshot(Snapshot *s);

// FT_MALLOC_STATS / ft_heap --stats: a table per class on fd.
void print_report(int fd);
// glibc's malloc_stats() format, on stderr.
void print_malloc_stats();
// glibc's mallinfo2(), filled from a snapshot (see README.md for what each field holds).
struct Mallinfo2 {
  size_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
};
Mallinfo2 mallinfo2();
// malloc_info(0, fp): the snapshot as XML (README.md, "malloc_info"). Written by the caller after
// take_snapshot() released the lock: the writer may be stdio, which may allocate.
void write_malloc_info(LineWriter &out, const Snapshot &s);

}  // namespace stats
}  // namespace ft
