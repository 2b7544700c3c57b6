// malloc() and calloc().
//   1. heap_malloc and heap_calloc_fast (inline in malloc() and calloc()): a chunk from this
//      thread's cache, without a lock (tcache/cache_fast_path.h: cache_malloc, cache_calloc);
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

// calloc's: a zeroed chunk from this thread's cache, else Slow (start-up, then heap_calloc).
template <void *(*Slow)(size_t, size_t, void *)>
FT_INLINE void *heap_calloc_fast(size_t count, size_t size) {
  return cache_calloc<Slow>(count, size);
}

// `caller` is the return address of the entry point the program called, for FT_MALLOC_LEAKS.
void *heap_malloc_slow(size_t n, void *caller);
void *heap_calloc(size_t count, size_t size, void *caller);

}  // namespace ft
