// free(), free_sized(), free_aligned_sized(): where every free goes.
//   1. heap_free_fast (inline in free()): a live chunk of a cached class back into this thread's
//      cache, without a lock (tcache/cache_fast_path.h: cache_free);
//   2. heap_free_slow (free.cpp): everything else under the heap lock: the pointer resolved and
//      checked (heap/resolve.h), the chunk back to its zone (zone/zone_pool.h) or the LARGE block
//      unmapped (large/large_block.h), any misuse reported (base/misuse_report.h).
#pragma once
#include <cstddef>

#include "base/compiler.h"
#include "base/misuse_report.h"
#include "tcache/cache_fast_path.h"

namespace ft {

// True when the chunk went back to this thread's cache; false: call heap_free_slow.
FT_INLINE bool heap_free_fast(void *p) {
  ThreadCache *tc = t_cache;
  return __builtin_expect(tc != nullptr, 1) && cache_free(tc, p);
}

// size and align, when given (free_sized, free_aligned_sized), are checked against the block.
inline constexpr size_t kUnchecked = ~size_t{0};
void heap_free_slow(void *p, Call call, size_t size = kUnchecked, size_t align = kUnchecked);

}  // namespace ft
