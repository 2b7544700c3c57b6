// free(), free_sized(), free_aligned_sized(): where every free goes.
//   1. heap_free (inline in free()): the block this thread's last malloc handed out, or a chunk of
//      the current zone of its own class (the registry entry names it), back onto its cache's
//      stack (tcache/cache_fast_path.h: cache_free). No lock, no locked instruction.
//   2. without the heap lock first (api/malloc_api.cpp free_slow -> tcache/own_zones.cpp
//      free_unlocked): a chunk of another of the thread's zones onto its stack, a chunk of another
//      thread's zone freed remotely (tcache/remote_free.h), a zone nobody owns adopted;
//   3. then heap_free_slow (inline, below): a live LARGE block straight back (large/large_block.h
//      free_live); else free_resolved (free.cpp): under the heap lock the pointer resolved and
//      checked (heap/resolve.h), a chunk of a zone of the pool back into it (zone/zone_pool.h),
//      any misuse reported (base/misuse_report.h).
#pragma once
#include <cstddef>

#include "base/compiler.h"
#include "base/misuse_report.h"
#include "base/settings.h"
#include "heap/fork_rescue.h"
#include "large/large_block.h"
#include "tcache/cache_fast_path.h"

namespace ft {

// Slow: the entry point's slow path (start-up, then heap_free_slow), called when the fast path
// cannot take p, with p's registry entry.
template <void (*Slow)(void *, uintptr_t)>
FT_INLINE void heap_free(void *p) {
  cache_free<Slow>(p);
}

// size and align, when given (free_sized, free_aligned_sized), are checked against the block.
inline constexpr size_t kUnchecked = ~size_t{0};

// Everything heap_free_slow does not finish itself: the call log, the fork child's rescue heap,
// the debug modes, a size to check, and any pointer that is not a live LARGE block (resolved and
// checked under the heap lock, misuse reported). errno is as before the call.
void free_resolved(void *p, Call call, size_t size, size_t align);

// A free the thread caches could not take. Inline, so that the common case, free() of a live
// LARGE block with nothing watching (no debug mode, which the call log is one of; no size to
// check), goes to the block in one call (large/large_block.h free_live, which keeps errno).
FT_INLINE void heap_free_slow(void *p, Call call, size_t size = kUnchecked, size_t align = kUnchecked) {
  if (__builtin_expect(p && size == kUnchecked && !g_config.debug() && !rescue::on(), 1) &&
      large::free_live(reinterpret_cast<uintptr_t>(p)))
    return;
  free_resolved(p, call, size, align);
}

}  // namespace ft
