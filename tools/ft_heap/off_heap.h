// Memory for ft_heap's own tables (the loaded log, the replay's maps and plans) in mappings of
// their own, never in the heap under test: the replay's peak must be its calls' alone, and an
// allocator that keeps freed memory resident must not find the loader's pages to reuse (qsort
// would malloc a copy of the log).
#pragma once
#include <stddef.h>

namespace ft_heap {

// `bytes` of zeroed memory, 16-byte aligned; exits (status 1) when the system has none.
void *map_zeroed(size_t bytes);
// Gives back what map_zeroed returned; nullptr is ignored.
void unmap(void *p);

template <class T>
T *map_array(size_t n) {
  return static_cast<T *>(map_zeroed((n ? n : 1) * sizeof(T)));
}

}  // namespace ft_heap
