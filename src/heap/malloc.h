// malloc() and calloc().
//   1. heap_malloc (inline in malloc()): a chunk from this thread's cache, without a lock
//      (tcache/cache_fast_path.h: cache_malloc);
//   2. heap_malloc_slow (malloc.cpp) -> allocate (heap/allocate.h): the cache refilled from the
//      zone pool under one lock, or the zone pool itself, or a LARGE mapping.
#pragma once
#include <cstddef>

#include "base/compiler.h"
#include "tcache/cache_fast_path.h"

namespace ft {

// Slow: the entry point's slow path (start-up, then heap_malloc_slow), called when the cache
// cannot serve n.
template <void *(*Slow)(size_t, void *)>
FT_INLINE void *heap_malloc(size_t n) {
  return cache_malloc<Slow>(n);
}

// `caller` is the return address of the entry point the program called, for FT_MALLOC_LEAKS.
void *heap_malloc_slow(size_t n, void *caller);
void *heap_calloc(size_t count, size_t size, void *caller);

}  // namespace ft
