// The heap: what every public entry point calls. It sends each request to the zones (TINY,
// SMALL) or to a LARGE mapping, resolves and validates every pointer handed back, and sets errno
// on failure (in this file only).
#pragma once
#include <cstddef>
#include <cstdint>

#include "report.h"

namespace ft {

void *heap_malloc(size_t n);
void *heap_calloc(size_t count, size_t size);
void *heap_realloc(void *p, size_t n);
void *heap_reallocarray(void *p, size_t count, size_t size);
// align: any value; memalign rounds it up to a power of two as glibc does.
void *heap_memalign(size_t align, size_t n);
int heap_posix_memalign(void **out, size_t align, size_t n);
void *heap_aligned_alloc(size_t align, size_t n);
void *heap_valloc(size_t n);
void *heap_pvalloc(size_t n);
size_t heap_usable_size(void *p);
// size and align, when given (free_sized, free_aligned_sized), are checked against the block.
inline constexpr size_t kUnchecked = ~size_t{0};
void heap_free(void *p, Call call = Call::kFree, size_t size = kUnchecked, size_t align = kUnchecked);

}  // namespace ft
