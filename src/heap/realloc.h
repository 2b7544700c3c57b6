// realloc() and reallocarray().
//   1. heap_resize_fast (inline in realloc(), a leaf): a live chunk of the current zone of its
//      class in this thread's cache, whose chunk still holds the new size, is resized in place
//      through the cache's copy of the zone's layout;
//   2. heap_realloc_fast (api/malloc_api.cpp realloc_moving, thread cache on): any other live
//      TINY/SMALL chunk whose class still holds the new size is resized in place through its
//      zone's header, without a lock; one that must grow moves through the cache's fast paths;
//   3. heap_realloc_slow (realloc.cpp): everything else, under the heap lock: LARGE blocks shrink
//      in place or grow with mremap (large/large_block.h), a big shrink moves, misuse is reported.
#pragma once
#include <cstddef>
#include <cstring>

#include "base/compiler.h"
#include "heap/free.h"
#include "os/mapping.h"
#include "tcache/cache_fast_path.h"
#include "zone/registry.h"

namespace ft {

// realloc growing a TINY or SMALL block past its chunk moves it to a chunk twice as big, four
// times from 4 KiB on (up to the largest SMALL class), so that a buffer grown by small steps (a
// string appended to, a vector) moves O(log n) times, not at every class: glibc grows such a
// block in place into its free neighbour, which separate size classes cannot. A bigger jump
// gets just what it asks. From a page on, the room costs address space, not memory: a chunk's
// pages are resident once written, and the chunks such a block moves to (16 KiB and more) start
// on a page (the class's alignment), so it touches no more pages in them than in a tighter one.
// 1 B to 64 KiB a byte at a time: 47 moves without room, 18 with half as much again, 12 with
// twice, 10 now, copying 24.6 KiB instead of 65.5 KiB (make bench-ir's realloc step 208 -> 139
// instructions, glibc 164; the peak RSS of python3 and g++ the same to 0.2 %).
constexpr size_t grown_room(size_t n, size_t chunk) {
  size_t room = chunk * (chunk >= 4096 ? 4 : 2);
  return n >= room ? n : room < kSmallMax ? room : kSmallMax;
}

// A block that moves is copied into a chunk or a mapping whose pages a big block usually finds
// fresh (a new 64 or 128 KiB class zone, a new LARGE mapping): the copy then faults them in one
// by one. Measured here (a fault costs about 2.3 us), pages written one by one against prefaulted
// in one call then written: 8 pages 18 and 17 us, 14 pages 31 and 28 us, 16 pages 41 and 24 us,
// 32 pages 76 and 45 us. Copies from 8 pages on ask for the pages first; where they are already
// resident the call costs about 1 us, against the 2 us of copying 32 KiB.
inline constexpr size_t kPrefaultMinCopy = 32 * 1024;
FT_INLINE void copy_to_moved(void *q, const void *p, size_t n) {
  if (n >= kPrefaultMinCopy) os::prefault(q, n);
  memcpy(q, p, n);
}

// Whether p, a block of the current zone of its class in this thread's cache, was resized in
// place (else nothing changed: call heap_realloc_fast). Inline in realloc() ahead of any call, so
// that the common realloc, a string or an array grown by small steps within its chunk, is a leaf
// (no registers saved) that reads the cache's copy of the zone's layout, not the zone header (a
// thread without a cache has g_no_cache, whose zones span nothing; a LARGE block's empty registry
// entry has no class). make bench-ir's realloc-step: 257 -> 208 instructions (102 of them copies).
FT_INLINE bool heap_resize_fast(void *p, size_t n) {
  if (!p || n - 1 >= kSmallMax) return false;
  uintptr_t e = lookup_entry_here(p);
  unsigned c = registry::entry_class(e);
  return c < kCachedClasses && resize_in_current(class_cache(t_fast.cache, c), c, p, n);
}

// The block's new address, or nullptr: call heap_realloc_slow (also when the system refused
// the memory: the slow path tries again after a trim, heap/trim.h). In
// place for any block of 32 B or more (its size code is its holder's) and for a 16 B block of a
// zone this thread owns (two nibble codes share a byte, which only the zone's writer changes).
FT_INLINE void *heap_realloc_fast(void *p, size_t n) {
  ThreadCache *tc = own_cache();
  if (tc == nullptr || !p || n - 1 >= kSmallMax) return nullptr;
  // heap_resize_fast looked this entry up already; passing it on kept a register live across its
  // leaf, whose push and pop cost every in-place realloc more than this lookup costs the moves
  // (realloc-step 208 -> 210 instructions).
  uintptr_t e = registry::lookup_entry(p);
  Zone *z = registry::entry_zone(e);
  uint32_t i;
  bool exact;
  if (!z || !z->magic_ok() || !z->locate(reinterpret_cast<uintptr_t>(p), &i, &exact) || !exact || !z->is_live(i))
    return nullptr;
  bool mine = registry::entry_owner(e) == tc->owner_id;
  size_t chunk = z->chunk_size;
  if (n <= chunk && !shrink_moves(chunk, n)) {
    if (!mine && code_format(z->class_index) == CodeFormat::kNibble) return nullptr;
    z->set_size(i, n);
    return p;
  }
  size_t room = grown_room(n, chunk);
  if (n <= chunk || room > kCacheMaxSize) return nullptr;
  void *q = cache_take(tc, class_of(room), n, false);  // moves through the cache
  if (!q) return nullptr;
  copy_to_moved(q, p, z->usable(i));
  if (mine) tcache::free_owned(tc, z, i);
  else if (!tcache::free_unlocked(p)) heap_free_slow(p, Call::kFree);
  return q;
}

void *heap_realloc_slow(void *p, size_t n, void *caller);
void *heap_reallocarray(void *p, size_t count, size_t size, void *caller);

}  // namespace ft
