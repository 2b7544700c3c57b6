// Statistics: what malloc_stats(), mallinfo(2), malloc_info(), FT_MALLOC_STATS and the JSON
// snapshot report. The reader: it takes the running counters (base/counters.h), every thread
// cache's pending counts and a walk of the zones' bitmaps, under the heap lock, into a snapshot.
#pragma once
#include <cstddef>
#include <cstdint>

#include "base/counters.h"
#include "base/size_class.h"
#include "large/large_cache.h"

namespace ft {

class LineWriter;

namespace stats {

using counters::kLargeSlot;
using counters::kSlots;

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
  uint64_t remote_frees;              // frees of a chunk of a zone another thread's cache owns
  uint64_t peak_live_bytes;
  uint64_t peak_mapped_bytes;         // the most bytes ever mapped at once (zones and LARGE)
  uint64_t reserve_bytes;             // wholly free zones kept: what malloc_trim() would return
  uint64_t free_chunks;               // free chunks in zones
  large::cache::Stats large_cache;    // freed LARGE mappings kept for reuse
  // Sizes in powers of two (counters::size_bucket): TINY and SMALL blocks by their class's size,
  // LARGE blocks by the size asked.
  uint64_t size_allocs[counters::kSizeBuckets], size_live_blocks[counters::kSizeBuckets];
  uint64_t size_live_bytes[counters::kSizeBuckets];
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
