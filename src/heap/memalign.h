// memalign(), posix_memalign(), aligned_alloc(), valloc(), pvalloc(): the alignment checked and
// rounded as glibc does, then allocate() (heap/allocate.h). Alignments up to 4 KiB come from
// zones (chunks fall on their size's lowest set bit), larger ones from an aligned LARGE mapping.
#pragma once
#include <cstddef>

namespace ft {

// align: any value; memalign rounds it up to a power of two as glibc does.
void *heap_memalign(size_t align, size_t n, void *caller);
int heap_posix_memalign(void **out, size_t align, size_t n, void *caller);
void *heap_aligned_alloc(size_t align, size_t n, void *caller);
void *heap_valloc(size_t n, void *caller);
void *heap_pvalloc(size_t n, void *caller);

}  // namespace ft
